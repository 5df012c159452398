-- ---------------------------------------------------------------------------
-- 0001_audit.sql: the audit trail and the idempotency store shared by all
-- services (th_db_audit, th_db_idem_lookup, th_db_idem_store).
--
-- Applied by every service at start-up as service "common". The statements
-- are idempotent so that a database set up by hand (or a half-applied file
-- from an older runner) does not stop a service from starting.
-- ---------------------------------------------------------------------------

CREATE SCHEMA IF NOT EXISTS audit;

-- One row per write, in the same transaction as the write. call_id is the
-- RPC call id (an unsigned 64-bit number, hence numeric); before is NULL for
-- a creation and after is NULL for a deletion.
CREATE TABLE IF NOT EXISTS audit.log (
    id             bigserial PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    principal_id   text NOT NULL,
    principal_role text,
    call_id        numeric(20, 0) NOT NULL DEFAULT 0
                   CHECK (call_id >= 0 AND call_id <= 18446744073709551615),
    method         text NOT NULL,
    resource       text NOT NULL,
    before         jsonb,
    after          jsonb
);

CREATE INDEX IF NOT EXISTS log_resource_at_idx ON audit.log (resource, at);
CREATE INDEX IF NOT EXISTS log_principal_at_idx ON audit.log (principal_id, at);

-- The trail is append-only: history that can be rewritten proves nothing.
-- A trigger rather than privileges, because services may connect as the
-- table owner.
CREATE OR REPLACE FUNCTION audit.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit trail is append-only'
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = format('%s on %I.%I was refused.', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME);
END
$$;

CREATE OR REPLACE TRIGGER log_refuse_update_delete
    BEFORE UPDATE OR DELETE ON audit.log
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();

CREATE OR REPLACE TRIGGER log_refuse_truncate
    BEFORE TRUNCATE ON audit.log
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

-- A client-chosen key per principal: the first reply is stored with the
-- write, so a retried call gets that reply back and changes nothing twice.
-- method and request_hash detect a key reused for a different request.
CREATE TABLE IF NOT EXISTS audit.idempotency (
    principal_id text NOT NULL,
    key          text NOT NULL,
    method       text NOT NULL,
    request_hash text NOT NULL,
    reply        bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal_id, key)
);

-- For pruning old keys by age (an operator's job: docs/OPERATIONS.md).
CREATE INDEX IF NOT EXISTS idempotency_created_at_idx ON audit.idempotency (created_at);
