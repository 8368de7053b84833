-- API tokens and login sessions. Neither keeps its secret: each is found by
-- the SHA-256 of it (hex), so a copy of the database lets no one in.

-- A token acts for its owner with at most the owner's role, until it
-- expires or is revoked; last_used is refreshed at most once a minute.
CREATE TABLE api_tokens (
	id {{.ID}},
	user_id BIGINT NOT NULL REFERENCES users (id),
	name TEXT NOT NULL,
	secret_hash TEXT NOT NULL UNIQUE,
	role TEXT NOT NULL CHECK (role IN ('viewer', 'analyst', 'admin')),
	created BIGINT NOT NULL,
	expires BIGINT NOT NULL,
	last_used BIGINT,
	revoked BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, id);

-- A browser's session; the server judges its idle and absolute expiry
-- from seen and created.
CREATE TABLE sessions (
	id {{.ID}},
	user_id BIGINT NOT NULL REFERENCES users (id),
	secret_hash TEXT NOT NULL UNIQUE,
	csrf TEXT NOT NULL,
	created BIGINT NOT NULL,
	seen BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id, created);
CREATE INDEX sessions_seen ON sessions (seen);

-- The console's detection list (query.go): a rule's detections by level
-- and time, so the level order of one rule reads only its levels; and, on
-- SQLite, how many detections hold each word, to tell a common word (read
-- in time order, each row checked) from a rare one (FTS5's set first).
CREATE INDEX detections_rule_level ON detections (case_id, rule_id, level_rank, at, id, hunt_id);
{{if not .Postgres -}}
CREATE VIRTUAL TABLE detection_text_vocab USING fts5vocab (detection_text, 'row');
{{- end}}
