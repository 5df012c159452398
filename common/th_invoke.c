/* ---------------------------------------------------------------------------
 * th_invoke.c: calls from inside a handler to another service, through the
 * broker (th_call_invoke, th_call.h)
 *
 * Each handler thread has its own client connection to the broker's
 * frontend (th_client, one per thread as it must be), made on its first
 * call to another service with the service's own client key (role
 * service). A call goes out with what is left of the handler's own
 * deadline, less a reserve to answer in, and names the principal the
 * handler works for in the metadata teilhabe-on-behalf-of, so the callee's
 * audit row says on whose behalf it wrote. A write carries an idempotency
 * key made from the handler's own key, so a retried outer write repeats
 * its inner writes with the same keys and the callee applies them once.
 * ---------------------------------------------------------------------------
 */
#include "th_call.h"

#include "th_worker_int.h"

#include "th_error.h"
#include "th_log.h"
#include "th_methods.h"
#include "th_status.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kept back from the handler's remaining time, to answer its own caller
 * after the inner call ended: a tenth, at least S_RESERVE_MIN_MS and at
 * most S_RESERVE_MAX_MS. Below S_CALL_MIN_MS left there is no call. */
#define S_RESERVE_MIN_MS 5
#define S_RESERVE_MAX_MS 200
#define S_CALL_MIN_MS 5

/* The thread's client, made on first use. NULL with the call's status set
 * when this service may not call others (no client key configured) or the
 * client cannot be made. */
static th_client_t *
s_client(th_call_t *call, const char *method, int *code)
{
    th_worker_thread_t *thread = call->thread;
    if (thread->client != NULL)
        return thread->client;
    const th_worker_t *worker = thread->worker;
    if (worker->frontend == NULL) {
        th_log_error(th_call_id(call),
                     "a handler called another service, but this service "
                     "has no frontend_endpoint and client_cert to call with",
                     "method=%s", method);
        *code = th_call_error(call, TH_INTERNAL,
                              "%s failed inside the service: it is not "
                              "configured to call %s",
                              th_call_method(call), method);
        return NULL;
    }
    char errbuf[512] = "";
    const th_client_config_t config = {
        .endpoints = worker->frontend,
        .broker_public_key = worker->broker_public_key,
        .client_cert_path = worker->client_cert,
        .default_timeout_ms = 5000,
    };
    thread->client = th_client_new(&config, errbuf, sizeof errbuf);
    if (thread->client == NULL) {
        char quoted[TH_LOG_QUOTE_SIZE];
        th_log_error(th_call_id(call),
                     "could not open a connection for calls to other services", "error=%s",
                     th_log_quote(quoted, sizeof quoted, errbuf));
        *code = th_call_error(call, TH_INTERNAL, "%s failed inside the service",
                              th_call_method(call));
    }
    return thread->client;
}

/* A result for a call that was never sent (or sent nothing back): code and
 * the message already recorded on call. Returns code. */
static int
s_unsent(th_call_t *call, th_result_t *result, int code)
{
    memset(result, 0, sizeof *result);
    result->code = code;
    result->message = strdup(call->message != NULL ? call->message : "");
    return code;
}

/* The key of the seq-th inner call of this call: a SHA-1 over who called,
 * with which key, which method, and the inner call's place and method. The
 * same outer write sent again (same principal and key) makes the same
 * inner keys in the same order. */
static void
s_inner_key(th_call_t *call, const char *method, char out[48])
{
    char seq[24];
    snprintf(seq, sizeof seq, "%u", call->n_invoked);
    const char *parts[] = {"teilhabe.invoke",
                           th_call_principal(call)->id,
                           th_call_idempotency_key(call),
                           th_call_method(call),
                           seq,
                           method};
    zdigest_t *digest = zdigest_new();
    if (digest == NULL) {
        out[0] = '\0'; /* the client library makes a fresh one */
        return;
    }
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        zdigest_update(digest, (const byte *) parts[i], strlen(parts[i]) + 1);
    snprintf(out, 48, "inv-%s", zdigest_string(digest));
    zdigest_destroy(&digest);
}

int
th_call_invoke(th_call_t *call, const char *method, const ProtobufCMessage *request,
               const ProtobufCMessageDescriptor *response_desc,
               const th_result_t **result_p)
{
    /* The result lives as long as the call: th_call__release clears it */
    th_call_result_t *held = th_call_alloc(call, sizeof *held);
    held->next = call->results;
    call->results = held;
    th_result_t *result = &held->result;
    if (result_p != NULL)
        *result_p = result;
    int code = TH_INTERNAL;
    th_client_t *client = s_client(call, method, &code);
    if (client == NULL)
        return s_unsent(call, result, code);
    int64_t left = th_call_remaining_ms(call);
    int64_t reserve = left / 10;
    reserve = reserve < S_RESERVE_MIN_MS   ? S_RESERVE_MIN_MS
              : reserve > S_RESERVE_MAX_MS ? S_RESERVE_MAX_MS
                                           : reserve;
    if (left - reserve < S_CALL_MIN_MS)
        return s_unsent(call, result,
                        th_call_error(call, TH_DEADLINE_EXCEEDED,
                                      "the deadline passed before %s could be called",
                                      method));
    /* The principal this whole chain of calls works for: the one a service
     * named when it called us, else our own caller */
    const char *for_whom = th_call_on_behalf_of(call);
    if (for_whom == NULL)
        for_whom = th_call_principal(call)->id;
    const char *metadata[] = {TH_WIRE_ON_BEHALF_OF, for_whom, NULL};
    char key[48] = "";
    if (th_method_kind(method) == TH_METHOD_WRITE &&
        th_call_idempotency_key(call)[0] != '\0')
        s_inner_key(call, method, key);
    call->n_invoked++;
    const th_call_opts_t opts = {
        .idempotency_key = key[0] != '\0' ? key : NULL,
        .metadata = for_whom[0] != '\0' ? metadata : NULL,
    };
    int rc = th_client_call(client, method, request, response_desc, (int) (left - reserve),
                            &opts, result);
    if (rc != 0) {
        th_result_clear(result);
        th_log_error(th_call_id(call), "could not send a call to another service",
                     "method=%s error=%d", method, rc);
        return s_unsent(call, result,
                        th_call_error(call, TH_INTERNAL, "%s failed inside the service",
                                      th_call_method(call)));
    }
    const char *why = result->message != NULL ? result->message : "";
    switch (result->code) {
    case TH_OK: return TH_OK;
    case TH_UNAVAILABLE:
    case TH_DEADLINE_EXCEEDED:
        /* The callee's own words: down, starting, or out of time. The
         * caller may retry this call as it would the callee's. */
        th_log_info(th_call_id(call), "a call to another service did not succeed",
                    "method=%s code=%s", method, th_status_name(result->code));
        return th_call_error(call, result->code, "%s: %s", method, why);
    case TH_UNIMPLEMENTED:
        /* No worker ever registered the callee, or it lacks the method:
         * this service cannot work now, which is no fault of its caller. */
        th_log_warn(th_call_id(call), "the service called is not there", "method=%s",
                    method);
        return th_call_error(call, TH_UNAVAILABLE, "%s is not available: %s", method, why);
    case TH_UNAUTHENTICATED:
    case TH_INTERNAL:
    case TH_UNKNOWN:
    case TH_DATA_LOSS: {
        /* This service's key was refused, or the callee failed: for the
         * operator, not the caller */
        char quoted[TH_LOG_QUOTE_SIZE];
        th_log_error(th_call_id(call), "a call to another service failed",
                     "method=%s code=%s "
                     "message=%s",
                     method, th_status_name(result->code),
                     th_log_quote(quoted, sizeof quoted, why));
        return th_call_error(call, TH_INTERNAL, "%s failed inside the service",
                             th_call_method(call));
    }
    default:
        /* The callee's verdict on the request (NOT_FOUND, INVALID_ARGUMENT,
         * FAILED_PRECONDITION, PERMISSION_DENIED, ...): the handler usually answers it in
         * its own words; this is the answer when it does not. */
        return th_call_error(call, result->code, "%s: %s", method, why);
    }
}

/* The string field name of msg, or NULL when msg has none of that name. */
static char **
s_string_field(const ProtobufCMessage *msg, const char *name)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
    if (f == NULL || f->type != PROTOBUF_C_TYPE_STRING ||
        f->label == PROTOBUF_C_LABEL_REPEATED)
        return NULL;
    return (char **) ((char *) msg + f->offset);
}

int
th_call_invoke_pages(th_call_t *call, const char *method, ProtobufCMessage *request,
                     const ProtobufCMessageDescriptor *response_desc, th_call_page_fn fn,
                     void *arg)
{
    char **token = s_string_field(request, "page_token");
    const ProtobufCFieldDescriptor *next =
        protobuf_c_message_descriptor_get_field_by_name(response_desc, "next_page_token");
    if (token == NULL || next == NULL || next->type != PROTOBUF_C_TYPE_STRING)
        return th_call_error(call, TH_INTERNAL, "%s is no paged list", method);
    char *const first = *token;
    int rc;
    for (;;) {
        const th_result_t *r = NULL;
        if ((rc = th_call_invoke(call, method, request, response_desc, &r)) != TH_OK ||
            (rc = fn(call, r->response, arg)) != TH_OK)
            break;
        const char *following = *s_string_field(r->response, "next_page_token");
        if (following == NULL || following[0] == '\0')
            break;
        *token = th_call_strdup(call, following);
    }
    *token = first;
    return rc;
}
