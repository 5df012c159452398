/* ---------------------------------------------------------------------------
 * th_pbjson.c: audit JSON through th_format's generic message -> JSON
 * mapping, driven by the protobuf descriptors
 * ---------------------------------------------------------------------------
 */
#include "th_pbjson.h"

#include <jansson.h>
#include <stdlib.h>

#include "th_format.h"

char *
th_pbjson_text(const ProtobufCMessage *msg)
{
    if (msg == NULL)
        return NULL;
    json_t *obj = th_format_message_json(msg);
    char *text = obj != NULL ? json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(obj);
    return text;
}
