-- ---------------------------------------------------------------------------
-- 0003_indicators.sql: the indicator catalogue and the indicator values.
--
-- The catalogue's starter set is loaded at start-up from data/indicators.csv
-- (audited and announced like every change, as principal "seed"); the
-- ministries add to it with CreateIndicator. A value is one district x
-- indicator x period x disaggregation: numerator and denominator (0 for a
-- plain count), never the rate computed from them, so a rate can never
-- disagree with its parts. Enum values are their tokens (th_enum.h).
-- ---------------------------------------------------------------------------
CREATE TABLE measures.indicators (
    code            text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{1,63}$'),
    name_de         text NOT NULL CHECK (name_de <> ''),
    name_en         text NOT NULL CHECK (name_en <> ''),
    unit            text NOT NULL CHECK (unit <> ''),
    field           text NOT NULL CHECK (field ~ '^[a-z_]+$'),
    numerator       text NOT NULL CHECK (numerator <> ''),
    denominator     text NOT NULL DEFAULT '',
    factor          bigint NOT NULL CHECK (factor IN (1, 100, 1000, 100000)),
    direction       text NOT NULL CHECK (direction IN ('higher_is_better', 'lower_is_better')),
    disaggregations text[] NOT NULL CHECK ('total' = ANY (disaggregations)),
    source          text NOT NULL CHECK (source <> ''),
    illustrative    boolean NOT NULL DEFAULT false,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- A plain count has no denominator and no factor.
    CHECK ((denominator = '') = (factor = 1))
);

-- period_start and period_end are the first and last day of the period
-- (th_period.h), written with it: a range of periods is a range of days,
-- and the order of periods (by first day, the shorter first) an order of
-- columns.
CREATE TABLE measures.indicator_values (
    ags            text NOT NULL CHECK (ags ~ '^[0-9]{5}$'),
    state_code     text NOT NULL GENERATED ALWAYS AS (substr(ags, 1, 2)) STORED,
    indicator_code text NOT NULL REFERENCES measures.indicators (code),
    period         text NOT NULL
                   CHECK (period ~ '^(19|20|21)[0-9]{2}(S[12]|Q[1-4]|-(0[1-9]|1[0-2]))?$'),
    period_start   date NOT NULL,
    period_end     date NOT NULL CHECK (period_end >= period_start),
    disaggregation text NOT NULL
                   CHECK (disaggregation IN ('total', 'with_migration_history',
                                             'without_migration_history')),
    numerator      bigint NOT NULL CHECK (numerator >= 0),
    denominator    bigint NOT NULL CHECK (denominator >= 0),
    source         text NOT NULL DEFAULT '',
    note           text NOT NULL DEFAULT '',
    updated_by     text NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ags, indicator_code, period, disaggregation)
);
-- ListValues by district and by Land, in its order.
CREATE INDEX indicator_values_order_idx ON measures.indicator_values
    (ags, indicator_code, period_start, period_end, disaggregation);
CREATE INDEX indicator_values_state_idx ON measures.indicator_values
    (state_code, ags, indicator_code, period_start, period_end, disaggregation);
