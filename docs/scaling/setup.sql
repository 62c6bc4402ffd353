CREATE TABLE audit_head (id int PRIMARY KEY, size bigint NOT NULL, last_hash bytea NOT NULL);
INSERT INTO audit_head VALUES (1, 0, '\x00');
CREATE TABLE audit_entries (seq bigint PRIMARY KEY, data text NOT NULL, prev bytea NOT NULL, hash bytea NOT NULL);
CREATE TABLE pending (id bigserial PRIMARY KEY, data text NOT NULL);
