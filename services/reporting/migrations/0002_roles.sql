-- ---------------------------------------------------------------------------
-- 0002_roles.sql: what the runtime role may do in the reporting schema.
--
-- teilhabe_reporting reads the views of schema reporting (0001) and nothing
-- else: no write, no table of another schema (the views read those with
-- their owner's rights), no sequence. The common migrations gave it its
-- audit rights like every service; reporting writes no audit row, since it
-- changes nothing. A role that does not exist is skipped with a NOTICE (a
-- database set up by hand still migrates).
-- ---------------------------------------------------------------------------
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'teilhabe_reporting') THEN
        RAISE NOTICE 'role teilhabe_reporting does not exist: no privileges on schema reporting granted';
        RETURN;
    END IF;
    GRANT USAGE ON SCHEMA reporting TO teilhabe_reporting;
    GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO teilhabe_reporting;
    ALTER DEFAULT PRIVILEGES IN SCHEMA reporting GRANT SELECT ON TABLES TO teilhabe_reporting;
END
$$;
