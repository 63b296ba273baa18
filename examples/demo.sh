#!/usr/bin/env bash
# demo.sh - builds the example, records it with fntrace, and shows the head
# of the replay and the report.  Run by "make demo" (O = the build dir).
set -euo pipefail
O=${O:-build}
here=$(cd "$(dirname "$0")" && pwd)
out=$O/demo
mkdir -p "$out"
CC=${DEMO_CC:-clang}
# clang emits a single 5-byte NOP per function: patchable live at any time.
CFLAGS="-O1 -g -fpatchable-function-entry=5"
$CC $CFLAGS -fPIC -shared -o "$out/plugin.so" "$here/plugin.c"
$CC $CFLAGS -o "$out/demo" "$here/demo.c" -lpthread -ldl

echo "== fntrace record -o $out/demo.data $out/demo $out/plugin.so"
"$O/fntrace" record -o "$out/demo.data" "$out/demo" "$out/plugin.so"
echo
echo "== fntrace replay (head)"
"$O/fntrace" replay -i "$out/demo.data" | head -n 40
echo
echo "== fntrace report"
"$O/fntrace" report -i "$out/demo.data"
