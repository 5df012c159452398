/* ---------------------------------------------------------------------------
 * th_page.h: one paging style for every list method (keyset paging).
 *
 * A list is read in the order of a sort key (an AGS; a name and an id; a
 * version), page by page: each page asks for the rows after the key of the
 * last row of the page before, so a page costs the same whichever page it
 * is, and rows added or removed meanwhile never make a row appear twice
 * or go missing (which an OFFSET would do).
 *
 * The page token that carries that key is opaque to clients: base64url of
 * a version byte, a digest binding it to the list and the request's
 * filters, a digest over all of it, and the key itself. So
 *   - a token used with other filters or by another list is refused:
 *     INVALID_ARGUMENT naming page_token, "was made for other filters";
 *   - a token changed or made up by hand is refused the same way ("is not
 *     a token this list returned"); it cannot widen what the caller may
 *     read either way: the read rules apply to every page;
 *   - a token whose key lies beyond the last row gives an empty last page
 *     (OK, next_page_token ""), not an error.
 * page_size is not bound: a client may change it from page to page.
 *
 * In a handler:
 *     const char *filters[] = {req->state_code, kind_text, req->as_of};
 *     const th_page_request_t pr = {.list = "ListDistricts", .page_size = req->page_size,
 *         .page_token = req->page_token, .default_size = 100, .max_size = 500,
 *         .filters = filters, .n_filters = 3, .n_keys = 1};
 *     th_page_t page;
 *     if ((rc = th_page_begin(call, &pr, &page)) != TH_OK)
 *         return rc;
 *     ... query page.size + 1 rows after page.after[0] (NULL: from the start) ...
 *     if (n > (size_t) page.size) {
 *         n = page.size;
 *         resp->next_page_token = th_page_token(call, &page, (const char *[]){rows[n - 1]->ags});
 *     }
 * ---------------------------------------------------------------------------
 */
#ifndef TH_PAGE_H
#define TH_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "th_call.h"

#define TH_PAGE_MAX_KEYS 4
/* The longest token a service makes or takes (bytes of base64url). */
#define TH_PAGE_TOKEN_MAX 2048
/* The size of the digests in a token. */
#define TH_PAGE_DIGEST 8

/* What a list method asks for. */
typedef struct {
    const char *list;                 /* "ListDistricts": a token of one list is refused by another */
    int32_t page_size;                /* as requested: 0 = default_size */
    int default_size;
    int max_size;
    const char *size_field;           /* the violation's field for a bad size; NULL = "page_size" */
    const char *page_token;           /* as requested: "" = the first page */
    const char *const *filters;       /* the request's filters in a fixed order ("" for none) */
    size_t n_filters;
    size_t n_keys;                    /* fields of the sort key (1 to TH_PAGE_MAX_KEYS) */
} th_page_request_t;

/* One page to read. */
typedef struct {
    int size;                               /* rows to return (read one more) */
    size_t n_keys;
    const char *after[TH_PAGE_MAX_KEYS];    /* the key to read after; all NULL on the first page */
    uint8_t binding[TH_PAGE_DIGEST];        /* the list and its filters */
} th_page_t;

/* Checks page_size and page_token of a request into page (strings in call
 * memory). TH_OK, or INVALID_ARGUMENT naming the size field or page_token. */
int th_page_begin(th_call_t *call, const th_page_request_t *request, th_page_t *page);

/* The token of the page after the row whose key is last_key (page->n_keys
 * strings), in call memory. */
char *th_page_token(th_call_t *call, const th_page_t *page, const char *const *last_key);

/* INVALID_ARGUMENT naming page_token, for a key that decoded but is not
 * what the list sorts by (a handler's own check of page->after). */
int th_page_invalid(th_call_t *call);

/* --- pure parts (tests, tools) -------------------------------------------- */

/* The binding digest of a list and its filters into out. */
void th_page_bind(const char *list, const char *const *filters, size_t n_filters,
                  uint8_t out[TH_PAGE_DIGEST]);

/* Encodes a token for key (n_keys strings) into out (TH_PAGE_TOKEN_MAX + 1
 * bytes). 0, or TH_ETOOBIG when the key is too long for a token. */
int th_page_encode(const uint8_t binding[TH_PAGE_DIGEST], const char *const *key,
                   size_t n_keys, char *out);

/* Decodes token into key (n_keys pointers into buf, which holds
 * TH_PAGE_TOKEN_MAX bytes). 0; TH_EINVAL when the token is garbled,
 * changed or made up; TH_ESTATE when it is sound but bound to another list
 * or other filters. */
int th_page_decode(const char *token, const uint8_t binding[TH_PAGE_DIGEST], size_t n_keys,
                   char *buf, const char **key);

#endif /* TH_PAGE_H */
