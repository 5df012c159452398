/* ---------------------------------------------------------------------------
 * report.c: what every report does the same way (reporting.h): its options,
 * its rights, its snapshot, its data state, and its end (suppression,
 * charts, rendering).
 * ---------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reporting.h"
#include "th_answer.h"
#include "th_auth.h"
#include "th_date.h"
#include "th_db.h"
#include "th_error.h"
#include "th_field.h"
#include "th_period.h"
#include "th_status.h"
#include "th_wire.h"

#define S_THRESHOLD_MAX 100
#define S_PERIODS_MAX 60

const char *
report_check_options(th_call_t *call, const report_options_t *options, int *rc)
{
    static const report_options_t none = TEILHABE__REPORTING__V1__RENDER_OPTIONS__INIT;
    const report_options_t *o = options != NULL ? options : &none;
    const char *lang = th_field_lang(call, "render.lang", o->lang, rc);
    if (lang == NULL)
        return NULL;
    if (o->format < TEILHABE__REPORTING__V1__FORMAT__FORMAT_NONE ||
        o->format > TEILHABE__REPORTING__V1__FORMAT__FORMAT_JSON) {
        *rc = th_answer_invalid(call, "render.format",
                                "%d is not a format: FORMAT_NONE (0), FORMAT_HTML (1), "
                                "FORMAT_CSV (2) or FORMAT_JSON (3)",
                                (int) o->format);
        return NULL;
    }
    if (o->section[0] != '\0' &&
        (o->format != TEILHABE__REPORTING__V1__FORMAT__FORMAT_CSV ||
         th_field_line(call, "render.section", o->section, 1, 64) != TH_OK)) {
        *rc = o->format != TEILHABE__REPORTING__V1__FORMAT__FORMAT_CSV
                  ? th_answer_invalid(call, "render.section",
                                      "a section is chosen only for FORMAT_CSV (one table a "
                                      "file); HTML and JSON hold every section")
                  : TH_INVALID_ARGUMENT;
        return NULL;
    }
    const reporting_state_t *st = th_call_state(call);
    if (o->suppression_threshold != 0 &&
        (o->suppression_threshold < st->suppression_threshold ||
         o->suppression_threshold > S_THRESHOLD_MAX)) {
        *rc = th_answer_invalid(call, "render.suppression_threshold",
                                "%d: counts of people are suppressed below %d here; a report "
                                "may raise that (up to %d), never lower it",
                                (int) o->suppression_threshold, st->suppression_threshold,
                                S_THRESHOLD_MAX);
        return NULL;
    }
    return lang;
}

int
report_need_aggregates(th_call_t *call, const char *state_code, const char *what)
{
    int rc = th_auth_need_principal(call);
    if (rc != TH_OK)
        return rc;
    if (th_auth_reads_aggregates(th_call_principal(call), state_code))
        return TH_OK;
    return th_auth_deny(call, what,
                        state_code[0] != '\0'
                            ? "the ministry, an analyst or a manager of that Land, or admin"
                            : "a ministry, an analyst without a Land, or admin");
}

const char *
report_as_of(th_call_t *call, const char *as_of, int *rc)
{
    *rc = TH_OK;
    if (as_of[0] == '\0') {
        char today[TH_DATE_LEN + 1];
        th_date_today(today);
        return th_call_strdup(call, today);
    }
    *rc = th_field_date(call, "as_of", as_of, false);
    return *rc == TH_OK ? as_of : NULL;
}

int
report_snapshot_begin(rb_t *b)
{
    th_db_t *db = th_call_db(b->call);
    if (db == NULL)
        return th_call_error(b->call, TH_UNAVAILABLE,
                             "the reporting service has no database connection");
    int64_t ms = th_call_remaining_ms(b->call);
    if (th_db_begin(db, ms > 0 ? ms : 1) != 0)
        return th_answer_db_failure(b->call, "open a snapshot of the data");
    PGresult *r = th_db_exec(db,
                             "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", 0,
                             NULL);
    if (r == NULL)
        return report_fail(b, "open a snapshot of the data");
    PQclear(r);
    r = report_query(b,
                     "SELECT to_char(now() AT TIME ZONE 'UTC', "
                     "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
                     0, NULL);
    if (r == NULL)
        return report_fail(b, "open a snapshot of the data");
    b->report->state->generated_at = th_call_strdup(b->call, PQgetvalue(r, 0, 0));
    PQclear(r);
    return TH_OK;
}

PGresult *
report_query(rb_t *b, const char *sql, int nparams, const char *const *params)
{
    return th_db_exec(th_call_db(b->call), sql, nparams, params);
}

int
report_fail(rb_t *b, const char *what)
{
    int rc = th_answer_db_failure(b->call, rb_printf(b, "read %s", what));
    th_db_rollback(th_call_db(b->call));
    return rc;
}

char *
report_str(const rb_t *b, const PGresult *r, int row, int col)
{
    return th_call_strdup(b->call, PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

int64_t
report_int(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

bool
report_bool(const PGresult *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

/* The period ids from..to ("{2023,2024,2025}"), or NULL with the answer. */
static char *
s_period_array(rb_t *b, const char *from, const char *to, int *rc)
{
    th_period_t p, last;
    *rc = TH_OK;
    if (th_period_parse(from, &p) != 0 || th_period_parse(to, &last) != 0) {
        *rc = th_call_error(b->call, TH_INTERNAL, "unchecked period");
        return NULL;
    }
    char *out = rb_printf(b, "{");
    for (int n = 0;; n++) {
        char id[TH_PERIOD_LEN + 1];
        th_period_format(&p, id);
        out = rb_printf(b, "%s%s%s", out, n > 0 ? "," : "", id);
        if (th_period_compare(&p, &last) >= 0 || n + 1 >= S_PERIODS_MAX)
            break;
        if (th_period_next(&p, &p) != 0)
            break;
    }
    return rb_printf(b, "%s}", out);
}

int
report_data_state(rb_t *b, const char *scope, const char *as_of, const char *period_from,
                  const char *period_to)
{
    Teilhabe__Reporting__V1__ReportState *st = b->report->state;
    /* copies: callers pass their stack; the report outlives the handler */
    st->period_from = rb_printf(b, "%s", period_from);
    st->period_to = rb_printf(b, "%s", period_to);
    int rc;
    const char *periods = s_period_array(b, period_from, period_to, &rc);
    if (periods == NULL)
        return rc;
    const char *params[] = {scope, as_of, periods};
    PGresult *r = report_query(
        b,
        "SELECT d.ags FROM reporting.districts d "
        "WHERE ($1 = '' OR d.state_code = $1 OR d.ags = $1) "
        "AND d.valid_from <= $2::date AND (d.valid_to IS NULL OR d.valid_to >= $2::date) "
        "AND (SELECT count(*) FROM reporting.submissions s WHERE s.ags = d.ags "
        "     AND s.status = 'approved' AND s.period = ANY ($3::text[])) "
        "    < cardinality($3::text[]) "
        "ORDER BY d.ags",
        3, params);
    if (r == NULL)
        return report_fail(b, "the submissions");
    const int n = PQntuples(r);
    st->data_state = n == 0 ? TEILHABE__REPORTING__V1__DATA_STATE__DATA_STATE_FINAL
                            : TEILHABE__REPORTING__V1__DATA_STATE__DATA_STATE_PROVISIONAL;
    st->open_districts = th_call_alloc(b->call, ((size_t) n + 1) * sizeof *st->open_districts);
    for (int i = 0; i < n; i++)
        st->open_districts[i] = th_call_strdup(b->call, PQgetvalue(r, i, 0));
    st->n_open_districts = (size_t) n;
    PQclear(r);
    return TH_OK;
}

void
report_note_illustrative(rb_t *b)
{
    rb_note(b, "illustrative", "I",
            "Illustrativ: aus Parametern berechnet, deren Quelle nicht bestätigt ist "
            "(data/programmes/README.md); kein zugesagter Betrag.",
            "Illustrative: computed from parameters whose source is not confirmed "
            "(data/programmes/README.md); not a committed amount.");
}

/* Whether any cell or row of the report carries mark. */
static bool
s_uses_mark(const report_t *rep, const char *mark)
{
    for (size_t s = 0; s < rep->n_sections; s++) {
        const report_table_t *t = rep->sections[s]->table;
        for (size_t i = 0; t != NULL && i < t->n_rows; i++) {
            const report_row_t *row = t->rows[i];
            for (size_t m = 0; m < row->n_marks; m++)
                if (strcmp(row->marks[m], mark) == 0)
                    return true;
            for (size_t c = 0; c < row->n_cells; c++)
                for (size_t m = 0; m < row->cells[c]->n_marks; m++)
                    if (strcmp(row->cells[c]->marks[m], mark) == 0)
                        return true;
        }
    }
    return false;
}

/* A report is built from the other services' text: before it goes out,
 * the check every receiver makes (no NUL, valid UTF-8, within the limits),
 * so that a bad value is an error here, with its field, not a reply no
 * client can read. */
static int
s_check_wire(rb_t *b, report_t *rep, ProtobufCMessage **response)
{
    const size_t len = protobuf_c_message_get_packed_size(&rep->base);
    uint8_t *buf = malloc(len > 0 ? len : 1);
    if (buf == NULL)
        return th_call_error(b->call, TH_RESOURCE_EXHAUSTED, "out of memory");
    protobuf_c_message_pack(&rep->base, buf);
    th_wire_fault_t fault;
    const int rc = th_wire_check_strings(rep->base.descriptor, buf, len, &fault);
    free(buf);
    if (rc != 0)
        return th_call_error(b->call, TH_INTERNAL,
                             "the report could not be sent: its field %s %s", fault.path,
                             fault.problem);
    *response = &rep->base;
    return TH_OK;
}

int
report_finish(rb_t *b, const report_options_t *options, const char *scope,
              const char *as_of, const char *file_stem, ProtobufCMessage **response)
{
    th_db_t *db = th_call_db(b->call);
    if (th_db_in_transaction(db) && th_db_commit(db) != 0)
        return report_fail(b, "the data (closing the snapshot)");
    report_t *rep = b->report;
    Teilhabe__Reporting__V1__ReportState *st = rep->state;
    const reporting_state_t *state = th_call_state(b->call);
    const int threshold = options != NULL && options->suppression_threshold > 0
                              ? options->suppression_threshold
                              : state->suppression_threshold;
    st->scope = rb_printf(b, "%s", scope);
    st->as_of = rb_printf(b, "%s", as_of);
    st->version = (char *) TH_VERSION;
    st->suppression_threshold = threshold;
    if (st->data_state == TEILHABE__REPORTING__V1__DATA_STATE__DATA_STATE_UNSPECIFIED)
        st->data_state = TEILHABE__REPORTING__V1__DATA_STATE__DATA_STATE_NOT_PERIODIC;
    int suppressed = 0;
    for (size_t s = 0; s < rep->n_sections; s++)
        if (rep->sections[s]->table != NULL)
            suppressed += report_suppress(rep->sections[s]->table, threshold);
    st->suppressed_cells = suppressed;
    for (size_t s = 0; s < rep->n_sections; s++)
        rb_chart_fill(b, rep->sections[s]);
    st->example_data = s_uses_mark(rep, "example");
    st->illustrative = s_uses_mark(rep, "illustrative");
    if (st->example_data)
        rb_note(b, "example", "B",
                "Beispieldaten: erfundene Daten des Beispielszenarios (ops/example), keine "
                "amtlichen Angaben.",
                "Example data: made up by the example scenario (ops/example), not official "
                "figures.");
    if (suppressed > 0)
        rb_note(b, "suppressed", ".",
                rb_printf(b,
                          "Geheimhaltung: Fallzahlen von Personen unter %d werden nicht "
                          "ausgewiesen, ebenso so viele weitere Werte, dass sich keiner aus "
                          "Summen zurückrechnen lässt (%d Werte).",
                          threshold, suppressed),
                rb_printf(b,
                          "Disclosure control: counts of people below %d are not shown, nor "
                          "as many further values as it takes that none can be recomputed "
                          "from totals (%d values).",
                          threshold, suppressed));
    static const report_options_t none = TEILHABE__REPORTING__V1__RENDER_OPTIONS__INIT;
    const report_options_t *o = options != NULL ? options : &none;
    if (o->format != TEILHABE__REPORTING__V1__FORMAT__FORMAT_NONE) {
        static const char *const ext[] = {"", "html", "csv", "json"};
        char err[256] = "";
        char *out = NULL;
        size_t len = 0;
        const char *media = NULL;
        int rc = report_render(rep, o->format, o->section, &out, &len, &media, err,
                               sizeof err);
        if (rc == TH_EINVAL)
            return th_answer_invalid(b->call, "render.section", "%s", err);
        if (rc != 0)
            return th_call_error(b->call, TH_INTERNAL, "could not render the report: %s",
                                 err);
        rep->content.data = th_call_alloc(b->call, len + 1);
        memcpy(rep->content.data, out, len);
        rep->content.len = len;
        free(out);
        rep->media_type = (char *) media;
        rep->file_name = rb_printf(b, "%s-%s.%s", file_stem, as_of, ext[o->format]);
    }
    return s_check_wire(b, rep, response);
}

/* Terms of the data (tokens of the .proto enums and of the tables) in the
 * report's language. */
static const struct {
    const char *token, *de, *en;
} s_terms[] = {
    {"work_and_training", "Arbeit und Ausbildung", "Work and training"},
    {"education", "Bildung", "Education"},
    {"language", "Sprache", "Language"},
    {"housing", "Wohnen", "Housing"},
    {"health", "Gesundheit", "Health"},
    {"political_participation", "Politische Teilhabe", "Political participation"},
    {"culture_sports_leisure", "Kultur, Sport und Freizeit", "Culture, sports and leisure"},
    {"intercultural_opening", "Interkulturelle Öffnung", "Intercultural opening"},
    {"anti_discrimination", "Antidiskriminierung", "Anti-discrimination"},
    {"neighbourhood_life", "Zusammenleben im Quartier", "Neighbourhood life"},
    {"all_residents", "Alle Einwohner", "All residents"},
    {"newcomers", "Neuzugewanderte", "Newcomers"},
    {"group", "Bestimmte Gruppe", "A specific group"},
    {"participation", "teilhabeorientiert", "participation-oriented"},
    {"unclear", "unklar", "unclear"},
    {"landkreis", "Landkreis", "Landkreis (rural district)"},
    {"kreisfreie_stadt", "Kreisfreie Stadt", "Kreisfreie Stadt (city)"},
    {"kreisfreie_grossstadt", "Kreisfreie Großstadt", "Independent city"},
    {"staedtischer_kreis", "Städtischer Kreis", "Urban district"},
    {"laendlicher_kreis_verdichtung", "Ländlicher Kreis mit Verdichtungsansätzen",
     "Rural district with densification"},
    {"duenn_besiedelt", "Dünn besiedelter ländlicher Kreis", "Sparsely populated rural district"},
    {"eligible", "förderfähig", "eligible"},
    {"not_eligible", "nicht förderfähig", "not eligible"},
    {"not_applicable", "nicht anwendbar", "not applicable"},
    {"submitted", "eingereicht", "submitted"},
    {"approved", "freigegeben", "approved"},
    {"returned", "zurückgegeben", "returned"},
    {"reopened", "wieder geöffnet", "reopened"},
    {"draft", "Entwurf", "draft"},
    {"planned", "geplant", "planned"},
    {"active", "laufend", "active"},
    {"completed", "abgeschlossen", "completed"},
    {"cancelled", "abgebrochen", "cancelled"},
    {"total", "insgesamt", "total"},
    {"with_migration_history", "mit Einwanderungsgeschichte", "with migration history"},
    {"without_migration_history", "ohne Einwanderungsgeschichte",
     "without migration history"},
};

const char *
report_orientation(const rb_t *b, const char *orientation)
{
    if (strcmp(orientation, "newcomers") == 0)
        return rb_l(b, "auf Neuzugewanderte ausgerichtet", "newcomer-oriented");
    return report_term(b, orientation);
}

const char *
report_term(const rb_t *b, const char *token)
{
    for (size_t i = 0; i < sizeof s_terms / sizeof s_terms[0]; i++)
        if (strcmp(s_terms[i].token, token) == 0)
            return rb_l(b, s_terms[i].de, s_terms[i].en);
    return token;
}
