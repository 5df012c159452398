-- ---------------------------------------------------------------------------
-- 0001_registry.sql: the registry schema (districts with territorial
-- history, integration concepts with every version kept, integration
-- managers with dated assignments, principals, the events outbox).
--
-- Forward-only; applied by th_db_migrate at start-up. Only teilhabe-registry
-- writes this schema. The broker reads registry.principals (see below).
-- ---------------------------------------------------------------------------
CREATE SCHEMA IF NOT EXISTS registry;

CREATE TABLE registry.states (
    code text PRIMARY KEY CHECK (code ~ '^[0-9]{2}$'),
    name text NOT NULL CHECK (name <> '')
);

-- One row per district the registry has ever known. A district that ended
-- (merged into another) keeps its row with valid_to and successor_ags set,
-- so "as of" queries and the territorial history stay answerable.
CREATE TABLE registry.districts (
    ags                 text PRIMARY KEY CHECK (ags ~ '^[0-9]{5}$'),
    state_code          text NOT NULL REFERENCES registry.states (code),
    name                text NOT NULL CHECK (name <> ''),
    official_kind       text NOT NULL CHECK (official_kind IN
                            ('Landkreis', 'Kreis', 'Kreisfreie Stadt', 'Stadtkreis', 'Regionalverband')),
    kind                text NOT NULL CHECK (kind IN ('landkreis', 'kreisfreie_stadt')),
    nuts3               text NOT NULL CHECK (nuts3 ~ '^DE[0-9A-Z]{3}$'),
    area_km2            numeric(10, 2) NOT NULL CHECK (area_km2 > 0),
    population          bigint NOT NULL CHECK (population >= 0),
    population_male     bigint NOT NULL CHECK (population_male >= 0),
    population_female   bigint NOT NULL CHECK (population_female >= 0),
    population_per_km2  bigint NOT NULL CHECK (population_per_km2 >= 0),
    population_date     date NOT NULL,
    settlement_type     text NOT NULL CHECK (settlement_type IN
                            ('kreisfreie_grossstadt', 'staedtischer_kreis',
                             'laendlicher_kreis_verdichtung', 'duenn_besiedelt')),
    valid_from          date NOT NULL,
    valid_to            date,
    successor_ags       text REFERENCES registry.districts (ags),
    -- Search keys (see docs/registry.md, "Search"): the name case-folded
    -- with diacritics stripped ("sommerda"), and with umlauts expanded first
    -- ("soemmerda"). A folded query matches either.
    search_key          text NOT NULL,
    search_key_expanded text NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (substr(ags, 1, 2) = state_code),
    CHECK (valid_to IS NULL OR valid_to >= valid_from),
    CHECK ((valid_to IS NULL) = (successor_ags IS NULL)),
    CHECK (successor_ags IS NULL OR successor_ags <> ags)
);
CREATE INDEX districts_state_idx ON registry.districts (state_code, ags);

CREATE TABLE registry.territorial_changes (
    id            bigserial PRIMARY KEY,
    effective     date NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('merge')),
    ags           text NOT NULL UNIQUE REFERENCES registry.districts (ags),
    successor_ags text NOT NULL REFERENCES registry.districts (ags),
    note          text NOT NULL DEFAULT '',
    recorded_by   text NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (ags <> successor_ags)
);
CREATE INDEX territorial_changes_successor_idx ON registry.territorial_changes (successor_ags);

-- Integration concepts, one row per version. Exactly one row per district is
-- current (the partial unique index); SetConcept flips the current row to
-- false and inserts version + 1 in one transaction, so concurrent writers
-- with the same version serialize on that row and only one succeeds.
CREATE TABLE registry.concepts (
    ags             text NOT NULL REFERENCES registry.districts (ags),
    version         bigint NOT NULL CHECK (version >= 1),
    title           text NOT NULL CHECK (title <> ''),
    adopted_on      date NOT NULL,
    last_updated_on date CHECK (last_updated_on IS NULL OR last_updated_on >= adopted_on),
    orientation     text NOT NULL CHECK (orientation IN ('participation', 'newcomers', 'unclear')),
    fields          text[] NOT NULL CHECK (cardinality(fields) BETWEEN 1 AND 10),
    link            text NOT NULL DEFAULT '',
    is_current      boolean NOT NULL,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ags, version)
);
CREATE UNIQUE INDEX concepts_current_idx ON registry.concepts (ags) WHERE is_current;

CREATE TABLE registry.managers (
    id                text PRIMARY KEY DEFAULT gen_random_uuid()::text,
    state_code        text NOT NULL REFERENCES registry.states (code),
    name              text NOT NULL CHECK (name <> ''),
    email             text NOT NULL DEFAULT '',
    phone             text NOT NULL DEFAULT '',
    organisation      text NOT NULL DEFAULT '',
    funding_programme text NOT NULL DEFAULT '',
    principal_id      text NOT NULL DEFAULT '',
    version           bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX managers_state_idx ON registry.managers (state_code, name, id);
CREATE INDEX managers_principal_idx ON registry.managers (principal_id) WHERE principal_id <> '';

-- Dated assignments of managers to districts (both ends inclusive, valid_to
-- NULL = open). Unassigning sets valid_to; rows are never deleted, so the
-- history of who covered a district stays answerable.
CREATE TABLE registry.manager_assignments (
    id         bigserial PRIMARY KEY,
    manager_id text NOT NULL REFERENCES registry.managers (id),
    ags        text NOT NULL REFERENCES registry.districts (ags),
    valid_from date NOT NULL,
    valid_to   date,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE INDEX manager_assignments_manager_idx ON registry.manager_assignments (manager_id, ags);
CREATE INDEX manager_assignments_ags_idx ON registry.manager_assignments (ags);

-- Principals: who may call teilhabe. teilhabe-broker polls
--   SELECT id, name, role, state_scope, district_scope, public_key
--   FROM registry.principals WHERE revoked_at IS NULL
-- so a revoked key is refused within its poll interval. Keep these columns
-- and their meaning stable.
CREATE TABLE registry.principals (
    id             text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    name           text NOT NULL CHECK (name <> ''),
    role           text NOT NULL CHECK (role IN ('admin', 'ministry', 'manager', 'analyst', 'service')),
    state_scope    text NOT NULL DEFAULT '' CHECK (state_scope ~ '^([0-9]{2})?$'),
    district_scope text[] NOT NULL DEFAULT '{}',
    public_key     text NOT NULL UNIQUE CHECK (length(public_key) = 40),
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz
);

-- The transactional outbox (th_db_outbox_append writes it). Consumers read
-- it with ListEvents(after_sequence) and keep their own checkpoint.
CREATE TABLE registry.events (
    sequence   bigserial PRIMARY KEY,
    topic      text NOT NULL,
    resource   text NOT NULL,
    payload    bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
