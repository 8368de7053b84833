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
