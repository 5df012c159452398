-- ---------------------------------------------------------------------------
-- 0001_eligibility.sql: the eligibility schema: funding programmes, their
-- dated rule-set versions, the applications (facts only the district can
-- give), the decisions with the facts they used, the events outbox.
--
-- Forward-only; applied by th_db_migrate at start-up as the owner. Only
-- teilhabe-eligibility writes this schema; it reads no other (facts come
-- from the registry and the measures service over the broker).
-- ---------------------------------------------------------------------------
CREATE SCHEMA IF NOT EXISTS eligibility;

-- A programme: its code and Land are those of its rule sets (a version may
-- change names and texts; the newest version's are kept here).
CREATE TABLE eligibility.programmes (
    code           text PRIMARY KEY CHECK (code ~ '^[a-z0-9][a-z0-9-]{1,39}$'),
    state_code     text NOT NULL CHECK (state_code ~ '^[0-9]{2}$'),
    name_de        text NOT NULL,
    name_en        text NOT NULL,
    description_de text NOT NULL DEFAULT '',
    description_en text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- Rule-set versions, never changed once published. Versions of one
-- programme never overlap (checked by PublishRuleSet under a lock on the
-- programme's row); valid_to NULL = open-ended.
CREATE TABLE eligibility.rule_sets (
    programme_code text NOT NULL REFERENCES eligibility.programmes (code),
    version        int NOT NULL CHECK (version >= 1),
    valid_from     date NOT NULL,
    valid_to       date CHECK (valid_to IS NULL OR valid_to >= valid_from),
    text           text NOT NULL,
    hash           text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    source         text NOT NULL DEFAULT '',
    published_by   text NOT NULL,
    published_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (programme_code, version)
);

-- Applications: what a district hands in for a programme.
CREATE TABLE eligibility.applications (
    programme_code   text NOT NULL REFERENCES eligibility.programmes (code),
    ags              text NOT NULL CHECK (ags ~ '^[0-9]{5}$'),
    state_code       text NOT NULL GENERATED ALWAYS AS (substr(ags, 1, 2)) STORED,
    council_decision date,
    work_plan        boolean NOT NULL DEFAULT false,
    version          bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
    updated_by       text NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (programme_code, ags)
);

-- Decisions. facts is a packed teilhabe.eligibility.v1.FactSet: with the
-- rule-set version it is all a re-evaluation needs (GetDecision verify).
-- The trace is computed again from them when read, in the language asked;
-- the summaries are kept in both languages for the lists. run_id groups the
-- decisions of one EvaluateBatch (and of an Evaluate of an allocating
-- programme, whose amount depends on every district of the Land).
CREATE TABLE eligibility.decisions (
    id                text PRIMARY KEY DEFAULT gen_random_uuid()::text,
    programme_code    text NOT NULL,
    rule_version      int NOT NULL,
    rule_hash         text NOT NULL,
    ags               text NOT NULL CHECK (ags ~ '^[0-9]{5}$'),
    state_code        text NOT NULL GENERATED ALWAYS AS (substr(ags, 1, 2)) STORED,
    district_name     text NOT NULL DEFAULT '',
    as_of             date NOT NULL,
    outcome           text NOT NULL CHECK (outcome IN ('eligible', 'not_eligible', 'not_applicable')),
    entitlement_cents bigint NOT NULL DEFAULT 0 CHECK (entitlement_cents >= 0),
    illustrative      boolean NOT NULL DEFAULT false,
    attainable        boolean NOT NULL DEFAULT false,
    summary_de        text NOT NULL DEFAULT '',
    summary_en        text NOT NULL DEFAULT '',
    facts             bytea NOT NULL,
    trigger           text NOT NULL CHECK (trigger IN ('manual', 'batch', 'event', 'schedule')),
    run_id            text,
    changed           boolean NOT NULL DEFAULT false,
    previous_outcome  text,
    decided_by        text NOT NULL,
    decided_at        timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (programme_code, rule_version) REFERENCES eligibility.rule_sets (programme_code, version)
);
-- The previous decision of a district (changed), ListDecisions by district,
-- the newest first overall, and a batch run's pages.
CREATE INDEX decisions_district_idx ON eligibility.decisions (programme_code, ags, decided_at DESC, id);
CREATE INDEX decisions_time_idx ON eligibility.decisions (decided_at DESC, id);
CREATE INDEX decisions_run_idx ON eligibility.decisions (run_id, ags) WHERE run_id IS NOT NULL;

-- The transactional outbox (th_db_outbox_append writes it).
CREATE TABLE eligibility.events (
    sequence   bigserial PRIMARY KEY,
    topic      text NOT NULL,
    resource   text NOT NULL,
    payload    bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
