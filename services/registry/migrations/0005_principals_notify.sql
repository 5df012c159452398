-- ---------------------------------------------------------------------------
-- 0005_principals_notify.sql: registry.principals says when it changed.
--
-- The broker maps CURVE keys to principals from this table. It used to read
-- the whole table every two seconds, on every broker, also on a network
-- where nothing happens. Now every statement that changes the table, in
-- whatever transaction, sends NOTIFY registry_principals (delivered at
-- commit, never for a rollback; several in one transaction arrive as one),
-- and the broker LISTENs and reads the table only then, once at start and
-- after a reconnect. A created principal is accepted, a revoked one refused,
-- as soon as its transaction commits.
--
-- A broker finds the trigger by its name (principals_changed) and reads the
-- table every two seconds while it is missing, so a broker newer than its
-- registry keeps working.
-- ---------------------------------------------------------------------------

CREATE FUNCTION registry.principals_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('registry_principals', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER principals_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON registry.principals
    FOR EACH STATEMENT EXECUTE FUNCTION registry.principals_changed();

-- Brokers that started before this migration read the table again now.
NOTIFY registry_principals;
