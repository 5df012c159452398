/* ---------------------------------------------------------------------------
 * th_page.c: keyset page tokens (see th_page.h)
 *
 * A token's bytes, before base64url (RFC 4648 section 5, no padding, by
 * CZMQ's zarmour):
 *   1 byte   version (1)
 *   8 bytes  binding: SHA-1 (zdigest) of the list name and its filters
 *   8 bytes  check: SHA-1 of the version, the binding and the key bytes
 *   then per key field: 2 bytes length (big-endian) and the bytes
 * The digests are not secret and need none: a token is no capability (the
 * read rules apply to every page), the check only tells a token the
 * service made from one garbled or edited on the way.
 * ---------------------------------------------------------------------------
 */
#include "th_page.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>

#include "th_answer.h"
#include "th_error.h"
#include "th_status.h"
#include "th_wire.h"

#define S_VERSION 1
#define S_HEAD (1 + 2 * TH_PAGE_DIGEST)
/* The most bytes a token decodes to. */
#define S_RAW_MAX (TH_PAGE_TOKEN_MAX / 4 * 3)

static void
s_digest_part(zdigest_t *d, const void *data, size_t len)
{
    const uint8_t size[4] = {(uint8_t) (len >> 24), (uint8_t) (len >> 16),
                             (uint8_t) (len >> 8), (uint8_t) len};
    zdigest_update(d, size, sizeof size);
    if (len > 0)
        zdigest_update(d, data, len);
}

void
th_page_bind(const char *list, const char *const *filters, size_t n_filters,
             uint8_t out[TH_PAGE_DIGEST])
{
    zdigest_t *d = zdigest_new();
    if (d == NULL)
        abort(); /* as CZMQ does on out-of-memory */
    static const char domain[] = "teilhabe page token binding";
    s_digest_part(d, domain, sizeof domain - 1);
    s_digest_part(d, list, strlen(list));
    for (size_t i = 0; i < n_filters; i++) {
        const char *f = filters[i] != NULL ? filters[i] : "";
        s_digest_part(d, f, strlen(f));
    }
    memcpy(out, zdigest_data(d), TH_PAGE_DIGEST);
    zdigest_destroy(&d);
}

/* The check digest of a token's bytes (all but the check itself). */
static void
s_check(const uint8_t *raw, size_t len, uint8_t out[TH_PAGE_DIGEST])
{
    zdigest_t *d = zdigest_new();
    if (d == NULL)
        abort();
    zdigest_update(d, raw, 1 + TH_PAGE_DIGEST);
    zdigest_update(d, raw + S_HEAD, len - S_HEAD);
    memcpy(out, zdigest_data(d), TH_PAGE_DIGEST);
    zdigest_destroy(&d);
}

int
th_page_encode(const uint8_t binding[TH_PAGE_DIGEST], const char *const *key, size_t n_keys,
               char *out)
{
    uint8_t raw[S_RAW_MAX];
    size_t len = S_HEAD;
    raw[0] = S_VERSION;
    memcpy(raw + 1, binding, TH_PAGE_DIGEST);
    for (size_t i = 0; i < n_keys; i++) {
        const char *k = key[i] != NULL ? key[i] : "";
        const size_t klen = strlen(k);
        if (klen > 0xffff || len + 2 + klen > sizeof raw)
            return TH_ETOOBIG;
        raw[len++] = (uint8_t) (klen >> 8);
        raw[len++] = (uint8_t) klen;
        memcpy(raw + len, k, klen);
        len += klen;
    }
    s_check(raw, len, raw + 1 + TH_PAGE_DIGEST);
    zarmour_t *armour = zarmour_new();
    if (armour == NULL)
        abort();
    zarmour_set_mode(armour, ZARMOUR_MODE_BASE64_URL);
    zarmour_set_pad(armour, false);
    zarmour_set_line_breaks(armour, false);
    char *text = zarmour_encode(armour, raw, len);
    zarmour_destroy(&armour);
    if (text == NULL)
        abort();
    int rc = 0;
    if (strlen(text) > TH_PAGE_TOKEN_MAX)
        rc = TH_ETOOBIG;
    else
        memcpy(out, text, strlen(text) + 1);
    zstr_free(&text);
    return rc;
}

int
th_page_decode(const char *token, const uint8_t binding[TH_PAGE_DIGEST], size_t n_keys,
               char *buf, const char **key)
{
    /* zarmour skips characters outside the alphabet; a token holds none. */
    const size_t tlen = token != NULL ? strlen(token) : 0;
    if (tlen == 0 || tlen > TH_PAGE_TOKEN_MAX || tlen % 4 == 1 ||
        tlen < (S_HEAD * 4 + 2) / 3)
        return TH_EINVAL;
    for (size_t i = 0; i < tlen; i++) {
        const char c = token[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return TH_EINVAL;
    }
    zarmour_t *armour = zarmour_new();
    if (armour == NULL)
        abort();
    zarmour_set_mode(armour, ZARMOUR_MODE_BASE64_URL);
    zarmour_set_pad(armour, false);
    zchunk_t *chunk = zarmour_decode(armour, token);
    zarmour_destroy(&armour);
    if (chunk == NULL)
        return TH_EINVAL;
    /* The bytes tlen characters of unpadded base64 stand for (zarmour adds
     * a NUL byte of its own to what it returns). */
    const size_t len = tlen / 4 * 3 + (tlen % 4 != 0 ? tlen % 4 - 1 : 0);
    int rc = TH_EINVAL;
    uint8_t raw[S_RAW_MAX];
    if (len < S_HEAD || len > sizeof raw || zchunk_size(chunk) < len)
        goto cleanup;
    memcpy(raw, zchunk_data(chunk), len);
    uint8_t check[TH_PAGE_DIGEST];
    if (raw[0] != S_VERSION)
        goto cleanup;
    s_check(raw, len, check);
    if (memcmp(check, raw + 1 + TH_PAGE_DIGEST, TH_PAGE_DIGEST) != 0)
        goto cleanup;
    size_t at = S_HEAD, used = 0;
    for (size_t i = 0; i < n_keys; i++) {
        if (at + 2 > len)
            goto cleanup;
        const size_t klen = (size_t) raw[at] << 8 | raw[at + 1];
        at += 2;
        if (at + klen > len || used + klen + 1 > TH_PAGE_TOKEN_MAX ||
            memchr(raw + at, 0, klen) != NULL ||
            !th_wire_utf8_valid((const char *) raw + at, klen))
            goto cleanup;
        memcpy(buf + used, raw + at, klen);
        buf[used + klen] = '\0';
        key[i] = buf + used;
        used += klen + 1;
        at += klen;
    }
    if (at != len)
        goto cleanup;
    rc = memcmp(raw + 1, binding, TH_PAGE_DIGEST) == 0 ? 0 : TH_ESTATE;
cleanup:
    zchunk_destroy(&chunk);
    return rc;
}

int
th_page_invalid(th_call_t *call)
{
    return th_answer_invalid(call, "page_token",
                             "is not a token this list returned; pass next_page_token "
                             "unchanged, or leave it empty for the first page");
}

int
th_page_begin(th_call_t *call, const th_page_request_t *r, th_page_t *page)
{
    memset(page, 0, sizeof *page);
    const char *size_field = r->size_field != NULL ? r->size_field : "page_size";
    if (r->page_size < 0 || r->page_size > r->max_size)
        return th_answer_invalid(call, size_field, "%d is outside 0 to %d (0 = the default %d)",
                                 r->page_size, r->max_size, r->default_size);
    page->size = r->page_size == 0 ? r->default_size : r->page_size;
    page->n_keys = r->n_keys < TH_PAGE_MAX_KEYS ? r->n_keys : TH_PAGE_MAX_KEYS;
    th_page_bind(r->list, r->filters, r->n_filters, page->binding);
    if (r->page_token == NULL || r->page_token[0] == '\0')
        return TH_OK;
    char *buf = th_call_alloc(call, TH_PAGE_TOKEN_MAX);
    const int rc = th_page_decode(r->page_token, page->binding, page->n_keys, buf, page->after);
    if (rc == TH_ESTATE)
        return th_answer_invalid(call, "page_token",
                                 "was made for other filters or another list; repeat the "
                                 "request that returned it, or start without a token");
    if (rc != 0) {
        memset(page->after, 0, sizeof page->after);
        return th_page_invalid(call);
    }
    return TH_OK;
}

char *
th_page_token(th_call_t *call, const th_page_t *page, const char *const *last_key)
{
    char *out = th_call_alloc(call, TH_PAGE_TOKEN_MAX + 1);
    /* Keys are the list's own (ids, names of at most a few hundred bytes):
     * too long for a token would be a bug of the list, answered by a
     * last page rather than a broken token. */
    if (th_page_encode(page->binding, last_key, page->n_keys, out) != 0)
        out[0] = '\0';
    return out;
}
