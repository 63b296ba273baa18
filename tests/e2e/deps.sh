#!/usr/bin/env bash
# deps (issue 10): the package lists of scripts/deps.sh, which "make demo"
# and "make test" install from, cover what the build and the tests use:
#   - every header the sources include (the compiler's own list, -M),
#     every library they link, and every tool the test scripts run, maps
#     (dpkg -S) to a listed package, one it depends on, or an essential or
#     required one (on any Debian 12 machine);
# and its three paths behave:
#   - nothing missing: no output, and no apt-get or apt run at all;
#   - missing, not root: stops with the one command to run, naming exactly
#     the missing package (a fake one injected with FNT_DEPS_EXTRA), also
#     through "make demo", which then builds nothing;
#   - missing, root: apt-get update once, then install of exactly the
#     missing package, noninteractive, stdin not a terminal (apt-get is a
#     PATH shim that records its calls).
. "$(dirname "$0")/lib.sh"
DEPS=$ROOT/scripts/deps.sh
command -v dpkg-query >/dev/null || fail "not a Debian system: no dpkg-query"
# The makes run here are our own, not jobs of the make that runs the test.
unset MAKEFLAGS MFLAGS MAKELEVEL

# --- the closure of the listed packages ----------------------------------
mapfile -t listed < <(bash "$DEPS" --list test demo)
note "listed: ${listed[*]}"
for p in "${listed[@]}"; do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] ||
		fail "listed package $p is not installed (make test should have installed it)"
done
{
	apt-cache depends --recurse --installed --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances "${listed[@]}" | grep -v '^ ' | tr -d '<>'
	dpkg-query -W -f='${Package} ${Essential} ${Priority}\n' |
		awk '$2 == "yes" || $3 == "required" { print $1 }'
} | sed 's/:.*//' | sort -u >"$W/closure"
note "$(wc -l <"$W/closure") packages in the closure (listed, their dependencies, essential, required)"

# owner WHAT PATH...: each PATH's package is in the closure (one dpkg -S
# for all; merged /usr: dpkg may know /lib/... for /usr/lib/...).
bad=0
owner() {
	local what=$1 f n r pkg; shift
	local paths=()
	for f in "$@"; do
		n=$(realpath -s "$f"); r=$(readlink -f "$f")
		paths+=("$n" "${n#/usr}" "$r" "${r#/usr}")
	done
	dpkg -S "${paths[@]}" 2>/dev/null | grep -v '^diversion' |
		sed 's/^\([^:,]*\)[^ ]*: \(.*\)/\2 \1/' >"$W/owners" || true
	for f in "$@"; do
		# The path as named (a -dev package's symlink), else its target.
		n=$(realpath -s "$f"); r=$(readlink -f "$f")
		pkg=$(awk -v a="$n" -v b="${n#/usr}" -v c="$r" -v d="${r#/usr}" '
			$1 == a || $1 == b { p = $2; exit } $1 == c || $1 == d { if (q == "") q = $2 }
			END { print (p != "" ? p : q) }' "$W/owners")
		if [ -z "$pkg" ]; then
			echo "  $what $f: no package owns it"; bad=$((bad + 1))
		elif ! grep -qx "$pkg" "$W/closure"; then
			echo "  $what $f: in package $pkg, which the lists do not cover"; bad=$((bad + 1))
		fi
	done
}

# --- headers: what the compilers read for every source -------------------
cd "$ROOT"
: >"$W/headers"
hdrs() { "$@" 2>>"$W/m.err" | tr ' \\' '\n\n' | grep '^/' >>"$W/headers" || true; }
for f in src/*/*.c src/*/*/*.c tests/unit/*.c tests/stress/*.c tests/progs/*.c examples/*.c \
	 tests/e2e/userproj/*.c; do
	hdrs gcc -M -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc -Itests "$f"
	hdrs clang -M -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc -Itests "$f"
done
for f in src/*/*/*.S tests/progs/*.S; do hdrs gcc -M -Iinclude -Isrc "$f"; done
for f in tests/progs/*.cc tests/e2e/userproj/*.cc; do
	hdrs clang++ -M -Iinclude "$f"
	hdrs g++ -M -Iinclude "$f"
done
[ ! -s "$W/m.err" ] || { cat "$W/m.err"; fail "a source does not preprocess"; }
mapfile -t sys < <(grep -v "^$ROOT/" "$W/headers" | sort -u)
[ ${#sys[@]} -gt 50 ] || fail "only ${#sys[@]} system headers found"
owner header "${sys[@]}"
note "${#sys[@]} system headers checked"

# --- libraries the Makefile and the tests link ---------------------------
libs=()
for l in libelf.so libpthread.so libm.so libdl.so libc.so libasan.so libubsan.so libtsan.so \
	 libstdc++.so; do
	f=$(gcc -print-file-name=$l)
	# glibc 2.34+: libpthread and libdl are empty archives, no .so.
	[ "$f" = "$l" ] && f=$(gcc -print-file-name=${l%.so}.a)
	libs+=("$f")
done
libs+=("$(clang -print-file-name=libstdc++.so)" "$(clang -print-file-name=crtbegin.o)")
# The fuzzers (mk/fuzz.mk) link clang's libFuzzer.
libs+=("$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a)")
owner library "${libs[@]}"
note "${#libs[@]} libraries checked"

# --- tools the test scripts, the demo and the Makefile run ---------------
# The first word of every command (scripts/cmdwords.awk).  Words that are
# functions of the scripts, builtins or keywords are not tools; words that
# no installed file provides are listed.
scripts=(tests/run.sh tests/e2e/*.sh tests/e2e/*.bash examples/*.sh scripts/*.sh .ci/run)
awk -f scripts/cmdwords.awk "${scripts[@]}" | sort -u >"$W/words"
# The Makefile's recipes: their first words.
sed -n 's/^\t@\{0,1\}\([A-Za-z][A-Za-z0-9_.+-]*\).*/\1/p' Makefile mk/*.mk | sort -u >>"$W/words"
grep -ohE '^[[:space:]]*[A-Za-z_][A-Za-z0-9_]*\(\)' "${scripts[@]}" | tr -d ' \t()' | sort -u >"$W/funcs"
tools=() unknown=()
while read -r w; do
	grep -qx "$w" "$W/funcs" && continue
	case $(type -t "$w" || true) in
	builtin|keyword|function|alias) continue ;;
	# The system's copy: a user's shim earlier in PATH (pyenv) is no
	# package's, and a fresh machine has only the system's.
	file) tools+=("$(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin type -P "$w" || type -P "$w")") ;;
	*) unknown+=("$w") ;;
	esac
done <"$W/words"
# The tools are tested, not guessed: these must be among them.
for t in gcc clang clang++ g++ spin objdump nm readelf pgrep make apt-get dpkg-query; do
	printf '%s\n' "${tools[@]}" | grep -q "/$t\$" || fail "the scan missed $t"
done
owner tool "${tools[@]}"
note "${#tools[@]} tools checked: $(printf '%s\n' "${tools[@]}" | sed 's|.*/||' | tr '\n' ' ')"
note "not commands (case labels, variables): ${unknown[*]:-none}"
[ $bad -eq 0 ] || fail "$bad files are in packages scripts/deps.sh does not list"

# --- nothing missing: no apt at all ---------------------------------------
shim=$W/shim
mkdir -p "$shim"
for t in apt-get apt apt-cache aptitude curl wget; do
	cat >"$shim/$t" <<SH
#!/bin/sh
echo "$t \$* DEBIAN_FRONTEND=\${DEBIAN_FRONTEND:-} stdin=\$(readlink /proc/self/fd/0)" >>"$W/apt.log"
exit 0
SH
	chmod +x "$shim/$t"
done
: >"$W/apt.log"
PATH=$shim:$PATH bash "$DEPS" test demo >"$W/none.out" 2>&1 || { cat "$W/none.out"; fail "nothing missing: status"; }
PATH=$shim:$PATH make -s -C "$ROOT" deps >>"$W/none.out" 2>&1 || { cat "$W/none.out"; fail "make deps: status"; }
[ ! -s "$W/none.out" ] || { cat "$W/none.out"; fail "nothing missing: output"; }
[ ! -s "$W/apt.log" ] || { cat "$W/apt.log"; fail "nothing missing, yet apt was run"; }
note "nothing missing: silent, no apt call"

# --- missing, not root: the one command ----------------------------------
fake=fntrace-no-such-package
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups env PATH="$shim:$PATH" "$@"; }
rc=0
nobody env FNT_DEPS_EXTRA=$fake bash "$DEPS" test >"$W/user.out" 2>&1 || rc=$?
expect_eq $rc 1 "not root: status"
printf 'fntrace: missing Debian packages: %s\nrun:  sudo apt-get install %s\n' $fake $fake >"$W/user.want"
diff "$W/user.want" "$W/user.out" || fail "not root: the message"
# Through make demo: it stops before building anything.
rc=0
nobody env FNT_DEPS_EXTRA=$fake make -C "$ROOT" --no-print-directory O="$W/nobody-build" demo \
	>"$W/make.out" 2>&1 || rc=$?
[ $rc -ne 0 ] || fail "make demo went on with a package missing"
expect_grep "^run:  sudo apt-get install $fake\$" "$W/make.out" "make demo: the command"
[ ! -e "$W/nobody-build" ] || fail "make demo built something with a package missing"
[ ! -s "$W/apt.log" ] || { cat "$W/apt.log"; fail "not root, yet apt was run"; }
note "missing, not root: 'sudo apt-get install $fake', nothing built"

# --- missing, root: update once, install exactly the missing -------------
if [ "$(id -u)" -eq 0 ]; then
	rc=0
	FNT_DEPS_EXTRA=$fake PATH=$shim:$PATH bash "$DEPS" test >"$W/root.out" 2>&1 </dev/zero || rc=$?
	[ $rc -eq 1 ] || { cat "$W/root.out"; fail "root: status $rc (the shim installs nothing)"; }
	expect_grep "^fntrace: installing the missing Debian packages: $fake\$" "$W/root.out" "root: says what"
	expect_grep "^fntrace: apt-get install did not install: $fake\$" "$W/root.out" "root: checks after"
	printf '%s\n' "apt-get update -qq DEBIAN_FRONTEND=noninteractive stdin=/dev/null" \
		"apt-get install -y -qq --no-install-recommends $fake DEBIAN_FRONTEND=noninteractive stdin=/dev/null" \
		>"$W/apt.want"
	diff "$W/apt.want" "$W/apt.log" || fail "root: the apt-get calls"
	note "missing, root: apt-get update, then install of $fake only, noninteractive"
else
	note "not root: the root path is not tested here (CI runs as root)"
fi
