-- ---------------------------------------------------------------------------
-- 0002_roles.sql: what the runtime roles may do in the eligibility schema.
--
-- teilhabe_eligibility (the service's own role) reads and writes the rows of
-- its tables and uses its sequences, also those a later migration creates
-- (default privileges of the role that runs the migrations). No other role
-- gets anything here; teilhabe_eligibility gets nothing in another schema but
-- what common/migrations/0002_service_roles.sql grants on audit.
--
-- A role that does not exist in the cluster is skipped with a NOTICE, so a
-- database set up by hand still migrates; every statement is idempotent, so
-- this file can be run again as the owner once the role exists
-- (docs/OPERATIONS.md, "Security model").
-- ---------------------------------------------------------------------------
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'teilhabe_eligibility') THEN
        GRANT USAGE ON SCHEMA eligibility TO teilhabe_eligibility;
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA eligibility TO teilhabe_eligibility;
        GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA eligibility TO teilhabe_eligibility;
        ALTER DEFAULT PRIVILEGES IN SCHEMA eligibility
            GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO teilhabe_eligibility;
        ALTER DEFAULT PRIVILEGES IN SCHEMA eligibility
            GRANT USAGE, SELECT ON SEQUENCES TO teilhabe_eligibility;
    ELSE
        RAISE NOTICE 'role teilhabe_eligibility does not exist: no privileges on schema eligibility granted to it';
    END IF;
END
$$;
