-- TAXII 2.1 collections (internal/taxii): the STIX objects each holds, one
-- row per object version, and the status of each add. A collection is the
-- tenant's own or a case's (case_id set); collection is its TAXII id.
-- version is the object's modified (else created) time in microseconds;
-- date_added is when this server took it, never two rows alike within a
-- collection, so paging by added_after loses nothing.
CREATE TABLE taxii_objects (
	id {{.ID}},
	tenant_id BIGINT NOT NULL REFERENCES tenants (id),
	case_id BIGINT REFERENCES cases (id),
	collection TEXT NOT NULL,
	object_id TEXT NOT NULL,
	type TEXT NOT NULL,
	spec_version TEXT NOT NULL,
	version BIGINT NOT NULL,
	date_added BIGINT NOT NULL,
	added_by TEXT NOT NULL,
	body TEXT NOT NULL,
	UNIQUE (tenant_id, collection, object_id, version)
);
CREATE INDEX taxii_objects_added ON taxii_objects (tenant_id, collection, date_added, id);

-- The status resource of an add, as the client was answered.
CREATE TABLE taxii_status (
	id {{.ID}},
	tenant_id BIGINT NOT NULL REFERENCES tenants (id),
	status_id TEXT NOT NULL UNIQUE,
	created BIGINT NOT NULL,
	body TEXT NOT NULL
);

-- Which build of a case's operations its collection holds the export of.
CREATE TABLE taxii_exports (
	case_id BIGINT PRIMARY KEY REFERENCES cases (id),
	stamp TEXT NOT NULL
);

-- A user's access to one collection, below what their role allows.
CREATE TABLE taxii_grants (
	id {{.ID}},
	tenant_id BIGINT NOT NULL REFERENCES tenants (id),
	collection TEXT NOT NULL,
	user_id BIGINT NOT NULL REFERENCES users (id),
	can_read INTEGER NOT NULL,
	can_write INTEGER NOT NULL,
	UNIQUE (collection, user_id)
);
