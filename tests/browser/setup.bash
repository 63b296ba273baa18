# tests/browser/setup.bash - sourced by the browser tests (after
# rec_common.bash): Debian's chromium must be there (scripts/deps.sh test
# installs it, as make test does first), and playwright-core and speedscope
# are installed by npm ci from package-lock.json into $BUILD/npm, once per
# change of the lock.  Nothing is skipped: what is missing fails the test
# with the one thing to do.
[ -x /usr/bin/chromium ] ||
	fail "no /usr/bin/chromium: install Debian's chromium ('scripts/deps.sh test' as root, or 'apt-get install chromium')"
command -v node >/dev/null || fail "no node: install Node.js (Debian's nodejs)"
command -v npm >/dev/null || fail "no npm: install npm with Node.js"
NPM_DIR=$BUILD/npm
SHOTS=$BUILD/screenshots
mkdir -p "$NPM_DIR" "$SHOTS"
(
	# One install at a time, and only when the lock changed.
	flock 9
	if ! cmp -s "$ROOT/tests/browser/package-lock.json" "$NPM_DIR/package-lock.json" ||
	   [ ! -d "$NPM_DIR/node_modules/playwright-core" ] || [ ! -d "$NPM_DIR/node_modules/speedscope" ]; then
		cp "$ROOT/tests/browser/package.json" "$ROOT/tests/browser/package-lock.json" "$NPM_DIR/"
		(cd "$NPM_DIR" && npm ci --no-audit --no-fund --loglevel=error) >"$W/npm.log" 2>&1 ||
			{ cat "$W/npm.log" >&2; exit 1; }
	fi
) 9>"$NPM_DIR/.lock" || fail "npm ci of tests/browser/package-lock.json into $NPM_DIR failed"
export NODE_PATH=$NPM_DIR/node_modules
