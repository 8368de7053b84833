-- The console's detection list (query.go) by level: the keys of a tag, a
-- host and a rule hold the level before the time, so the level order of a
-- tactic, technique, host or rule reads each level as one index range, and
-- a count of some levels of them stays in the index; their time order is
-- the merge of their levels' ranges (at most six). These keys replace the
-- time-ordered ones rather than join them: a stored detection updates as
-- many indexes as before.
{{if .Postgres -}}
ALTER TABLE detection_tags ADD COLUMN level_rank INTEGER NOT NULL DEFAULT 0;
UPDATE detection_tags t SET level_rank = d.level_rank FROM detections d WHERE d.id = t.detection_id;
ALTER TABLE detection_tags ALTER COLUMN level_rank DROP DEFAULT;
ALTER TABLE detection_tags DROP CONSTRAINT detection_tags_pkey;
ALTER TABLE detection_tags ADD PRIMARY KEY (case_id, tag, level_rank, at, detection_id);
{{- else -}}
CREATE TABLE detection_tags_by_level (
	case_id BIGINT NOT NULL,
	tag TEXT NOT NULL,
	level_rank INTEGER NOT NULL,
	at BIGINT NOT NULL,
	detection_id BIGINT NOT NULL REFERENCES detections (id),
	hunt_id BIGINT NOT NULL,
	PRIMARY KEY (case_id, tag, level_rank, at, detection_id)
) WITHOUT ROWID;
INSERT INTO detection_tags_by_level (case_id, tag, level_rank, at, detection_id, hunt_id)
	SELECT t.case_id, t.tag, d.level_rank, t.at, t.detection_id, t.hunt_id
	FROM detection_tags t JOIN detections d ON d.id = t.detection_id;
DROP TABLE detection_tags;
ALTER TABLE detection_tags_by_level RENAME TO detection_tags;
{{- end}}
DROP INDEX detections_host;
DROP INDEX detections_rule;
CREATE INDEX detections_host_level ON detections (case_id, host, level_rank, at, id, hunt_id);
-- (detections_rule_level, migration 00004, is the rule's.)
