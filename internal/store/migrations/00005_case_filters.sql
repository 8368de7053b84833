-- Sigma filters kept per case: a false positive an analyst turned into a
-- filter rule, applied by every later hunt into the case. rule_id is the
-- detection rule it silences (for listing); body is the Sigma document.
CREATE TABLE case_filters (
	id {{.ID}},
	case_id BIGINT NOT NULL REFERENCES cases (id),
	title TEXT NOT NULL,
	rule_id TEXT NOT NULL,
	body TEXT NOT NULL,
	created BIGINT NOT NULL,
	created_by TEXT NOT NULL
);
CREATE INDEX case_filters_case ON case_filters (case_id, id);
