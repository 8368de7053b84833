-- The case store's schema, one text for both backends. It is a Go template:
-- {{.ID}} is the auto-numbered primary key, and the few statements that differ
-- are inside {{if .Postgres}} ... {{else}} ... {{end}}. Times are BIGINT
-- microseconds since the Unix epoch (UTC) on both; flags are INTEGER 0/1.

CREATE TABLE tenants (
	id {{.ID}},
	name TEXT NOT NULL UNIQUE,
	created BIGINT NOT NULL
);

CREATE TABLE users (
	id {{.ID}},
	tenant_id BIGINT NOT NULL REFERENCES tenants (id),
	name TEXT NOT NULL UNIQUE,
	role TEXT NOT NULL CHECK (role IN ('viewer', 'analyst', 'admin')),
	password_hash TEXT NOT NULL,
	disabled INTEGER NOT NULL DEFAULT 0,
	created BIGINT NOT NULL
);

CREATE TABLE cases (
	id {{.ID}},
	tenant_id BIGINT NOT NULL REFERENCES tenants (id),
	name TEXT NOT NULL,
	description TEXT NOT NULL,
	created BIGINT NOT NULL,
	created_by TEXT NOT NULL,
	UNIQUE (tenant_id, name)
);

-- A hunt is "running" until Finish; a running hunt whose heartbeat is older
-- than the store's lease is reported "incomplete" (its process died).
CREATE TABLE hunts (
	id {{.ID}},
	case_id BIGINT NOT NULL REFERENCES cases (id),
	started_by TEXT NOT NULL,
	started BIGINT NOT NULL,
	finished BIGINT,
	heartbeat BIGINT NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('running', 'complete', 'incomplete')),
	paths TEXT NOT NULL,
	rules TEXT NOT NULL,
	detections BIGINT NOT NULL DEFAULT 0,
	summary TEXT NOT NULL
);
CREATE INDEX hunts_case ON hunts (case_id, id);

-- One row per detection: the columns the console filters and sorts on,
-- extracted by index.go, and the detection's JSON as the hunt wrote it.
-- host and user_name are lower-cased (filters ignore case); at is
-- -9223372036854775808 when the detection has no time.
CREATE TABLE detections (
	id {{.ID}},
	case_id BIGINT NOT NULL REFERENCES cases (id),
	hunt_id BIGINT NOT NULL REFERENCES hunts (id),
	seq BIGINT NOT NULL,
	at BIGINT NOT NULL,
	level_rank INTEGER NOT NULL,
	rule_id TEXT NOT NULL,
	rule_title TEXT NOT NULL,
	host TEXT NOT NULL,
	user_name TEXT NOT NULL,
	body TEXT NOT NULL{{if .Postgres}},
	search TSVECTOR NOT NULL{{end}}
);
CREATE UNIQUE INDEX detections_hunt ON detections (hunt_id, seq);
-- Each filter's index is in time order and ends with the hunt, so a page is
-- read in order and a count never leaves the index (lists check the hunt).
CREATE INDEX detections_time ON detections (case_id, at, id, hunt_id);
CREATE INDEX detections_level ON detections (case_id, level_rank, at, id, hunt_id);
CREATE INDEX detections_host ON detections (case_id, host, at, id, hunt_id);
CREATE INDEX detections_user ON detections (case_id, user_name, at, id, hunt_id);
CREATE INDEX detections_rule ON detections (case_id, rule_id, at, id, hunt_id);

-- Tactics and techniques, one row each ("tactic:execution",
-- "technique:T1059.001", and the parent "technique:T1059" of a sub-technique),
-- with the detection's time and hunt: a list filtered by one is read from
-- this key in time order, however common the tag, and counted without the
-- detections.
CREATE TABLE detection_tags (
	case_id BIGINT NOT NULL,
	tag TEXT NOT NULL,
	at BIGINT NOT NULL,
	detection_id BIGINT NOT NULL REFERENCES detections (id),
	hunt_id BIGINT NOT NULL,
	PRIMARY KEY (case_id, tag, at, detection_id)
){{if not .Postgres}} WITHOUT ROWID{{end}};

-- Free text: the words of index.go's searchText, tokenised there, so both
-- backends match the same words.
{{if .Postgres -}}
CREATE INDEX detections_search ON detections USING GIN (search);
{{- else -}}
CREATE VIRTUAL TABLE detection_text USING fts5 (words, content = '', contentless_delete = 1);
{{- end}}

-- The operations of a case, replaced as a set when they are rebuilt.
CREATE TABLE operations (
	id {{.ID}},
	case_id BIGINT NOT NULL REFERENCES cases (id),
	op_id TEXT NOT NULL,
	severity_rank INTEGER NOT NULL,
	score DOUBLE PRECISION NOT NULL,
	first_at BIGINT NOT NULL,
	last_at BIGINT NOT NULL,
	hosts TEXT NOT NULL,
	body TEXT NOT NULL,
	built BIGINT NOT NULL,
	UNIQUE (case_id, op_id)
);

CREATE TABLE triage (
	case_id BIGINT NOT NULL REFERENCES cases (id),
	kind TEXT NOT NULL CHECK (kind IN ('detection', 'operation')),
	object_id TEXT NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('new', 'investigating', 'malicious', 'benign', 'false-positive')),
	assignee TEXT NOT NULL,
	notes TEXT NOT NULL,
	updated BIGINT NOT NULL,
	updated_by TEXT NOT NULL,
	PRIMARY KEY (case_id, kind, object_id)
);

-- Append-only: the store has no call that changes or removes an entry, and
-- the triggers below refuse it to anyone else too.
CREATE TABLE audit (
	id {{.ID}},
	at BIGINT NOT NULL,
	tenant_id BIGINT NOT NULL REFERENCES tenants (id),
	case_id BIGINT REFERENCES cases (id),
	actor TEXT NOT NULL,
	action TEXT NOT NULL,
	detail TEXT NOT NULL
);
CREATE INDEX audit_case ON audit (tenant_id, case_id, id);

{{if .Postgres -}}
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit log is append-only';
END
$$;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
	FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
	FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
{{- else -}}
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
	SELECT RAISE(ABORT, 'audit log is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
	SELECT RAISE(ABORT, 'audit log is append-only');
END;
{{- end}}
