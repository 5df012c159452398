/* ---------------------------------------------------------------------------
 * programmes.c: programmes and their rule sets: ListProgrammes and
 * GetProgramme (every authenticated caller: programmes are public),
 * ValidateRuleSet (every authenticated caller; stores nothing),
 * PublishRuleSet (the admin, or the ministry of the rule set's Land), the
 * rule set in force on a date, and the shipped rule sets
 * (the YAML files of data/programmes) published at start-up.
 * ---------------------------------------------------------------------------
 */
#include "eligibility.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "th_answer.h"
#include "th_auth.h"
#include "th_check.h"
#include "th_error.h"
#include "th_field.h"
#include "th_log.h"
#include "th_pbjson.h"
#include "th_status.h"

void
eligibility_version_clear(eligibility_version_t *v)
{
    rules_set_destroy(&v->rules);
    memset(v, 0, sizeof *v);
}

int
eligibility_check_code(th_call_t *call, const char *field, const char *code)
{
    const size_t len = strlen(code);
    bool ok = len >= 2 && len <= 40 && code[0] != '-';
    for (size_t i = 0; ok && i < len; i++)
        ok = (code[i] >= 'a' && code[i] <= 'z') || (code[i] >= '0' && code[i] <= '9') ||
             code[i] == '-';
    if (!ok)
        return th_answer_invalid(call, field,
                                 "must be a programme code: 2 to 40 of a-z, 0-9 and '-', "
                                 "as ListProgrammes lists them (\"nrw-ki\")");
    return TH_OK;
}

/* The stored text of version `version` of code parsed into out (hash and
 * Land with it). INTERNAL when it does not parse: a release whose engine
 * refuses what an earlier one published. */
static int
s_parse_stored(th_call_t *call, const char *code, int32_t version, const char *text,
               char *hash, char *state, eligibility_version_t *out)
{
    rules_error_t errors[1];
    size_t n = 0;
    out->rules = rules_parse(text, strlen(text), errors, 1, &n);
    if (out->rules == NULL) {
        th_log_error(th_call_id(call), "a stored rule set does not parse",
                     "programme=%s version=%d error=\"%s\"", code, (int) version,
                     n > 0 ? errors[0].message : "?");
        return th_call_error(
            call, TH_INTERNAL,
            "version %d of programme %s does not parse with this release of "
            "the service",
            (int) version, code);
    }
    out->programme_code = th_call_strdup(call, code);
    out->state_code = state;
    out->version = version;
    out->hash = hash;
    return TH_OK;
}

int
eligibility_version_at(th_call_t *call, const char *code, const char *as_of,
                       eligibility_version_t *out, bool *found, char first[TH_DATE_LEN + 1])
{
    memset(out, 0, sizeof *out);
    *found = false;
    char *hash = NULL, *text = NULL, *state = NULL;
    int32_t version = 0;
    int rc = eligibility_store_version_at(call, code, as_of, &version, &hash, &text, &state,
                                          first);
    if (rc == TH_ENOTFOUND)
        return TH_OK;
    if (rc != 0)
        return th_answer_db_failure(call, "read the rule set");
    *found = true;
    return s_parse_stored(call, code, version, text, hash, state, out);
}

int
eligibility_version_number(th_call_t *call, const char *code, int32_t version,
                           eligibility_version_t *out)
{
    memset(out, 0, sizeof *out);
    char *hash = NULL, *text = NULL;
    if (eligibility_store_version(call, code, version, &hash, &text) != 0)
        return th_answer_db_failure(call, "read the rule set");
    return s_parse_stored(call, code, version, text, hash, th_call_strdup(call, ""), out);
}

int
eligibility_version_in_force(th_call_t *call, const char *code, const char *as_of,
                             eligibility_version_t *out)
{
    char first[TH_DATE_LEN + 1];
    bool found = false;
    int rc = eligibility_version_at(call, code, as_of, out, &found, first);
    if (rc != TH_OK || found)
        return rc;
    if (first[0] == '\0')
        return th_call_error(call, TH_NOT_FOUND,
                             "no programme has the code \"%s\" (ListProgrammes lists them)",
                             code);
    if (strcmp(as_of, first) < 0)
        return th_call_error(call, TH_FAILED_PRECONDITION,
                             "programme %s starts on %s: there is no rule set for %s; ask "
                             "about a date on or after %s",
                             code, first, as_of, first);
    return th_call_error(call, TH_FAILED_PRECONDITION,
                         "no rule set of programme %s is in force on %s (GetProgramme "
                         "lists its versions and their dates)",
                         code, as_of);
}

/* --- reads ----------------------------------------------------------------------- */

ELIGIBILITY_HANDLER(eligibility_list_programmes)
{
    const Teilhabe__Eligibility__V1__ListProgrammesRequest *req = (const void *) request;
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK ||
        (rc = th_field_land(call, "state_code", req->state_code, true)) != TH_OK)
        return rc;
    const char *lang = eligibility_lang(call, req->lang, &rc);
    if (lang == NULL)
        return rc;
    Teilhabe__Eligibility__V1__ListProgrammesResponse *resp =
        th_call_alloc(call, sizeof *resp);
    teilhabe__eligibility__v1__list_programmes_response__init(resp);
    if (eligibility_store_programmes(call, req->state_code[0] ? req->state_code : NULL,
                                     lang, &resp->programmes, &resp->n_programmes) != 0)
        return th_answer_db_failure(call, "list the programmes");
    *response = &resp->base;
    return TH_OK;
}

ELIGIBILITY_HANDLER(eligibility_get_programme)
{
    const Teilhabe__Eligibility__V1__GetProgrammeRequest *req = (const void *) request;
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK ||
        (rc = eligibility_check_code(call, "code", req->code)) != TH_OK)
        return rc;
    const char *lang = eligibility_lang(call, req->lang, &rc);
    if (lang == NULL)
        return rc;
    programme_t *p = NULL;
    rc = eligibility_store_programme(call, req->code, lang, req->include_text, &p);
    if (rc == TH_ENOTFOUND)
        return th_call_error(call, TH_NOT_FOUND,
                             "no programme has the code \"%s\" (ListProgrammes lists them)",
                             req->code);
    if (rc != 0)
        return th_answer_db_failure(call, "read the programme");
    *response = &p->base;
    return TH_OK;
}

/* --- validate and publish ------------------------------------------------------------- */

/* The text, parsed; NULL with resp's errors filled (resp may be NULL).
 * INVALID_ARGUMENT for a text that is too long. */
static rules_set_t *
s_parse(th_call_t *call, const char *text,
        Teilhabe__Eligibility__V1__ValidateRuleSetResponse *resp, int *rc)
{
    *rc = TH_OK;
    const size_t len = strlen(text);
    if (len == 0) {
        *rc = th_answer_invalid(call, "text", "is empty: send the rule set's YAML text");
        return NULL;
    }
    if (len > RULES_TEXT_MAX) {
        *rc = th_answer_invalid(call, "text", "is %zu bytes; a rule set has at most %d",
                                len, RULES_TEXT_MAX);
        return NULL;
    }
    rules_error_t errors[RULES_ERRORS_MAX];
    size_t n = 0;
    rules_set_t *rules = rules_parse(text, len, errors, RULES_ERRORS_MAX, &n);
    if (rules != NULL || resp == NULL)
        return rules;
    resp->errors = th_call_alloc(call, (n > 0 ? n : 1) * sizeof *resp->errors);
    for (size_t i = 0; i < n; i++) {
        Teilhabe__Eligibility__V1__RuleSetError *e = th_call_alloc(call, sizeof *e);
        teilhabe__eligibility__v1__rule_set_error__init(e);
        e->line = errors[i].line;
        e->column = errors[i].column;
        e->field = th_call_strdup(call, errors[i].field);
        e->message = th_call_strdup(call, errors[i].message);
        resp->errors[resp->n_errors++] = e;
    }
    return NULL;
}

int
eligibility_parse_text(th_call_t *call, const char *text, rules_set_t **out)
{
    Teilhabe__Eligibility__V1__ValidateRuleSetResponse check =
        TEILHABE__ELIGIBILITY__V1__VALIDATE_RULE_SET_RESPONSE__INIT;
    int rc;
    *out = s_parse(call, text, &check, &rc);
    if (rc != TH_OK || *out != NULL)
        return rc;
    for (size_t i = 0; i < check.n_errors; i++)
        th_call_violation(call, "text", "line %d, column %d, %s: %s",
                          (int) check.errors[i]->line, (int) check.errors[i]->column,
                          check.errors[i]->field, check.errors[i]->message);
    const Teilhabe__Eligibility__V1__RuleSetError *e = check.errors[0];
    return th_call_error(call, TH_INVALID_ARGUMENT,
                         "the rule set is not valid (%zu problem%s; ValidateRuleSet lists "
                         "them); the first, line %d, %s: %s",
                         check.n_errors, check.n_errors == 1 ? "" : "s", (int) e->line,
                         e->field, e->message);
}

ELIGIBILITY_HANDLER(eligibility_validate)
{
    const Teilhabe__Eligibility__V1__ValidateRuleSetRequest *req = (const void *) request;
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK)
        return rc;
    Teilhabe__Eligibility__V1__ValidateRuleSetResponse *resp =
        th_call_alloc(call, sizeof *resp);
    teilhabe__eligibility__v1__validate_rule_set_response__init(resp);
    rules_set_t *rules = s_parse(call, req->text, resp, &rc);
    if (rc != TH_OK)
        return rc;
    if (rules != NULL) {
        resp->valid = true;
        resp->programme_code = th_call_strdup(call, rules_programme_code(rules));
        resp->state_code = th_call_strdup(call, rules_programme_state(rules));
        resp->valid_from = th_call_strdup(call, rules_valid_from(rules));
        resp->valid_to = th_call_strdup(call, rules_valid_to(rules));
        resp->hash = th_call_strdup(call, rules_hash(rules));
        size_t n = 0;
        const rules_need_t *needs = rules_needs(rules, &n);
        resp->facts = th_call_alloc(call, (n > 0 ? n : 1) * sizeof *resp->facts);
        for (size_t i = 0; i < n; i++)
            resp->facts[resp->n_facts++] = th_call_strdup(call, needs[i].key);
        rules_set_destroy(&rules);
    }
    *response = &resp->base;
    return TH_OK;
}

ELIGIBILITY_HANDLER(eligibility_publish)
{
    const Teilhabe__Eligibility__V1__PublishRuleSetRequest *req = (const void *) request;
    const th_principal_t *p = th_call_principal(call);
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK)
        return rc;
    if (!th_auth_has_role(p, "admin") && !th_auth_has_role(p, "ministry"))
        return th_auth_deny(call, "publishing a rule set",
                            "role admin, or ministry of the rule set's Land");
    rules_set_t *rules = NULL;
    if ((rc = eligibility_parse_text(call, req->text, &rules)) != TH_OK)
        return rc;
    const char *state = th_call_strdup(call, rules_programme_state(rules));
    const char *code = th_call_strdup(call, rules_programme_code(rules));
    if (!th_auth_has_role(p, "admin") &&
        (rc = th_auth_need_ministry_of(
             call, state,
             th_call_printf(call, "publishing a rule set for Land %s", state))) != TH_OK)
        goto cleanup;
    {
        const int begin = th_call_begin_write(call);
        if (begin == TH_CALL_REPLAY) {
            rc = TH_OK;
            goto cleanup;
        }
        if ((rc = begin) != TH_OK)
            goto cleanup;
    }
    int32_t version = 0;
    bool same = false;
    char why[512];
    rc = eligibility_store_publish(th_call_db(call), rules, req->text, p->id, &version,
                                   &same, why, sizeof why);
    if (rc == TH_ESTATE) {
        rc = th_call_error(call, same ? TH_ALREADY_EXISTS : TH_FAILED_PRECONDITION, "%s",
                           why);
        goto cleanup;
    }
    if (rc != 0) {
        rc = th_answer_db_failure(call, "publish the rule set");
        goto cleanup;
    }
    programme_t *prog = NULL;
    if (eligibility_store_programme(call, code, "de", false, &prog) != 0) {
        rc = th_answer_db_failure(call, "read the programme back");
        goto cleanup;
    }
    if ((rc = th_call_record(
             call, th_call_printf(call, "programmes/%s/versions/%d", code, (int) version),
             NULL, &prog->base, "ruleset.published", &prog->base)) != TH_OK)
        goto cleanup;
    *response = &prog->base;
cleanup:
    rules_set_destroy(&rules);
    return rc;
}

/* --- the shipped rule sets -------------------------------------------------------------
 */

/* Reads path (at most RULES_TEXT_MAX bytes) into a new string. */
static char *
s_read_file(const char *path, char *errbuf, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(errbuf, errlen, "could not open \"%s\": %s", path, strerror(errno));
        return NULL;
    }
    char *text = malloc(RULES_TEXT_MAX + 2);
    size_t len = text != NULL ? fread(text, 1, RULES_TEXT_MAX + 1, f) : 0;
    const bool bad = text == NULL || ferror(f) || len > RULES_TEXT_MAX;
    fclose(f);
    if (bad) {
        snprintf(errbuf, errlen, "could not read \"%s\" (more than %d bytes?)", path,
                 RULES_TEXT_MAX);
        free(text);
        return NULL;
    }
    text[len] = '\0';
    return text;
}

static int
s_cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Publishes one file as "seed" in its own transaction on db. */
static int
s_seed_one(th_db_t *db, const char *path, int *published, char *errbuf, size_t errlen)
{
    char *text = s_read_file(path, errbuf, errlen);
    if (text == NULL)
        return TH_EIO;
    rules_error_t e[1];
    size_t n = 0;
    rules_set_t *rules = rules_parse(text, strlen(text), e, 1, &n);
    int rc = 0;
    if (rules == NULL) {
        snprintf(errbuf, errlen, "%s:%d:%d: %s: %s", path, e[0].line, e[0].column,
                 e[0].field, e[0].message);
        rc = TH_EINVAL;
        goto cleanup;
    }
    if (th_db_begin(db, 0) != 0) {
        snprintf(errbuf, errlen, "could not begin: %s", th_db_error(db));
        rc = TH_EDB;
        goto cleanup;
    }
    int32_t version = 0;
    bool same = false;
    char why[512];
    rc = eligibility_store_publish(db, rules, text, "seed", &version, &same, why,
                                   sizeof why);
    if (rc == TH_ESTATE) {
        th_db_rollback(db);
        if (!same)
            th_log_warn(0, "shipped rule set not published", "file=\"%s\" reason=\"%s\"",
                        path, why);
        rc = 0;
        goto cleanup;
    }
    char resource[128];
    snprintf(resource, sizeof resource, "programmes/%s/versions/%d",
             rules_programme_code(rules), (int) version);
    const th_audit_entry_t entry = {.principal_id = "seed",
                                    .principal_role = "system",
                                    .call_id = 0,
                                    .method = "seed",
                                    .resource = resource,
                                    .before_json = NULL,
                                    .after_json = "{}"};
    if (rc != 0 || th_db_audit(db, &entry) != 0 ||
        th_db_outbox_append(db, ELIGIBILITY_SCHEMA, "ruleset.published", resource, NULL, 0,
                            NULL) != 0 ||
        th_db_commit(db) != 0) {
        snprintf(errbuf, errlen, "could not publish \"%s\": %s", path, th_db_error(db));
        th_db_rollback(db);
        rc = TH_EDB;
        goto cleanup;
    }
    (*published)++;
    th_log_info(0, "shipped rule set published", "file=\"%s\" programme=%s version=%d",
                path, rules_programme_code(rules), (int) version);
cleanup:
    rules_set_destroy(&rules);
    free(text);
    return rc;
}

int
eligibility_seed_programmes(th_db_t *db, const char *dir, int *published, char *errbuf,
                            size_t errlen)
{
    *published = 0;
    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(errbuf, errlen, "could not open the directory \"%s\": %s", dir,
                 strerror(errno));
        return TH_EIO;
    }
    /* In name order, so the start-up publishes the same way every time. */
    char *names[256];
    size_t n = 0;
    for (struct dirent *ent = readdir(d); ent != NULL && n < 256; ent = readdir(d)) {
        const size_t len = strlen(ent->d_name);
        if (len > 5 && strcmp(ent->d_name + len - 5, ".yaml") == 0 && ent->d_name[0] != '.')
            names[n++] = strdup(ent->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, s_cmp_names);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char path[1024];
        if (rc == 0 && names[i] != NULL) {
            snprintf(path, sizeof path, "%s/%s", dir, names[i]);
            rc = s_seed_one(db, path, published, errbuf, errlen);
        } else if (names[i] == NULL) {
            snprintf(errbuf, errlen, "out of memory listing \"%s\"", dir);
            rc = TH_ENOMEM;
        }
        free(names[i]);
    }
    return rc;
}
