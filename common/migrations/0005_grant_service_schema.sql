-- ---------------------------------------------------------------------------
-- 0005_grant_service_schema.sql: one function that gives a service's runtime
-- role what it may do in the service's own schema.
--
-- teilhabe_grant_service_schema(schema, role): USAGE on the schema; SELECT,
-- INSERT, UPDATE, DELETE on its tables and USAGE, SELECT on its sequences,
-- also on those later migrations create (default privileges of the role
-- that runs the migrations, the owner). Nothing in any other schema. A role
-- that does not exist in the cluster is skipped with a NOTICE, so a
-- database set up by hand still migrates; every statement is idempotent,
-- so a service's migration can be run again as the owner once the role
-- exists (docs/OPERATIONS.md, "Security model").
--
-- The registry's and the measures service's 0002_roles.sql say the same in
-- their own words (forward-only migrations are not rewritten); a service
-- added later calls this function (eligibility's 0002_roles.sql).
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION public.teilhabe_grant_service_schema(schema_name text, role_name text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) THEN
        RAISE NOTICE 'role % does not exist: no privileges on schema % granted to it',
            role_name, schema_name;
        RETURN;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', schema_name, role_name);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I',
                   schema_name, role_name);
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I',
                   schema_name, role_name);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I '
                   'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I',
                   schema_name, role_name);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO %I',
                   schema_name, role_name);
END
$$;
REVOKE ALL ON FUNCTION public.teilhabe_grant_service_schema(text, text) FROM PUBLIC;
