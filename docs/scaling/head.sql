BEGIN;
SELECT size AS n FROM audit_head WHERE id = 1 FOR UPDATE \gset
INSERT INTO audit_entries SELECT :n, repeat('x', 200), last_hash, sha256(last_hash || int8send(:n)) FROM audit_head WHERE id = 1;
UPDATE audit_head SET size = :n + 1, last_hash = sha256(last_hash || int8send(:n)) WHERE id = 1;
COMMIT;
