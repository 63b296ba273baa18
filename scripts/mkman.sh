#!/usr/bin/env bash
# scripts/mkman.sh - builds the man pages (man/*.1.in) from the fntrace
# binary's own help, so the pages always say what the command does:
#
#   scripts/mkman.sh FNTRACE OUTDIR
#
# fntrace.1 lists the commands of "fntrace --help"; fntrace-CMD.1 takes its
# synopsis, description and options from "fntrace CMD --help".  Plain troff
# (the man macros), rendered by man-db's man(1); nothing outside bash, awk
# and sed is needed to build them.
set -euo pipefail
bin=$1 out=$2
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
version=$("$bin" --version | awk '{ print $2 }')
date=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(stat -c %Y "$here/man/cmd.1.in")}" +%Y-%m-%d)

# troff-safe text: backslashes, minus signs, and a leading dot or quote.
esc() { sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }

# Fills a template: @KEY@ lines or words from files named KEY in $tmp.
fill() {
	awk -v dir="$tmp" -v date="$date" -v version="$version" '
	function slurp(k,   f, l, s) {
		f = dir "/" k; s = ""
		while ((getline l < f) > 0) s = s l "\n"
		close(f); sub(/\n$/, "", s); return s
	}
	{
		gsub(/@DATE@/, date); gsub(/@VERSION@/, version)
		while (match($0, /@[A-Z]+@/)) {
			k = substr($0, RSTART + 1, RLENGTH - 2)
			$0 = substr($0, 1, RSTART - 1) slurp(k) substr($0, RSTART + RLENGTH)
		}
		print
	}' "$1"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmds=$("$bin" --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }')
: >"$tmp/COMMANDS"
see=""
for c in $cmds; do
	summary=$("$bin" --help | awk -v c="$c" '$1 == c { $1 = ""; sub(/^ +/, ""); print; exit }')
	printf '.TP\n.B %s\n%s\n' "$c" "$(printf '%s' "$summary" | esc)" >>"$tmp/COMMANDS"
	see="$see.BR fntrace\\-$c (1),\n"
done
printf "${see%,\\n}\n" >"$tmp/SEEALSO"
fill "$here/man/fntrace.1.in" >"$out/fntrace.1"

for c in $cmds; do
	"$bin" "$c" --help >"$tmp/help"
	printf '%s' "$c" >"$tmp/CMD"
	printf '%s' "$c" | tr a-z A-Z >"$tmp/UCMD"
	"$bin" --help | awk -v c="$c" '$1 == c { $1 = ""; sub(/^ +/, ""); print; exit }' | esc >"$tmp/SUMMARY"
	sed -n '1s/^usage: //p' "$tmp/help" | esc | sed 's/^/.B /' >"$tmp/SYNOPSIS"
	# Description: the lines before the first option, and the notes after
	# the options; indented ones are kept as they are.  Options: one .TP
	# each, continuation lines (deeper indentation) joined to it.
	esc <"$tmp/help" | awk -v dir="$tmp" '
	NR == 1 { next }
	/^  \\-/ {
		opts = 1
		line = $0; sub(/^  /, "", line)
		if (match(line, /  +/)) {
			tag = substr(line, 1, RSTART - 1); text = substr(line, RSTART + RLENGTH)
		} else { tag = line; text = "" }
		printf ".TP\n.B %s\n", tag > (dir "/OPTIONS")
		if (text != "")
			print text > (dir "/OPTIONS")
		next
	}
	opts && /^      +/ { t = $0; sub(/^ +/, "", t); print t > (dir "/OPTIONS"); next }
	/^  / { if (!pre) print ".PP\n.nf" > (dir "/DESCRIPTION"); pre = 1; print > (dir "/DESCRIPTION"); next }
	{ if (pre) print ".fi" > (dir "/DESCRIPTION"); pre = 0
	  if (opts && !notes) { print ".PP" > (dir "/DESCRIPTION"); notes = 1 }
	  print > (dir "/DESCRIPTION") }
	END { if (pre) print ".fi" > (dir "/DESCRIPTION") }'
	touch "$tmp/OPTIONS" "$tmp/DESCRIPTION"
	fill "$here/man/cmd.1.in" >"$out/fntrace-$c.1"
	rm -f "$tmp/OPTIONS" "$tmp/DESCRIPTION"
done
