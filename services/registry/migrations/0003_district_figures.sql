-- ---------------------------------------------------------------------------
-- 0003_district_figures.sql: a district's area and population become dated.
--
-- Until now a district held one set of figures, the 2018-12-31 count of its
-- 2018 territory, so a merger lost the people of the district that ended:
-- from 2021-07-01 the Wartburgkreis still answered 123,025 inhabitants and
-- Thüringen 42,370 fewer than it has. Now the figures live in
-- registry.district_figures, one row per district and territorial status
-- (valid_from .. valid_to, both inclusive, NULL = open), and a merger closes
-- the successor's row the day before it takes effect and opens one with the
-- predecessor's area and people added (registry.merge_district_figures,
-- called in the transaction that records the change, by seeding and by
-- RecordTerritorialChange). "As of" a date, a district answers the row valid
-- then: 16063 has 123,025 inhabitants on 2021-06-30 and 165,395 from
-- 2021-07-01. population_date stays the day the people were counted.
--
-- The settlement type is no longer stored: registry.settlement_type derives
-- it from the kind and the figures a district answers with, so it follows a
-- merger (docs/registry.md, "Settlement types").
--
-- Forward-only. Existing data is carried over: every district's figures as
-- one row over its whole validity, then every territorial change recorded so
-- far applied in the order of its effective date, so a database seeded
-- before this migration answers the same as one seeded after it.
-- ---------------------------------------------------------------------------

CREATE TABLE registry.district_figures (
    ags                text NOT NULL REFERENCES registry.districts (ags),
    valid_from         date NOT NULL,
    valid_to           date,
    area_km2           numeric(10, 2) NOT NULL CHECK (area_km2 > 0),
    population         bigint NOT NULL CHECK (population >= 0),
    population_male    bigint NOT NULL CHECK (population_male >= 0),
    population_female  bigint NOT NULL CHECK (population_female >= 0),
    -- As published for a counted territory; for a merged one recomputed
    -- from the merged figures: round(population / area_km2), half away from
    -- zero, as Destatis rounds (every one of the 401 published densities of
    -- 2018 equals that).
    population_per_km2 bigint NOT NULL CHECK (population_per_km2 >= 0),
    -- The day the people were counted (the reference date), not the day the
    -- territory took this shape.
    population_date    date NOT NULL,
    PRIMARY KEY (ags, valid_from),
    CHECK (valid_to IS NULL OR valid_to >= valid_from),
    CHECK (population_male + population_female = population)
);

INSERT INTO registry.district_figures (ags, valid_from, valid_to, area_km2, population,
                                       population_male, population_female,
                                       population_per_km2, population_date)
SELECT ags, valid_from, valid_to, area_km2, population, population_male, population_female,
       population_per_km2, population_date
FROM registry.districts;

-- The settlement type of a district of kind with these figures (the rule of
-- docs/registry.md; the thresholds are the BBSR's). Inlined by the planner.
CREATE FUNCTION registry.settlement_type(kind text, population bigint, per_km2 bigint)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN kind = 'kreisfreie_stadt' AND population >= 100000 THEN 'kreisfreie_grossstadt'
        WHEN kind = 'kreisfreie_stadt' OR per_km2 >= 150 THEN 'staedtischer_kreis'
        WHEN per_km2 >= 100 THEN 'laendlicher_kreis_verdichtung'
        ELSE 'duenn_besiedelt'
    END
$$;

-- Moves the area and the people of predecessor into successor from
-- effective on: the predecessor's figures end the day before; the
-- successor's row that covers effective is split there, and every row of it
-- from effective on gains the predecessor's figures of its last day (so a
-- merger recorded after a later one still counts in both). Density is
-- recomputed; the reference date is the older of the two (the sum is only
-- as recent as its oldest part). The caller has checked the districts
-- (docs/registry.md, "Territorial changes"); what does not fit raises.
CREATE FUNCTION registry.merge_district_figures(predecessor text, successor text,
                                                effective date)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    last_day constant date := effective - 1;
    gone registry.district_figures;
BEGIN
    SELECT * INTO gone FROM registry.district_figures f
    WHERE f.ags = predecessor AND f.valid_from <= last_day
      AND (f.valid_to IS NULL OR f.valid_to >= last_day);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'district % has no figures on %', predecessor, last_day;
    END IF;
    IF EXISTS (SELECT 1 FROM registry.district_figures f
               WHERE f.ags = predecessor AND f.valid_from > last_day) THEN
        RAISE EXCEPTION 'district % has figures after %, the day it ends', predecessor, last_day;
    END IF;
    UPDATE registry.district_figures f SET valid_to = last_day
    WHERE f.ags = predecessor AND f.valid_from = gone.valid_from;

    INSERT INTO registry.district_figures (ags, valid_from, valid_to, area_km2, population,
                                           population_male, population_female,
                                           population_per_km2, population_date)
    SELECT f.ags, effective, f.valid_to, f.area_km2, f.population, f.population_male,
           f.population_female, f.population_per_km2, f.population_date
    FROM registry.district_figures f
    WHERE f.ags = successor AND f.valid_from < effective
      AND (f.valid_to IS NULL OR f.valid_to >= effective);
    UPDATE registry.district_figures f SET valid_to = last_day
    WHERE f.ags = successor AND f.valid_from < effective
      AND (f.valid_to IS NULL OR f.valid_to >= effective);

    UPDATE registry.district_figures f
    SET area_km2 = f.area_km2 + gone.area_km2,
        population = f.population + gone.population,
        population_male = f.population_male + gone.population_male,
        population_female = f.population_female + gone.population_female,
        population_per_km2 = round((f.population + gone.population)
                                   / (f.area_km2 + gone.area_km2))::bigint,
        population_date = least(f.population_date, gone.population_date)
    WHERE f.ags = successor AND f.valid_from >= effective;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'district % has no figures on %', successor, effective;
    END IF;
END
$$;

DO $$
DECLARE
    change record;
BEGIN
    FOR change IN SELECT c.ags, c.successor_ags, c.effective
                  FROM registry.territorial_changes c ORDER BY c.effective, c.id
    LOOP
        PERFORM registry.merge_district_figures(change.ags, change.successor_ags,
                                                change.effective);
    END LOOP;
END
$$;

ALTER TABLE registry.districts
    DROP COLUMN area_km2,
    DROP COLUMN population,
    DROP COLUMN population_male,
    DROP COLUMN population_female,
    DROP COLUMN population_per_km2,
    DROP COLUMN population_date,
    DROP COLUMN settlement_type;
