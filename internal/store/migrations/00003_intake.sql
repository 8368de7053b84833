-- What the operation builder needs of each detection (the hunt's
-- operation.DetectionRef, as JSON; '' for none), beside the body, so that a
-- rebuild of a case's operations reads these and not the bodies.
ALTER TABLE detections ADD COLUMN ref TEXT NOT NULL DEFAULT '';

-- Each hunt's entity index (operation.Index.AppendBinary): the processes,
-- logons, services, tasks and files of its evidence, so that a later
-- hunt's detections join the entities of earlier ones.
CREATE TABLE hunt_entities (
	hunt_id BIGINT PRIMARY KEY REFERENCES hunts (id),
	data {{if .Postgres}}BYTEA{{else}}BLOB{{end}} NOT NULL
);
