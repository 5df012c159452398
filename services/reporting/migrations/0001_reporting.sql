-- ---------------------------------------------------------------------------
-- 0001_reporting.sql: the schema reporting, read-only views of what the
-- reports need from the registry, measures and eligibility schemas.
--
-- The views are the only way the reporting service sees the other
-- services' data (DESIGN.md: reporting is the exception for heavy
-- aggregates). They belong to the schema owner, so they read the tables
-- with the owner's rights; the runtime role teilhabe_reporting may SELECT
-- the views (0002_roles.sql) and nothing else: no table of another schema,
-- no write anywhere. What no report shows is not in a view: managers'
-- names and contacts, principals, decision facts, rule-set texts, events.
--
-- Example data: every row written by a principal whose id begins with
-- "example-" (ops/example, the "Beispieldaten" of ./ops/up) has example =
-- true, so every report can mark it where it shows.
--
-- The views depend on the other schemas' columns: a later migration of
-- another service that drops or retypes a column a view reads fails until
-- a reporting migration replaces the view (docs/reporting.md, "Reading the
-- data"). Until the other services have migrated their schemas, this
-- migration refuses with a message saying so, and the service's start-up
-- tries it again (th_service.h).
-- ---------------------------------------------------------------------------
DO $$
DECLARE
    need record;
BEGIN
    FOR need IN SELECT * FROM (VALUES ('registry', 5), ('measures', 5), ('eligibility', 3)) v(service, version)
    LOOP
        IF NOT EXISTS (SELECT 1 FROM public.teilhabe_migrations m
                       WHERE m.service = need.service AND m.version >= need.version) THEN
            RAISE EXCEPTION 'the reporting views need the % schema at migration % or later: '
                            'start teilhabe-% first (reporting tries again)',
                            need.service, need.version, need.service;
        END IF;
    END LOOP;
END
$$;

CREATE SCHEMA IF NOT EXISTS reporting;

-- Written by the example scenario (ops/example)?
CREATE FUNCTION reporting.is_example(principal_id text)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(principal_id LIKE 'example-%', false)
$$;

-- A measure runs on a date: active or completed, started on or before it
-- (an active one without a start date counts), not ended before it; the
-- eligibility service's measures.count says the same (docs/eligibility.md).
CREATE FUNCTION reporting.measure_runs(status text, start_date date, end_date date, on_date date)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT status IN ('active', 'completed')
       AND CASE WHEN start_date IS NULL THEN status = 'active'
                ELSE start_date <= on_date AND (end_date IS NULL OR end_date >= on_date) END
$$;

CREATE VIEW reporting.states AS
SELECT code, name FROM registry.states;

CREATE VIEW reporting.districts AS
SELECT ags, state_code, name, official_kind, kind, valid_from, valid_to, successor_ags
FROM registry.districts;

CREATE VIEW reporting.district_figures AS
SELECT f.ags, f.valid_from, f.valid_to, f.area_km2, f.population, f.population_per_km2,
       f.population_date,
       registry.settlement_type(d.kind, f.population, f.population_per_km2) AS settlement_type
FROM registry.district_figures f JOIN registry.districts d USING (ags);

CREATE VIEW reporting.concepts AS
SELECT ags, substr(ags, 1, 2) AS state_code, version, title, adopted_on, last_updated_on,
       orientation, fields, is_current, created_at, reporting.is_example(created_by) AS example
FROM registry.concepts;

-- Who covers a district when: ids and dates, never names or contacts.
CREATE VIEW reporting.manager_assignments AS
SELECT a.manager_id, m.state_code, a.ags, a.valid_from, a.valid_to
FROM registry.manager_assignments a JOIN registry.managers m ON m.id = a.manager_id;

CREATE VIEW reporting.measures AS
SELECT id, ags, state_code, title, field, target_group, status, start_date, end_date,
       budget_cents, created_at, reporting.is_example(created_by) AS example
FROM measures.measures;

CREATE VIEW reporting.reach AS
SELECT r.measure_id, m.ags, m.state_code, m.field, m.target_group, r.period, r.period_start,
       r.period_end, r.participants_total, r.with_migration_history,
       r.without_migration_history, reporting.is_example(r.updated_by) AS example
FROM measures.reach r JOIN measures.measures m ON m.id = r.measure_id;

CREATE VIEW reporting.indicators AS
SELECT code, name_de, name_en, unit, field, numerator, denominator, factor, direction,
       disaggregations, source, illustrative
FROM measures.indicators;

CREATE VIEW reporting.indicator_values AS
SELECT ags, state_code, indicator_code, period, period_start, period_end, disaggregation,
       numerator, denominator, source, reporting.is_example(updated_by) AS example
FROM measures.indicator_values;

CREATE VIEW reporting.assessment_questions AS
SELECT code, mark, text_de, text_en, position FROM measures.assessment_questions;

CREATE VIEW reporting.assessment_answers AS
SELECT a.ags, a.state_code, a.period, a.period_start, a.period_end, x.question_code, x.rating,
       reporting.is_example(a.updated_by) AS example
FROM measures.assessments a
JOIN measures.assessment_answers x ON x.ags = a.ags AND x.period = a.period;

CREATE VIEW reporting.submissions AS
SELECT ags, state_code, period, period_start, period_end, status,
       reporting.is_example(submitted_by) OR reporting.is_example(decided_by) AS example
FROM measures.submissions;

CREATE VIEW reporting.programmes AS
SELECT code, state_code, name_de, name_en FROM eligibility.programmes;

CREATE VIEW reporting.rule_sets AS
SELECT programme_code, version, valid_from, valid_to, source FROM eligibility.rule_sets;

CREATE VIEW reporting.decisions AS
SELECT id, programme_code, rule_version, ags, state_code, district_name, as_of, outcome,
       entitlement_cents, illustrative, attainable, summary_de, summary_en, trigger, run_id,
       changed, previous_outcome, decided_at, reporting.is_example(decided_by) AS example
FROM eligibility.decisions;
