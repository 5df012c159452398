/* ---------------------------------------------------------------------------
 * th_text.c: search folding and length checks with utf8proc
 * ---------------------------------------------------------------------------
 */
#include "th_text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* Writes s into a new buffer with the umlauts spelt out. s must be NFC so
 * "a" + combining diaeresis has become one code point first. */
static char *
s_expand_umlauts(const char *s)
{
    size_t len = strlen(s);
    /* Each two-byte umlaut becomes at most two bytes: the length never grows. */
    char *out = malloc(len + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        const unsigned char c0 = (unsigned char) s[i];
        const unsigned char c1 = i + 1 < len ? (unsigned char) s[i + 1] : 0;
        const char *rep = NULL;
        if (c0 == 0xc3) {
            switch (c1) {
            case 0xa4: rep = "ae"; break; /* ä */
            case 0xb6: rep = "oe"; break; /* ö */
            case 0xbc: rep = "ue"; break; /* ü */
            case 0x84: rep = "Ae"; break; /* Ä */
            case 0x96: rep = "Oe"; break; /* Ö */
            case 0x9c: rep = "Ue"; break; /* Ü */
            default: break;
            }
        }
        if (rep != NULL) {
            out[o++] = rep[0];
            out[o++] = rep[1];
            i += 2;
        } else {
            out[o++] = s[i++];
        }
    }
    out[o] = '\0';
    return out;
}

/* Collapses separators into single spaces and trims, in place. utf8proc's
 * LUMP option has already mapped Unicode spaces and dashes to ASCII. */
static void
s_squeeze(char *s)
{
    size_t o = 0;
    bool pending_space = false;
    for (size_t i = 0; s[i] != '\0'; i++) {
        const char c = s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '-' || c == '_') {
            pending_space = o > 0;
            continue;
        }
        if (pending_space)
            s[o++] = ' ';
        pending_space = false;
        s[o++] = c;
    }
    s[o] = '\0';
}

char *
th_text_fold(const char *s, bool expand_umlauts)
{
    if (s == NULL)
        return NULL;
    utf8proc_uint8_t *nfc = NULL;
    char *expanded = NULL;
    utf8proc_uint8_t *folded = NULL;

    utf8proc_ssize_t n =
        utf8proc_map((const utf8proc_uint8_t *) s, 0, &nfc,
                     UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (n < 0)
        goto cleanup;
    const char *input = (const char *) nfc;
    if (expand_umlauts) {
        expanded = s_expand_umlauts(input);
        if (expanded == NULL)
            goto cleanup;
        input = expanded;
    }
    /* COMPAT maps ligatures and the like, CASEFOLD folds case (ß -> ss),
     * STRIPMARK drops the combining marks DECOMPOSE split off. */
    n = utf8proc_map((const utf8proc_uint8_t *) input, 0, &folded,
                     UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPAT |
                         UTF8PROC_DECOMPOSE | UTF8PROC_STRIPMARK | UTF8PROC_CASEFOLD |
                         UTF8PROC_LUMP | UTF8PROC_IGNORE);
    if (n < 0) {
        free(folded);
        folded = NULL;
        goto cleanup;
    }
    s_squeeze((char *) folded);

cleanup:
    free(nfc);
    free(expanded);
    return (char *) folded;
}

size_t
th_text_length(const char *s)
{
    size_t count = 0;
    for (const unsigned char *p = (const unsigned char *) s; *p != '\0'; p++) {
        if ((*p & 0xc0) != 0x80)
            count++;
    }
    return count;
}

/* Valid UTF-8 of min to max code points, without control characters but
 * those allowed (newline and tab for paragraphs). */
static bool
s_is_text(const char *s, size_t min, size_t max, bool paragraphs)
{
    if (s == NULL)
        return min == 0;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *) s;
    size_t count = 0;
    while (*p != '\0') {
        utf8proc_int32_t cp;
        const utf8proc_ssize_t used = utf8proc_iterate(p, -1, &cp);
        if (used <= 0 || cp < 0)
            return false;
        const bool allowed = paragraphs && (cp == '\n' || cp == '\t');
        if (!allowed && (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)))
            return false;
        count++;
        if (count > max)
            return false;
        p += used;
    }
    return count >= min;
}

bool
th_text_is_line(const char *s, size_t min, size_t max)
{
    return s_is_text(s, min, max, false);
}

bool
th_text_is_paragraphs(const char *s, size_t min, size_t max)
{
    return s_is_text(s, min, max, true);
}
