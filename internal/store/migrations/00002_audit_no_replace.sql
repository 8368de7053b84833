-- SQLite's INSERT OR REPLACE removes the row it conflicts with without
-- firing audit_no_delete (delete triggers fire on REPLACE only with
-- recursive triggers on): an insertion with an existing entry's id would
-- rewrite it. PostgreSQL's upsert is an UPDATE, refused already.
{{if .Postgres -}}
SELECT 1;
{{- else -}}
CREATE TRIGGER audit_no_replace BEFORE INSERT ON audit
WHEN EXISTS (SELECT 1 FROM audit WHERE id = NEW.id)
BEGIN
	SELECT RAISE(ABORT, 'audit log is append-only');
END;
{{- end}}
