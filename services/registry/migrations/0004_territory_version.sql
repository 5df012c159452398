-- ---------------------------------------------------------------------------
-- 0004_territory_version.sql: the territorial data says when it changed.
--
-- Every registry instance serves the Länder, the districts with their dated
-- figures and the territorial changes from memory (services/registry/
-- cache.c), since they change only through RecordTerritorialChange and
-- seeding. To keep each copy true, every transaction that changes one of
-- those tables, whoever runs it, bumps registry.territory_version once and
-- sends NOTIFY registry_territory with the new version, both in that
-- transaction: PostgreSQL delivers the notification at commit (never for a
-- rollback) to every instance listening, which then answers from the
-- database until it has loaded the new version.
--
-- The version is one row, so the transactions that change the territory
-- commit in the order of their versions (the second waits on the row the
-- first updated): a snapshot that sees version v sees every change up to v.
-- An instance that lost its listening connection compares the version when
-- it is back and loads again only when it moved.
--
-- Row triggers, not statement triggers: seeding inserts with ON CONFLICT DO
-- NOTHING at every start, and a statement that changed no row must not make
-- every instance load everything again.
-- ---------------------------------------------------------------------------

CREATE TABLE registry.territory_version (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    version bigint NOT NULL CHECK (version >= 1),
    -- The transaction that set version: a transaction bumps it once.
    xact    xid8
);
INSERT INTO registry.territory_version (version) VALUES (1);

CREATE FUNCTION registry.territory_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v bigint;
BEGIN
    UPDATE registry.territory_version
    SET version = version + 1, xact = pg_current_xact_id()
    WHERE xact IS DISTINCT FROM pg_current_xact_id()
    RETURNING version INTO v;
    IF FOUND THEN
        PERFORM pg_notify('registry_territory', v::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER states_territory_changed
    AFTER INSERT OR UPDATE OR DELETE ON registry.states
    FOR EACH ROW EXECUTE FUNCTION registry.territory_changed();
CREATE TRIGGER districts_territory_changed
    AFTER INSERT OR UPDATE OR DELETE ON registry.districts
    FOR EACH ROW EXECUTE FUNCTION registry.territory_changed();
CREATE TRIGGER district_figures_territory_changed
    AFTER INSERT OR UPDATE OR DELETE ON registry.district_figures
    FOR EACH ROW EXECUTE FUNCTION registry.territory_changed();
CREATE TRIGGER territorial_changes_territory_changed
    AFTER INSERT OR UPDATE OR DELETE ON registry.territorial_changes
    FOR EACH ROW EXECUTE FUNCTION registry.territory_changed();

-- The registry's role bumps the version through the triggers (they run
-- with the privileges of whoever changes the territory). Idempotent, and a
-- missing role is skipped, as in 0002_roles.sql.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'teilhabe_registry') THEN
        GRANT SELECT, UPDATE ON registry.territory_version TO teilhabe_registry;
    ELSE
        RAISE NOTICE 'role teilhabe_registry does not exist: no privileges on registry.territory_version granted to it';
    END IF;
END
$$;
