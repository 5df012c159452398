-- ---------------------------------------------------------------------------
-- 0002_roles.sql: what the runtime roles may do in the measures schema.
--
-- teilhabe_measures (the service's own role) reads and writes the rows of
-- its tables and uses its sequences, also those a later migration creates
-- (default privileges of the role that runs the migrations). No other role
-- gets anything here; teilhabe_measures gets nothing in another schema but
-- what common/migrations/0002_service_roles.sql grants on audit.
--
-- A role that does not exist in the cluster is skipped with a NOTICE, so a
-- database set up by hand still migrates; every statement is idempotent, so
-- this file can be run again as the owner once the role exists
-- (docs/OPERATIONS.md, "Security model").
-- ---------------------------------------------------------------------------
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'teilhabe_measures') THEN
        GRANT USAGE ON SCHEMA measures TO teilhabe_measures;
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA measures TO teilhabe_measures;
        GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA measures TO teilhabe_measures;
        ALTER DEFAULT PRIVILEGES IN SCHEMA measures
            GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO teilhabe_measures;
        ALTER DEFAULT PRIVILEGES IN SCHEMA measures
            GRANT USAGE, SELECT ON SEQUENCES TO teilhabe_measures;
    ELSE
        RAISE NOTICE 'role teilhabe_measures does not exist: no privileges on schema measures granted to it';
    END IF;
END
$$;
