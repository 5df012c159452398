-- ---------------------------------------------------------------------------
-- 0004_import.sql: the staging tables of ImportValues (docs/measures.md,
-- "Bulk import").
--
-- Both are UNLOGGED: what they hold is on its way in, never the record.
-- import_chunks keeps the chunks of a file until its last chunk arrives (an
-- hour at most: older ones are deleted by the next import that begins);
-- after a crash PostgreSQL empties an unlogged table, and the client sends
-- the file again. import_rows holds the checked lines of the one import
-- being written, COPYed in and deleted again inside that import's
-- transaction, so no other transaction ever sees a row of it; the values
-- go from there into measures.indicator_values in one statement.
-- (A temporary table would do for import_rows, but the service's role has
-- no TEMP right on the database: docs/OPERATIONS.md, "Security model".)
-- ---------------------------------------------------------------------------
CREATE UNLOGGED TABLE measures.import_chunks (
    principal_id text NOT NULL,
    import_id    uuid NOT NULL,
    chunk        int NOT NULL CHECK (chunk >= 0),
    data         bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal_id, import_id, chunk)
);
CREATE INDEX import_chunks_created_idx ON measures.import_chunks (created_at);

-- No keys, no index: rows are added by COPY and read whole by the one
-- transaction that added them.
CREATE UNLOGGED TABLE measures.import_rows (
    import_id      uuid NOT NULL,
    line           int NOT NULL,
    ags            text NOT NULL,
    indicator_code text NOT NULL,
    period         text NOT NULL,
    disaggregation text NOT NULL,
    period_start   date NOT NULL,
    period_end     date NOT NULL,
    numerator      bigint NOT NULL,
    denominator    bigint NOT NULL,
    source         text NOT NULL,
    note           text NOT NULL
);
