-- ---------------------------------------------------------------------------
-- 0002_roles.sql: what the runtime roles may do in the registry schema.
--
-- teilhabe_registry (the registry's own role) reads and writes its tables
-- and uses its sequences, also those a later migration creates (default
-- privileges of the role that runs the migrations). teilhabe_broker reads
-- registry.principals and nothing else: the broker maps keys to principals.
-- No other role gets anything here.
--
-- A role that does not exist in the cluster is skipped with a NOTICE, so a
-- database set up by hand still migrates; every statement is idempotent, so
-- this file can be run again as the owner once the role exists
-- (docs/OPERATIONS.md, "Security model").
-- ---------------------------------------------------------------------------
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'teilhabe_registry') THEN
        GRANT USAGE ON SCHEMA registry TO teilhabe_registry;
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA registry TO teilhabe_registry;
        GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA registry TO teilhabe_registry;
        ALTER DEFAULT PRIVILEGES IN SCHEMA registry
            GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO teilhabe_registry;
        ALTER DEFAULT PRIVILEGES IN SCHEMA registry
            GRANT USAGE, SELECT ON SEQUENCES TO teilhabe_registry;
    ELSE
        RAISE NOTICE 'role teilhabe_registry does not exist: no privileges on schema registry granted to it';
    END IF;

    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'teilhabe_broker') THEN
        GRANT USAGE ON SCHEMA registry TO teilhabe_broker;
        GRANT SELECT ON registry.principals TO teilhabe_broker;
    ELSE
        RAISE NOTICE 'role teilhabe_broker does not exist: it cannot read registry.principals';
    END IF;
END
$$;
