/* ---------------------------------------------------------------------------
 * th_text.h: text helpers for validation and search (utf8proc).
 *
 * Search folding makes names findable however they are typed: case is
 * folded, diacritics are dropped, and German umlauts can be written out
 * (ä = ae, ö = oe, ü = ue, ß = ss). A service stores two keys per name,
 * th_text_fold(name, false) ("sommerda") and th_text_fold(name, true)
 * ("soemmerda"), and matches th_text_fold(query, false) against either:
 * "Sömmerda", "SÖMMERDA", "Sommerda" and "soemmerda" then all match.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_TEXT_H
#define TH_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Folds s (UTF-8) for matching: NFKC compatibility mapping, case folding,
 * diacritics stripped, runs of spaces, dashes and other separators turned
 * into one ASCII space, and leading/trailing space removed. With
 * expand_umlauts, ä/ö/ü (either case) become ae/oe/ue before the diacritics
 * are stripped. Returns a malloc'ed string the caller frees, or NULL when s
 * is not valid UTF-8 or memory ran out. */
char *th_text_fold(const char *s, bool expand_umlauts);

/* The number of Unicode code points in s (valid UTF-8 assumed; invalid
 * bytes count one each). */
size_t th_text_length(const char *s);

/* True when s is valid UTF-8 with at least min and at most max code points
 * and no control characters (C0, DEL, C1). Use it for names and
 * titles, which are single lines. */
bool th_text_is_line(const char *s, size_t min, size_t max);

/* The same, but newlines and tabs are allowed: for descriptions and notes
 * of several paragraphs. */
bool th_text_is_paragraphs(const char *s, size_t min, size_t max);

#endif /* TH_TEXT_H */
