#!/usr/bin/env bash
# install.sh - `make install PREFIX=...` gives a working tree (issue 10,
# item 3): the installed fntrace records a program built with the
# installed pkg-config file and cflags, with exact counts, and man(1)
# renders every installed page.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

P=$W/prefix
make -s -C "$ROOT" install PREFIX="$P" SAN="${SAN:-}" >"$W/make.log" 2>&1 ||
	{ cat "$W/make.log" >&2; fail "make install"; }
for f in bin/fntrace lib/libfntrace.so include/fntrace.h lib/pkgconfig/fntrace.pc \
	share/man/man1/fntrace.1; do
	[ -f "$P/$f" ] || fail "make install: no $f"
done

# A program of the C API, configured only through the installed files.
export PKG_CONFIG_PATH=$P/lib/pkgconfig
cf=$(pkg-config --cflags fntrace) libs=$(pkg-config --libs fntrace)
tf=$("$P/bin/fntrace" cflags --cc clang)
expect_eq "$(pkg-config --variable=tracing_cflags fntrace)" "$tf" "pkg-config tracing_cflags"
# shellcheck disable=SC2086
clang -O2 $cf $tf -o "$W/api_user" "$PROGS/api_user.c" $libs
"$W/api_user" 5 >"$W/untraced" || fail "the program does not run untraced"
cd "$W"
"$P/bin/fntrace" record -o "$W/i.data" "$W/api_user" 1000 >"$W/out" 2>"$W/err" ||
	{ cat "$W/err" >&2; fail "installed fntrace record: status"; }
expect_eq "$(cat "$W/err")" "" "installed fntrace record: stderr"
"$P/bin/fntrace" report -i "$W/i.data" >"$W/report"
expect_counts "$W/out" "$W/report"
expect_eq "$(calls_of "$W/report" leaf)" 1000 "leaf recorded by the installed tree"

# Every page renders, names itself, and lists the options its command has.
pages=$(ls "$P/share/man/man1")
[ "$(echo "$pages" | wc -l)" -ge 7 ] || fail "man pages: only $pages"
for pg in $pages; do
	MANWIDTH=80 man -l "$P/share/man/man1/$pg" >"$W/page" 2>"$W/man.err" || fail "man -l $pg"
	[ -s "$W/man.err" ] && { cat "$W/man.err" >&2; fail "man -l $pg: warnings"; }
	expect_grep '^NAME' "$W/page" "$pg: NAME"
	name=${pg%.1}
	expect_grep "^ +$name - " "$W/page" "$pg: its name"
	[ "$name" = fntrace ] && continue
	cmd=${name#fntrace-}
	for opt in $("$P/bin/fntrace" "$cmd" --help | grep -oE '^  (-[a-zA-Z], )?--?[a-z-]+' | awk '{ print $NF }'); do
		grep -qF -- "$opt" "$W/page" || fail "$pg: option $opt missing"
	done
done
note "install tree: ok"
