-- ---------------------------------------------------------------------------
-- 0002_service_roles.sql: what every service's runtime role may do in the
-- audit schema: append to the trail and use the idempotency store.
--
-- The roles are made by ops/pg (docs/OPERATIONS.md, "Security model"): an
-- owner role runs the migrations and owns every object; each service runs
-- as its own role with only the privileges granted here and in its own
-- migrations. A role that does not exist in the cluster is skipped with a
-- NOTICE, so a database set up by hand (one role for everything) still
-- migrates. Every statement is idempotent: if a role is created after this
-- migration was applied, run this file again as the owner
-- (psql ... -f common/migrations/0002_service_roles.sql).
--
-- No role gets UPDATE, DELETE or TRUNCATE on audit.log: the trail is
-- append-only by privilege, and the trigger in 0001 holds even for the owner.
-- ---------------------------------------------------------------------------
DO $$
DECLARE
    role text;
BEGIN
    FOREACH role IN ARRAY ARRAY['teilhabe_registry', 'teilhabe_measures',
                                'teilhabe_eligibility', 'teilhabe_reporting']
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role) THEN
            RAISE NOTICE 'role % does not exist: no privileges on schema audit granted to it', role;
            CONTINUE;
        END IF;
        EXECUTE format('GRANT USAGE ON SCHEMA audit TO %I', role);
        EXECUTE format('GRANT INSERT ON audit.log TO %I', role);
        EXECUTE format('GRANT USAGE ON SEQUENCE audit.log_id_seq TO %I', role);
        EXECUTE format('GRANT SELECT, INSERT ON audit.idempotency TO %I', role);
    END LOOP;
END
$$;
