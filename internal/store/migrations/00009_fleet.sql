-- Fleet workers (internal/fleet, issue 15) write detections as batches of
-- events arrive from NATS JetStream, and a batch may arrive twice (a
-- worker died before its acknowledgement): each fleet detection has a key
-- unique within its case (host, source, record, rule), and a second write
-- of it is nothing. Hunts' own detections have none (NULL, never equal).
ALTER TABLE detections ADD COLUMN fleet_key TEXT;
CREATE UNIQUE INDEX detections_fleet_key ON detections (case_id, fleet_key);

-- The hunt each worker writes a case's detections into, complete from its
-- creation: a batch is one transaction, so what is listed is never half
-- of one. worker '#correlations' is the case's correlation matches, whose
-- hunt is replaced as a set when they change.
CREATE TABLE fleet_hunts (
	case_id BIGINT NOT NULL REFERENCES cases (id),
	worker TEXT NOT NULL,
	hunt_id BIGINT NOT NULL REFERENCES hunts (id),
	PRIMARY KEY (case_id, worker)
);

-- The entity index of each batch a worker committed (a hunt has one in
-- hunt_entities; a worker's hunt one per commit).
CREATE TABLE fleet_entities (
	id {{.ID}},
	hunt_id BIGINT NOT NULL REFERENCES hunts (id),
	data {{if .Postgres}}BYTEA{{else}}BLOB{{end}} NOT NULL
);
CREATE INDEX fleet_entities_hunt ON fleet_entities (hunt_id, id);

-- The inputs of the case's correlations (a detection of a rule that a
-- correlation references, hidden or not, with the fields it reads), each
-- once by the key of its detection: the correlations run over all of them.
CREATE TABLE fleet_inputs (
	id {{.ID}},
	case_id BIGINT NOT NULL REFERENCES cases (id),
	fleet_key TEXT NOT NULL,
	input TEXT NOT NULL,
	detection TEXT NOT NULL,
	UNIQUE (case_id, fleet_key)
);
