-- What each hunt's evidence holds, summarised once when the hunt is
-- complete (internal/digest), so that the console shows a case's metrics,
-- logons and gaps without reading its evidence again. body is the JSON of
-- `spoor metrics`, `spoor logons` or `spoor gaps`, by kind.
CREATE TABLE hunt_summaries (
	case_id BIGINT NOT NULL REFERENCES cases (id),
	hunt_id BIGINT NOT NULL REFERENCES hunts (id),
	kind TEXT NOT NULL CHECK (kind IN ('metrics', 'logons', 'gaps')),
	body TEXT NOT NULL,
	PRIMARY KEY (case_id, kind, hunt_id)
);
