-- ---------------------------------------------------------------------------
-- 0004_audit_on_behalf_of.sql: on whose behalf a write was made.
--
-- A service that calls another one (th_call_invoke) does so under its own
-- key (role service) and names its own caller in the metadata
-- teilhabe-on-behalf-of (docs/PROTOCOL.md, section 6). The callee's audit
-- row keeps both: principal_id is the service that called, on_behalf_of the
-- principal it called for (NULL for a call made by a person or program
-- directly). ADD COLUMN with no default only changes the catalogue, so the
-- trail is not rewritten and the append-only trigger of 0001 is not fired.
--
-- The service roles' INSERT on audit.log (0002) is a table privilege and so
-- covers the new column as well; it is granted again here, idempotently,
-- for a database whose roles were made after 0002 ran.
-- ---------------------------------------------------------------------------
ALTER TABLE audit.log ADD COLUMN IF NOT EXISTS on_behalf_of text;

CREATE INDEX IF NOT EXISTS log_on_behalf_of_at_idx ON audit.log (on_behalf_of, at)
    WHERE on_behalf_of IS NOT NULL;

DO $$
DECLARE
    role text;
BEGIN
    FOREACH role IN ARRAY ARRAY['teilhabe_registry', 'teilhabe_measures',
                                'teilhabe_eligibility', 'teilhabe_reporting']
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role) THEN
            RAISE NOTICE 'role % does not exist: no privileges on audit.log granted to it', role;
            CONTINUE;
        END IF;
        EXECUTE format('GRANT INSERT ON audit.log TO %I', role);
    END LOOP;
END
$$;
