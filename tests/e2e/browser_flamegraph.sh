#!/usr/bin/env bash
# browser_flamegraph.sh - 'fntrace flamegraph' in a real browser (issue
# 13): headless Debian chromium, driven by playwright-core, opens the SVG,
# hovers a frame and reads the details line, clicks it and checks that it
# spans the view with what is not in it hidden, searches a name and checks
# that its frames and no others are highlighted with their share shown,
# then clicks the root to go back (tests/browser/flamegraph.js).  The
# screenshots go to $BUILD/screenshots/.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"
source "$ROOT/tests/browser/setup.bash"

build_flame
rec -o "$W/f.data" "$W/flame" 40 >/dev/null
"$FNTRACE" flamegraph -i "$W/f.data" -o "$W/flame.svg"
timeout 120 node "$ROOT/tests/browser/flamegraph.js" "$W/flame.svg" lib_work lib_inner \
	"$SHOTS/flamegraph.png" || fail "flame graph in chromium"
"$FNTRACE" flamegraph --inverted -i "$W/f.data" -o "$W/inverted.svg"
timeout 120 node "$ROOT/tests/browser/flamegraph.js" "$W/inverted.svg" prog_a main \
	"$SHOTS/flamegraph-inverted.png" || fail "inverted flame graph in chromium"
for f in flamegraph flamegraph-zoomed flamegraph-inverted; do
	[ -s "$SHOTS/$f.png" ] || fail "no screenshot $f.png"
done
echo "browser_flamegraph: ok"
