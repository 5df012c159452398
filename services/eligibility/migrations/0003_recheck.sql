-- ---------------------------------------------------------------------------
-- 0003_recheck.sql: the checkpoints of the automated re-checks.
--
-- One row per source of events the service consumes (the registry's, the
-- measures service's and its own outbox): the last sequence read and acted
-- on; and the row "schedule" with the last date of the daily
-- re-evaluation. Recheck locks the rows, checks them against what it read,
-- and moves them in the transaction that stores its decisions: nothing
-- missed or done twice, also across restarts and with several instances.
-- ---------------------------------------------------------------------------
CREATE TABLE eligibility.checkpoints (
    source        text PRIMARY KEY CHECK (source IN ('registry', 'measures', 'eligibility', 'schedule')),
    last_sequence bigint NOT NULL DEFAULT 0 CHECK (last_sequence >= 0),
    last_date     date,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
INSERT INTO eligibility.checkpoints (source) VALUES
    ('registry'), ('measures'), ('eligibility'), ('schedule');
