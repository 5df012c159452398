/* ---------------------------------------------------------------------------
 * pbjson.c: audit JSON through th_format's generic message -> JSON mapping,
 * so the audit trail and `teilhabe --format json` show a message the same way
 * ---------------------------------------------------------------------------
 */
#include "pbjson.h"

#include <jansson.h>
#include <stdlib.h>

#include "th_format.h"

char *
registry_pbjson_text(const ProtobufCMessage *msg)
{
    if (msg == NULL)
        return NULL;
    json_t *obj = th_format_message_json(msg);
    char *text = obj != NULL ? json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(obj);
    return text;
}

const char *
registry_pbjson(th_call_t *call, const ProtobufCMessage *msg)
{
    if (msg == NULL)
        return NULL;
    char *text = registry_pbjson_text(msg);
    if (text == NULL)
        return th_call_strdup(call, "{}");
    char *copy = th_call_strdup(call, text);
    free(text);
    return copy;
}
