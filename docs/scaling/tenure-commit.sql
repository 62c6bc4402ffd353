SELECT pg_advisory_lock(8243404146941981285);
SELECT 0::bigint AS part, collection, key, value, version AS number, NULL::bigint AS extra
    FROM ringfence.state_rows WHERE version > (SELECT version FROM ringfence.audit_head WHERE id = 1)
UNION ALL
SELECT 1, collection, key, NULL, version, NULL FROM ringfence.state_deletes WHERE version > (SELECT version FROM ringfence.audit_head WHERE id = 1)
UNION ALL
SELECT 2, NULL, NULL, last_hash, size, version FROM ringfence.audit_head WHERE id = 1
UNION ALL
(SELECT 3, NULL, convert_to(note, 'UTF8'), root, size, time FROM ringfence.audit_checkpoints ORDER BY size DESC LIMIT 1)
UNION ALL
SELECT 4, NULL, NULL, NULL, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, NULL
ORDER BY part, collection, key;
BEGIN;
SELECT version AS v FROM ringfence.audit_head WHERE id = 1 FOR UPDATE \gset
INSERT INTO ringfence.state_rows (collection, key, value, version) VALUES ('\x73657373696f6e73', int8send(:client_id), repeat('x', 200)::bytea, :v + 1)
    ON CONFLICT (collection, key) DO UPDATE SET value = excluded.value, version = excluded.version;
UPDATE ringfence.audit_head SET version = :v + 1 WHERE id = 1;
COMMIT;
SELECT pg_advisory_unlock(8243404146941981285), (SELECT version FROM ringfence.audit_head WHERE id = 1);
