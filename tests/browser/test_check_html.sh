#!/usr/bin/env bash
# ---------------------------------------------------------------------------
# tests/browser/test_check_html.sh: the browser check itself, on pages made
# for it: a clean one passes; a console message, an external image, a
# script and a missing chart each fail it. Without this, a check-html that
# never fails would pass the real report's test (tests/e2e/scenario) too.
# ---------------------------------------------------------------------------
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/test-check-html-XXXXXX")
trap 'rm -rf "$work"' EXIT

page() { # name body
    printf '<!DOCTYPE html><html lang="de"><head><meta charset="utf-8"><title>T</title>' >"$work/$1.html"
    printf '</head><body>%s</body></html>\n' "$2" >>"$work/$1.html"
}
svg='<svg role="img" aria-label="Balken" viewBox="0 0 10 10"><rect width="5" height="5"/></svg>'
page clean "<p>gut</p>$svg<svg role=\"img\" aria-label=\"Muster\"><defs><pattern id=\"p\" width=\"4\" height=\"4\"/></defs><rect width=\"5\" height=\"5\" fill=\"url(#p)\"/></svg>"
page console "<p>x</p>$svg<script>console.error('kaputt')</script>"
page image "<p>x</p>$svg<img src=\"https://example.org/x.png\" alt=\"\">"
page cssurl "<p style=\"background: url(https://example.org/b.png)\">x</p>$svg"
page nochart "<p>ohne Diagramm</p>"
page unlabelled '<p>x</p><svg viewBox="0 0 10 10"><rect width="5" height="5"/></svg>'

failed=0
expect() { # want name
    local rc=0
    "$here/check-html" "$work/$2.html" "$work/$2.png" >"$work/$2.out" 2>&1 || rc=$?
    if [ "$1" = pass ] && [ "$rc" -ne 0 ]; then
        echo "FAIL: $2 should pass: $(cat "$work/$2.out")"
        failed=1
    elif [ "$1" = fail ] && [ "$rc" -ne 1 ]; then
        echo "FAIL: $2 should fail with 1, got $rc: $(cat "$work/$2.out")"
        failed=1
    else
        echo "ok: $2 ($1)"
    fi
}
expect pass clean
[ -s "$work/clean.png" ] || {
    echo "FAIL: no screenshot of the clean page"
    failed=1
}
expect fail console
expect fail image
expect fail cssurl
expect fail nochart
expect fail unlabelled
exit "$failed"
