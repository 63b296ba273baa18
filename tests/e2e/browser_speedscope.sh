#!/usr/bin/env bash
# browser_speedscope.sh - 'fntrace dump --chrome' in a real trace viewer
# (issue 13): speedscope, from its npm package, is served from localhost
# and loads the file in headless Debian chromium (tests/browser/
# speedscope.js); its Sandwich table must list the recorded functions with
# report's total times.  The screenshots go to $BUILD/screenshots/.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"
source "$ROOT/tests/browser/setup.bash"

build_flame
rec -o "$W/f.data" "$W/flame" 40 >/dev/null
"$FNTRACE" dump --chrome -i "$W/f.data" -o "$W/trace.json"
# NAME=NS: each function's total time in report, in nanoseconds.
want=$("$FNTRACE" report -i "$W/f.data" | awk '
	$1 ~ /^[0-9.]+$/ && NF == 12 { m = $2 == "us" ? 1e3 : $2 == "ms" ? 1e6 : $2 == "s" ? 1e9 : 1
		printf "%s%s=%d", sep, $12, $1 * m; sep = "," }')
note "report: $want"
[ -n "$want" ] || fail "no function in the report"
timeout 120 node "$ROOT/tests/browser/speedscope.js" "$NPM_DIR/node_modules/speedscope/dist/release" \
	"$W/trace.json" "$want" "$SHOTS/speedscope.png" || fail "speedscope in chromium"
for f in speedscope speedscope-sandwich; do
	[ -s "$SHOTS/$f.png" ] || fail "no screenshot $f.png"
done
echo "browser_speedscope: ok"
