/* ---------------------------------------------------------------------------
 * render_int.h: what the renderers (render*.c) share and nobody else
 * needs: plain numbers for machines, HTML escaping, the chart as SVG.
 * Names are report__ (internal), as libuv's uv__.
 * ---------------------------------------------------------------------------
 */
#ifndef REPORTING_RENDER_INT_H
#define REPORTING_RENDER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "render.h"

typedef Teilhabe__Reporting__V1__ValueType report_value_type_t;

/* True when lang is "en"; every other language is German, the default. */
bool report__lang_en(const char *lang);

/* value of type as a machine reads it: no grouping, a point before the
 * decimals ("-1234.5", "12.5" for 12.5 %, "1234.56" for cents), rounded
 * half away from zero as report_format_number. Returns as snprintf. */
size_t report__format_plain(int64_t value, report_value_type_t type, int decimals,
                            char *out, size_t size);

/* Writes s with &, <, >, " and ' as character references. */
void report__html_escape(FILE *out, const char *s);

/* Writes chart as an inline <svg> (role img, title and desc) in lang; id
 * makes its element ids unique in the page. Nothing when it has no
 * categories or series. */
void report__svg_chart(FILE *out, const Teilhabe__Reporting__V1__Chart *chart,
                       const char *lang, size_t id);

/* Writes the page (render_html.c); a failed write shows in ferror(out). */
void report__render_html(const report_t *report, FILE *out);

#endif /* REPORTING_RENDER_INT_H */
