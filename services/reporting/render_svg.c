/* ---------------------------------------------------------------------------
 * render_svg.c: a chart of a report as inline SVG (render_int.h): bars side
 * by side, stacked bars, or lines, on a fixed canvas the page scales to its
 * width.
 *
 * Reports are printed on black-and-white printers and read by people who
 * do not tell red from green: each series differs in lightness and also
 * in a hatching (bars) or a dash and marker (lines), not in hue alone.
 * A missing value (suppressed or empty) is drawn as nothing, never as 0:
 * its bar is absent, its line has a gap.
 *
 * Geometry is in doubles (positions on a canvas); the numbers a person
 * reads on the axis are int64 in the chart's unit, formatted as the cells.
 * ---------------------------------------------------------------------------
 */
#include "render_int.h"

#include <string.h>

#define VT(name) TEILHABE__REPORTING__V1__VALUE_TYPE__VALUE_TYPE_##name
#define CK(name) TEILHABE__REPORTING__V1__CHART_KIND__CHART_KIND_##name

typedef Teilhabe__Reporting__V1__Chart report_chart_t;

/* The canvas and the plot inside it. */
#define S_W 720.0
#define S_H 400.0
#define S_LEFT 84.0
#define S_RIGHT 12.0
#define S_TOP 14.0
#define S_BOTTOM 270.0 /* the x axis; category labels and legend below */
#define S_LEGEND_Y 352.0
#define S_LEGEND_COLUMNS 4
#define S_TICKS 5

/* Okabe-Ito colours, ordered so neighbours differ in lightness too. */
static const char *const s_colour[] = {"#0072B2", "#E69F00", "#009E73", "#F0E442",
                                       "#D55E00", "#56B4E9", "#CC79A7", "#000000"};
static const char *const s_dash[] = {"none", "7 4",  "2 3", "10 3 2 3",
                                     "4 2",  "12 4", "1 2", "6 2 6 6"};
#define S_STYLES (sizeof s_colour / sizeof s_colour[0])

typedef struct {
    double lo, hi; /* the axis' range, in the chart's unit */
    double step;   /* between ticks */
    size_t n_cat, n_ser;
} s_scale_t;

static double
s_y(const s_scale_t *sc, double v)
{
    return S_BOTTOM - (v - sc->lo) * (S_BOTTOM - S_TOP) / (sc->hi - sc->lo);
}

static bool
s_has(const Teilhabe__Reporting__V1__Series *s, size_t k)
{
    return k < s->n_values && !(k < s->n_missing && s->missing[k]);
}

/* x rounded down (up) to a whole multiple of step. */
static double
s_floor_to(double x, double step)
{
    const double q = (double) (int64_t) (x / step);
    return (q > x / step ? q - 1 : q) * step;
}

static double
s_ceil_to(double x, double step)
{
    const double q = (double) (int64_t) (x / step);
    return (q < x / step ? q + 1 : q) * step;
}

/* The range of the values (stacked: of the stacks) with 0 in it, widened
 * to a multiple of a step of 1, 2 or 5 times a power of ten. */
static void
s_range(const report_chart_t *chart, s_scale_t *sc)
{
    const bool stacked = chart->kind == CK(STACKED_BAR);
    double lo = 0, hi = 0;
    for (size_t k = 0; k < sc->n_cat; k++) {
        double up = 0, down = 0;
        for (size_t i = 0; i < sc->n_ser; i++) {
            if (!s_has(chart->series[i], k))
                continue;
            const double v = (double) chart->series[i]->values[k];
            /* Side by side, the extremes; stacked, the sums either way. */
            if (v >= 0)
                up = stacked ? up + v : (v > up ? v : up);
            else
                down = stacked ? down + v : (v < down ? v : down);
        }
        hi = up > hi ? up : hi;
        lo = down < lo ? down : lo;
    }
    if (hi - lo < 1)
        hi = lo + 1;
    /* One unit (a person, a millionth) is the finest step; a euro for
     * money, so the axis does not count cents. */
    const double raw = (hi - lo) / (S_TICKS - 1);
    double step = chart->value_type == VT(MONEY) ? 100 : 1;
    while (step * 10 <= raw)
        step *= 10;
    static const double factor[] = {1, 2, 5, 10};
    for (size_t i = 0; i < 4; i++)
        if (step * factor[i] >= raw) {
            step *= factor[i];
            break;
        }
    sc->step = step;
    sc->lo = s_floor_to(lo, step);
    sc->hi = s_ceil_to(hi, step);
    if (sc->hi <= sc->lo)
        sc->hi = sc->lo + step;
}

/* Writes at most max code points of s, escaped, "…" when cut. */
static void
s_label(FILE *out, const char *s, size_t max)
{
    size_t points = 0, i = 0;
    for (; s[i] != '\0'; i++)
        if (((unsigned char) s[i] & 0xc0) != 0x80 && ++points > max)
            break;
    if (s[i] == '\0') {
        report__html_escape(out, s);
        return;
    }
    /* Cut one code point earlier to make room for the ellipsis. */
    size_t cut = i;
    do
        cut--;
    while (cut > 0 && ((unsigned char) s[cut] & 0xc0) == 0x80);
    char part[256];
    const size_t n = cut < sizeof part ? cut : sizeof part - 1;
    memcpy(part, s, n);
    part[n] = '\0';
    report__html_escape(out, part);
    fputs("\xe2\x80\xa6", out);
}

/* Decimals a tick shows: as many as its step needs. */
static int
s_tick_decimals(report_value_type_t type, double step)
{
    if (type != VT(DECIMAL) && type != VT(PERCENT))
        return 0;
    int decimals = 0;
    for (double unit = 1e6; unit > step && decimals < 6; unit /= 10)
        decimals++;
    return decimals;
}

static void
s_defs(FILE *out, size_t id, size_t n_ser)
{
    /* A hatching per series over its colour: none, /, dots, \, -, x, |. */
    static const char *const hatch[] = {
        "",
        "<path d=\"M0 8L8 0\" stroke=\"#000\" stroke-opacity=\".6\"/>",
        "<circle cx=\"4\" cy=\"4\" r=\"1.4\" fill=\"#000\" fill-opacity=\".6\"/>",
        "<path d=\"M0 0L8 8\" stroke=\"#fff\" stroke-opacity=\".8\" stroke-width=\"1.5\"/>",
        "<path d=\"M0 4H8\" stroke=\"#000\" stroke-opacity=\".6\"/>",
        "<path d=\"M0 0L8 8M0 8L8 0\" stroke=\"#fff\" stroke-opacity=\".8\"/>",
        "<path d=\"M4 0V8\" stroke=\"#000\" stroke-opacity=\".6\"/>",
        "<path d=\"M0 4H8M4 0V8\" stroke=\"#fff\" stroke-opacity=\".8\"/>",
    };
    fputs("<defs>", out);
    for (size_t i = 0; i < n_ser; i++)
        fprintf(out,
                "<pattern id=\"c%zu-p%zu\" patternUnits=\"userSpaceOnUse\" width=\"8\" "
                "height=\"8\"><rect width=\"8\" height=\"8\" fill=\"%s\"/>%s</pattern>",
                id, i, s_colour[i % S_STYLES], hatch[i % S_STYLES]);
    fputs("</defs>\n", out);
}

static void
s_axes(FILE *out, const report_chart_t *chart, const s_scale_t *sc, const char *lang)
{
    const int decimals = s_tick_decimals(chart->value_type, sc->step);
    const report_value_type_t type =
        chart->value_type == VT(TEXT) || chart->value_type == VT(DATE) ? VT(INTEGER)
                                                                       : chart->value_type;
    for (double v = sc->lo; v <= sc->hi + sc->step / 2; v += sc->step) {
        char tick[64];
        report_format_number((int64_t) (v < 0 ? v - 0.5 : v + 0.5), type, decimals, lang,
                             tick, sizeof tick);
        const double y = s_y(sc, v);
        fprintf(out,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ccc\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">",
                S_LEFT, y, S_W - S_RIGHT, y, S_LEFT - 6, y + 4);
        report__html_escape(out, tick);
        fputs("</text>\n", out);
    }
    const double zero = s_y(sc, 0);
    fprintf(out,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n"
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
            S_LEFT, zero, S_W - S_RIGHT, zero, S_LEFT, S_TOP, S_LEFT, S_BOTTOM);
    /* Category labels: level when few, slanted when many. */
    const double slot = (S_W - S_RIGHT - S_LEFT) / (double) sc->n_cat;
    const bool slant = sc->n_cat > 6;
    for (size_t k = 0; k < sc->n_cat; k++) {
        const double x = S_LEFT + slot * ((double) k + 0.5);
        if (slant)
            fprintf(out,
                    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
                    "transform=\"rotate(-40 %.1f %.1f)\">",
                    x, S_BOTTOM + 14, x, S_BOTTOM + 14);
        else
            fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x,
                    S_BOTTOM + 18);
        s_label(out, chart->categories[k], slant ? 16 : (size_t) (slot / 7));
        fputs("</text>\n", out);
    }
}

static void
s_bars(FILE *out, const report_chart_t *chart, const s_scale_t *sc, size_t id)
{
    const bool stacked = chart->kind == CK(STACKED_BAR);
    const double slot = (S_W - S_RIGHT - S_LEFT) / (double) sc->n_cat;
    const double group = slot * 0.8;
    const double width = stacked ? group : group / (double) sc->n_ser;
    for (size_t k = 0; k < sc->n_cat; k++) {
        double up = 0, down = 0;
        const double x0 = S_LEFT + slot * (double) k + (slot - group) / 2;
        for (size_t i = 0; i < sc->n_ser; i++) {
            if (!s_has(chart->series[i], k))
                continue;
            const double v = (double) chart->series[i]->values[k];
            double from = 0;
            if (stacked) {
                from = v >= 0 ? up : down;
                *(v >= 0 ? &up : &down) += v;
            }
            const double ya = s_y(sc, from), yb = s_y(sc, from + v);
            const double x = stacked ? x0 : x0 + width * (double) i;
            fprintf(out,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                    "fill=\"url(#c%zu-p%zu)\" stroke=\"#111\" stroke-width=\".5\"/>\n",
                    x, ya < yb ? ya : yb, width, ya < yb ? yb - ya : ya - yb, id, i);
        }
    }
}

/* A marker per series, shaped differently so lines tell apart in grey. */
static void
s_marker(FILE *out, size_t series, double x, double y)
{
    const char *colour = s_colour[series % S_STYLES];
    switch (series % 4) {
    case 0: fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\"", x, y); break;
    case 1:
        fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"7\" height=\"7\"", x - 3.5,
                y - 3.5);
        break;
    case 2: fprintf(out, "<path d=\"M%.1f %.1fl4 7h-8z\"", x, y - 4.5); break;
    default: fprintf(out, "<path d=\"M%.1f %.1fl4 4l-4 4l-4 -4z\"", x, y - 4); break;
    }
    fprintf(out, " fill=\"%s\" stroke=\"#111\" stroke-width=\".5\"/>\n", colour);
}

static void
s_lines(FILE *out, const report_chart_t *chart, const s_scale_t *sc)
{
    const double slot = (S_W - S_RIGHT - S_LEFT) / (double) sc->n_cat;
    for (size_t i = 0; i < sc->n_ser; i++) {
        const Teilhabe__Reporting__V1__Series *s = chart->series[i];
        fprintf(out,
                "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                "stroke-dasharray=\"%s\" d=\"",
                s_colour[i % S_STYLES], s_dash[i % S_STYLES]);
        bool drawing = false;
        for (size_t k = 0; k < sc->n_cat; k++) {
            if (!s_has(s, k)) {
                drawing = false; /* a gap */
                continue;
            }
            fprintf(out, "%c%.1f %.1f", drawing ? 'L' : 'M',
                    S_LEFT + slot * ((double) k + 0.5), s_y(sc, (double) s->values[k]));
            drawing = true;
        }
        fputs("\"/>\n", out);
        for (size_t k = 0; k < sc->n_cat; k++)
            if (s_has(s, k))
                s_marker(out, i, S_LEFT + slot * ((double) k + 0.5),
                         s_y(sc, (double) s->values[k]));
    }
}

static void
s_legend(FILE *out, const report_chart_t *chart, const s_scale_t *sc, size_t id)
{
    const double width = (S_W - S_LEFT) / S_LEGEND_COLUMNS;
    for (size_t i = 0; i < sc->n_ser; i++) {
        const double x = S_LEFT + width * (double) (i % S_LEGEND_COLUMNS);
        const double y = S_LEGEND_Y + 20.0 * (double) (i / S_LEGEND_COLUMNS);
        if (chart->kind == CK(LINE)) {
            fprintf(out,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                    "stroke-width=\"2\" stroke-dasharray=\"%s\"/>\n",
                    x, y, x + 24, y, s_colour[i % S_STYLES], s_dash[i % S_STYLES]);
            s_marker(out, i, x + 12, y);
        } else {
            fprintf(out,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"24\" height=\"12\" "
                    "fill=\"url(#c%zu-p%zu)\" stroke=\"#111\" stroke-width=\".5\"/>\n",
                    x, y - 6, id, i);
        }
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\">", x + 30, y + 4);
        s_label(out, chart->series[i]->name, 22);
        fputs("</text>\n", out);
    }
}

void
report__svg_chart(FILE *out, const report_chart_t *chart, const char *lang, size_t id)
{
    s_scale_t sc = {.n_cat = chart->n_categories, .n_ser = chart->n_series};
    if (sc.n_cat == 0 || sc.n_ser == 0 || chart->kind == CK(NONE))
        return;
    /* The legend has two lines of room. */
    if (sc.n_ser > 2 * S_LEGEND_COLUMNS)
        sc.n_ser = 2 * S_LEGEND_COLUMNS;
    s_range(chart, &sc);
    fprintf(out,
            "<svg viewBox=\"0 0 %.0f %.0f\" width=\"100%%\" role=\"img\" "
            "aria-describedby=\"c%zu-d\" aria-label=\"",
            S_W, S_H, id);
    report__html_escape(out, chart->title);
    fprintf(
        out,
        "\" font-family=\"inherit\" font-size=\"12\" fill=\"#111\">\n<title id=\"c%zu-t\">",
        id);
    report__html_escape(out, chart->title);
    fprintf(out, "</title>\n<desc id=\"c%zu-d\">", id);
    report__html_escape(out, chart->caption);
    fputs("</desc>\n", out);
    if (chart->kind != CK(LINE))
        s_defs(out, id, sc.n_ser);
    s_axes(out, chart, &sc, lang);
    if (chart->kind == CK(LINE))
        s_lines(out, chart, &sc);
    else
        s_bars(out, chart, &sc, id);
    s_legend(out, chart, &sc, id);
    fputs("</svg>\n", out);
}
