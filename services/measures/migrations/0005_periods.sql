-- ---------------------------------------------------------------------------
-- 0005_periods.sql: what a district records per period besides indicator
-- values (its process self-assessment and the reach of its measures) and
-- the submission and approval of a period (docs/measures.md, "Periods").
--
-- Periods are the ids of indicator values ("2024", "2024S1", "2024Q3",
-- "2024-05"), stored with their first and last day so that "every period
-- that overlaps an approved one" is a range condition.
-- ---------------------------------------------------------------------------

-- The process questions of the self-assessment. The wording is teilhabe's
-- own, drawn from the three marks of participation-oriented integration
-- work named in the Berlin-Institut's workshop with district experts
-- ("Alle sollen teilhaben", 2021) and from the intercultural opening of the
-- administration; docs/measures.md lists them.
CREATE TABLE measures.assessment_questions (
    code     text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{1,63}$'),
    mark     text NOT NULL,
    text_de  text NOT NULL,
    text_en  text NOT NULL,
    position int NOT NULL UNIQUE
);

INSERT INTO measures.assessment_questions (code, mark, text_de, text_en, position) VALUES
('shared_understanding', 'shared_understanding',
 'Die Verwaltungsspitze und die Fachbereiche teilen ein Verständnis von Integration als Teilhabe aller Einwohnerinnen und Einwohner.',
 'The administration''s leadership and its departments share an understanding of integration as the participation of all residents.', 1),
('concept_in_use', 'shared_understanding',
 'Das Integrationskonzept wird in den Fachbereichen bei Planung und Entscheidungen herangezogen.',
 'The departments use the integration concept when they plan and decide.', 2),
('departments_cooperate', 'transparent_cooperation',
 'Die Fachbereiche (z. B. Jobcenter, Jugendamt, Schulverwaltung, Ausländerbehörde) arbeiten in festen Strukturen zusammen.',
 'The departments (e.g. job centre, youth welfare office, schools administration, immigration office) work together in fixed structures.', 3),
('information_shared', 'transparent_cooperation',
 'Ziele, Maßnahmen und Ergebnisse der Integrationsarbeit sind zwischen den Fachbereichen und nach außen transparent.',
 'Goals, measures and results of integration work are transparent between departments and to the public.', 4),
('measures_open_to_all', 'coexistence',
 'Die Maßnahmen stehen allen offen, die sie brauchen, nicht nur Neuzugewanderten.',
 'The measures are open to everyone who needs them, not only to newcomers.', 5),
('no_competition', 'coexistence',
 'Einwohnerinnen und Einwohner mit und ohne Einwanderungsgeschichte nehmen einander weniger als Konkurrenz wahr.',
 'Residents with and without migration history see each other less as competitors.', 6),
('staff_intercultural', 'intercultural_opening',
 'Die Beschäftigten der Verwaltung sind interkulturell qualifiziert, und die Belegschaft spiegelt die Vielfalt der Bevölkerung.',
 'The administration''s staff are qualified in intercultural work, and the workforce reflects the diversity of the population.', 7),
('services_accessible', 'intercultural_opening',
 'Die Angebote der Verwaltung sind für alle zugänglich (Sprache, Information, Beratung).',
 'The administration''s services are accessible to everyone (language, information, advice).', 8);

-- A district's self-assessment of a period: one row per answered question,
-- and one header row carrying the version (optimistic concurrency).
CREATE TABLE measures.assessments (
    ags          text NOT NULL CHECK (ags ~ '^[0-9]{5}$'),
    state_code   text NOT NULL GENERATED ALWAYS AS (substr(ags, 1, 2)) STORED,
    period       text NOT NULL,
    period_start date NOT NULL,
    period_end   date NOT NULL CHECK (period_end >= period_start),
    version      bigint NOT NULL CHECK (version >= 1),
    updated_by   text NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ags, period)
);

CREATE TABLE measures.assessment_answers (
    ags           text NOT NULL,
    period        text NOT NULL,
    question_code text NOT NULL REFERENCES measures.assessment_questions (code),
    rating        int NOT NULL CHECK (rating BETWEEN 1 AND 4),
    comment       text NOT NULL DEFAULT '',
    PRIMARY KEY (ags, period, question_code),
    FOREIGN KEY (ags, period) REFERENCES measures.assessments (ags, period) ON DELETE CASCADE
);

-- Reach: counts, never persons. A measure that is deleted (only while
-- planned) takes its figures with it.
CREATE TABLE measures.reach (
    measure_id                text NOT NULL REFERENCES measures.measures (id) ON DELETE CASCADE,
    period                    text NOT NULL,
    period_start              date NOT NULL,
    period_end                date NOT NULL CHECK (period_end >= period_start),
    participants_total        bigint NOT NULL CHECK (participants_total BETWEEN 0 AND 1000000000),
    with_migration_history    bigint NOT NULL CHECK (with_migration_history >= 0),
    without_migration_history bigint NOT NULL CHECK (without_migration_history >= 0),
    version                   bigint NOT NULL CHECK (version >= 1),
    updated_by                text NOT NULL,
    updated_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (measure_id, period),
    CHECK (with_migration_history + without_migration_history <= participants_total)
);

-- A period's submission; a district and period without a row is a draft.
CREATE TABLE measures.submissions (
    ags          text NOT NULL CHECK (ags ~ '^[0-9]{5}$'),
    state_code   text NOT NULL GENERATED ALWAYS AS (substr(ags, 1, 2)) STORED,
    period       text NOT NULL,
    period_start date NOT NULL,
    period_end   date NOT NULL CHECK (period_end >= period_start),
    status       text NOT NULL CHECK (status IN ('submitted', 'approved', 'returned', 'reopened')),
    version      bigint NOT NULL CHECK (version >= 1),
    reason       text NOT NULL DEFAULT '',
    submitted_by text NOT NULL DEFAULT '',
    submitted_at timestamptz,
    decided_by   text NOT NULL DEFAULT '',
    decided_at   timestamptz,
    PRIMARY KEY (ags, period)
);
-- The lock check: approved periods of a district overlapping a range of days.
CREATE INDEX submissions_approved_idx ON measures.submissions (ags, period_start, period_end)
    WHERE status = 'approved';
CREATE INDEX submissions_state_idx ON measures.submissions (state_code, period);
