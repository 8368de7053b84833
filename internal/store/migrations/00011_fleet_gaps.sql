-- What fleet workers keep of the events they hunt for the tampering
-- findings (internal/gaps: record numbers, times, the events that are
-- evidence in themselves), a few bytes an event: one row per batch of
-- events and case, by a key of its content (a batch delivered again is
-- stored once), with its place in the collector's input (pass, ordinal of
-- its first event), the order the facts are read again in. The case's
-- tampering detections are made from all of them when its operations are
-- rebuilt, and replaced as a set (the fleet_hunts worker '#tampering'),
-- as its correlation matches are.
CREATE TABLE fleet_gaps (
	id {{.ID}},
	case_id BIGINT NOT NULL REFERENCES cases (id),
	fleet_key TEXT NOT NULL,
	input TEXT NOT NULL,
	pass BIGINT NOT NULL,
	first_ordinal BIGINT NOT NULL,
	data {{if .Postgres}}BYTEA{{else}}BLOB{{end}} NOT NULL,
	UNIQUE (case_id, fleet_key)
);
CREATE INDEX fleet_gaps_order ON fleet_gaps (case_id, input, pass, first_ordinal, id);
