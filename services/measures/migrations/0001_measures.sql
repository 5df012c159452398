-- ---------------------------------------------------------------------------
-- 0001_measures.sql: the measures schema (the measures of each district, the
-- events outbox).
--
-- Forward-only; applied by th_db_migrate at start-up as the owner. Only
-- teilhabe-measures writes this schema; it never reads another service's
-- (whether a district exists, and who is assigned to it, it asks the
-- registry over the broker).
-- ---------------------------------------------------------------------------
CREATE SCHEMA IF NOT EXISTS measures;

-- One row per measure. The district is an AGS, not a foreign key: districts
-- live in the registry's schema, which this service does not read. Its Land
-- is the AGS's first two digits (the AGS is built that way), kept as a
-- column for the read rules and the lists by Land.
--
-- Tokens are those of the proto enums (th_enum.h): field of action
-- ("work_and_training"), target group ("all_residents", "newcomers",
-- "group" with target_group_name), status ("planned", "active",
-- "completed", "cancelled"). Money is bigint euro cents, never numeric or
-- float, from 0 to 10^15 (TH_MONEY_MAX_CENTS).
CREATE TABLE measures.measures (
    id                text PRIMARY KEY DEFAULT gen_random_uuid()::text,
    ags               text NOT NULL CHECK (ags ~ '^[0-9]{5}$'),
    state_code        text NOT NULL GENERATED ALWAYS AS (substr(ags, 1, 2)) STORED,
    municipality      text NOT NULL DEFAULT '',
    municipality_key  text NOT NULL DEFAULT ''
                      CHECK (municipality_key = '' OR (municipality_key ~ '^[0-9]{8}$'
                             AND substr(municipality_key, 1, 5) = ags)),
    title             text NOT NULL CHECK (title <> ''),
    description       text NOT NULL DEFAULT '',
    field             text NOT NULL CHECK (field ~ '^[a-z_]+$'),
    target_group      text NOT NULL CHECK (target_group IN ('all_residents', 'newcomers', 'group')),
    target_group_name text NOT NULL DEFAULT '',
    status            text NOT NULL DEFAULT 'planned'
                      CHECK (status IN ('planned', 'active', 'completed', 'cancelled')),
    start_date        date,
    end_date          date,
    budget_cents      bigint NOT NULL DEFAULT 0
                      CHECK (budget_cents BETWEEN 0 AND 1000000000000000),
    funding_source    text NOT NULL DEFAULT '',
    version           bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_by        text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_by        text NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((target_group = 'group') = (target_group_name <> '')),
    CHECK (end_date IS NULL OR (start_date IS NOT NULL AND end_date >= start_date))
);
-- The lists: by district (ListMeasures(ags)) and by Land, both in the
-- keyset order (ags, id).
CREATE INDEX measures_ags_idx ON measures.measures (ags, id);
CREATE INDEX measures_state_idx ON measures.measures (state_code, ags, id);

-- The transactional outbox (th_db_outbox_append writes it). Consumers read
-- it with ListEvents(after_sequence) and keep their own checkpoint. The
-- resource of an event about a district's data begins with
-- "districts/<ags>/", which the read rules of ListEvents use.
CREATE TABLE measures.events (
    sequence   bigserial PRIMARY KEY,
    topic      text NOT NULL,
    resource   text NOT NULL,
    payload    bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
