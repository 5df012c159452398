-- ---------------------------------------------------------------------------
-- 0003_idempotency_prune.sql: every service prunes its own idempotency keys
-- once they are older than its idempotency_keep_hours (the worker runtime
-- does it between calls; docs/OPERATIONS.md, "Housekeeping"), so its
-- runtime role may delete from audit.idempotency. audit.log stays
-- append-only: nothing here touches it.
--
-- Roles that do not exist are skipped with a NOTICE, as in 0002; run the
-- file again as the owner once they do.
-- ---------------------------------------------------------------------------
DO $$
DECLARE
    role text;
BEGIN
    FOREACH role IN ARRAY ARRAY['teilhabe_registry', 'teilhabe_measures',
                                'teilhabe_eligibility', 'teilhabe_reporting']
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role) THEN
            RAISE NOTICE 'role % does not exist: it may not prune audit.idempotency', role;
            CONTINUE;
        END IF;
        EXECUTE format('GRANT DELETE ON audit.idempotency TO %I', role);
    END LOOP;
END
$$;
