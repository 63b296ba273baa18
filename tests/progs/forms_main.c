/*
 * forms_main.c - the sample program of tests/e2e/forms.sh.  It is built
 * once per compiler / flag combination (each entry form the runtime
 * accepts) and calls a known number of functions, so that the test can
 * check that tracing changes nothing in what the program computes and
 * that each function's callbacks fire exactly as often as it is called.
 *
 * usage: forms_main MODE [ARG]
 *   plain          no fntrace call at all: prints the result (the reference)
 *   ops            fnt_register_ops with a filter; exact counts; unregister
 *   enable         the built-in tracer with fnt_enable / fnt_disable
 *   plugin PATH    ops registered, then PATH dlopen'ed and its p_* counted
 *   refused        the executable's sites were refused: registering ops for
 *                  everything enables nothing, calls back nothing
 *   dead           an anomaly disabled patching at start-up: the API must
 *                  say -ENODEV and the program still computes its result
 *
 * Every mode prints "result=N" and then "OK", or "FAILED: why" and exits 1.
 * FORMS_JUNK=1 says the build also linked junk_fn (a function whose entry
 * bytes are no known form, listed in __mcount_loc): its site must be
 * refused and never called back.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fntrace.h"

#ifdef __clang__
#define NOINL __attribute__((noinline, used))
#else
#define NOINL __attribute__((noinline, noclone, used))
#endif
#define N 1000

/* Optional, from forms_junk.S; weak so most builds do without it. */
extern int junk_fn(int x) __attribute__((weak));

NOINL int f_leaf(int x) { __asm__ volatile(""); return x * 7 + 3; }
NOINL int f_mid(int x) { __asm__ volatile(""); return f_leaf(x) ^ f_leaf(x >> 2); }
NOINL static int s_static(int x) { __asm__ volatile(""); return x - (x >> 3); }
NOINL int u_other(int x) { __asm__ volatile(""); return x | 1; }

NOINL long f_top(int n)
{
	long s = 0;

	for (int i = 0; i < n; i++) {
		s = s * 31 + f_mid(i) + s_static(i) + u_other(i);
		if (junk_fn)
			s += junk_fn(i);
	}
	return s;
}

/* Per-function callback counts, indexed as in fns[]. */
enum { LEAF, MID, STATIC, OTHER, TOP, JUNK, PLEAF, PWORK, NFN };
static const char *names[NFN] = { "f_leaf", "f_mid", "s_static", "u_other", "f_top",
				  "junk_fn", "p_leaf", "p_work" };
static uintptr_t fns[NFN];
static _Atomic long entries[NFN], exits[NFN], unknown;
/* The (object, site index) the runtime gave each function's calls. */
static uint32_t obj_of[NFN], idx_of[NFN];

/* The site is the function's first byte, or follows endbr64. */
static int which(uintptr_t ip)
{
	for (int i = 0; i < NFN; i++)
		if (fns[i] && (ip == fns[i] || ip == fns[i] + 4))
			return i;
	return -1;
}

static int on_entry(const struct fnt_call *c, void *data)
{
	int i = which(c->ip);

	if (i < 0) {
		unknown++;
	} else {
		entries[i]++;
		obj_of[i] = c->object_id;
		idx_of[i] = c->site_index;
	}
	return 0;
}

/* The built-in tracer's own count, apart from the ops'. */
static _Atomic long bentries[NFN];

static int on_builtin(const struct fnt_call *c, void *data)
{
	int i = which(c->ip);

	if (i >= 0)
		bentries[i]++;
	return 0;
}

/* Exits reported where the return slot still holds the real return
 * address: at an exit site, before the ret.  A hooked return reports its
 * exit after the ret, from a trampoline whose pushes overwrote the slot. */
static _Atomic long at_site, exits_seen;

static void on_exit_cb(const struct fnt_call *c, void *data)
{
	int i = which(c->ip);

	if (i >= 0) {
		exits[i]++;
		exits_seen++;
		if (*(const uintptr_t *)c->frame == c->parent_ip)
			at_site++;
	}
}

static int failed;

/* The runtime names the site it reported for fn from the symbol table,
 * static functions included, at the address the callback saw. */
static void check_name(int fn)
{
	const char *name = NULL;
	uintptr_t addr = 0;
	int ret = fnt_site_info(obj_of[fn], idx_of[fn], &name, &addr);

	if (ret || !name || strcmp(name, names[fn]) || (addr != fns[fn] && addr != fns[fn] + 4)) {
		printf("FAILED: fnt_site_info(%u, %u): %d %s %#lx, expected %s at %#lx\n",
		       obj_of[fn], idx_of[fn], ret, name ? name : "(null)", (unsigned long)addr,
		       names[fn], (unsigned long)fns[fn]);
		failed = 1;
	}
}

static void expect(int fn, long want)
{
	if (entries[fn] != want || exits[fn] != want) {
		printf("FAILED: %s: %ld entries and %ld exits, expected %ld\n", names[fn],
		       (long)entries[fn], (long)exits[fn], want);
		failed = 1;
	}
}

static void reset(void)
{
	for (int i = 0; i < NFN; i++)
		entries[i] = exits[i] = 0;
	unknown = 0;
}

static long total(void)
{
	long t = unknown;

	for (int i = 0; i < NFN; i++)
		t += entries[i] + exits[i];
	return t;
}

static void check_status(const char *when, uint64_t want_enabled)
{
	struct fnt_status st;
	int ret = fnt_status(&st);

	if (ret) {
		printf("FAILED: fnt_status: %s\n", fnt_strerror(ret));
		failed = 1;
		return;
	}
	if (st.disabled || st.enabled != want_enabled) {
		printf("FAILED: %s: status enabled=%lu disabled=%d (%s), expected enabled=%lu\n",
		       when, (unsigned long)st.enabled, st.disabled, st.report,
		       (unsigned long)want_enabled);
		failed = 1;
	}
	if (getenv("FORMS_JUNK") && st.failed < 1) {
		printf("FAILED: %s: junk_fn's site not counted as failed\n", when);
		failed = 1;
	}
}

static void check_junk(void)
{
	if (junk_fn && (entries[JUNK] || exits[JUNK])) {
		printf("FAILED: junk_fn, a refused site, was called back\n");
		failed = 1;
	}
}

static int mode_ops(long ref)
{
	/* Commas, spaces and an exclusion in one filter. */
	struct fnt_ops ops = { .filter = "f_*,s_static junk_fn !f_top", .entry = on_entry,
			       .exit = on_exit_cb };
	long r, after;
	int ret = fnt_register_ops(&ops);

	if (ret) {
		printf("FAILED: fnt_register_ops: %s\n", fnt_strerror(ret));
		return 1;
	}
	/* f_leaf, f_mid, s_static (f_top is excluded, junk_fn refused). */
	check_status("registered", 3);
	r = f_top(N);
	if (r != ref) {
		printf("FAILED: traced result %ld, untraced %ld\n", r, ref);
		failed = 1;
	}
	expect(LEAF, 2 * N);
	expect(MID, N);
	expect(STATIC, N);
	expect(OTHER, 0);
	expect(TOP, 0);
	check_junk();
	check_name(LEAF);
	check_name(STATIC);
	if (unknown) {
		printf("FAILED: %ld callbacks for functions outside the filter\n", (long)unknown);
		failed = 1;
	}
	ret = fnt_unregister_ops(&ops);
	if (ret) {
		printf("FAILED: fnt_unregister_ops: %s\n", fnt_strerror(ret));
		return 1;
	}
	check_status("unregistered", 0);
	after = total();
	r = f_top(N);
	if (r != ref || total() != after) {
		printf("FAILED: after unregister: result %ld (want %ld), %ld more callbacks\n", r,
		       ref, total() - after);
		failed = 1;
	}
	return failed;
}

static int mode_enable(long ref)
{
	long r, after;
	int ret = fnt_set_builtin_tracer(on_entry, on_exit_cb, NULL);

	if (!ret)
		ret = fnt_enable("f_* s_*");
	if (!ret)
		ret = fnt_disable("f_top");	/* narrowed again, live */
	if (ret) {
		printf("FAILED: builtin tracer: %s\n", fnt_strerror(ret));
		return 1;
	}
	check_status("enabled", 3);
	r = f_top(N);
	if (r != ref) {
		printf("FAILED: traced result %ld, untraced %ld\n", r, ref);
		failed = 1;
	}
	expect(LEAF, 2 * N);
	expect(MID, N);
	expect(STATIC, N);
	expect(OTHER, 0);
	expect(TOP, 0);
	check_junk();
	/* Only the leaf now: the others must stop at once. */
	ret = fnt_disable("f_mid,s_static");
	if (ret) {
		printf("FAILED: fnt_disable: %s\n", fnt_strerror(ret));
		return 1;
	}
	check_status("leaf only", 1);
	reset();
	r = f_top(N);
	expect(LEAF, 2 * N);
	expect(MID, 0);
	expect(STATIC, 0);
	ret = fnt_disable(NULL);
	if (ret) {
		printf("FAILED: fnt_disable(NULL): %s\n", fnt_strerror(ret));
		return 1;
	}
	check_status("disabled", 0);
	after = total();
	r = f_top(N);
	if (r != ref || total() != after) {
		printf("FAILED: after disable: result %ld (want %ld), %ld more callbacks\n", r, ref,
		       total() - after);
		failed = 1;
	}
	return failed;
}

static int mode_plugin(long ref, const char *path)
{
	struct fnt_ops ops = { .filter = "p_*,f_leaf", .entry = on_entry, .exit = on_exit_cb };
	long (*work)(int);
	void *h;
	long r, after;
	int ret = fnt_register_ops(&ops);

	/* The built-in tracer's set is replayed on objects loaded later. */
	if (!ret)
		ret = fnt_set_builtin_tracer(on_builtin, NULL, NULL);
	if (!ret)
		ret = fnt_enable("p_work");
	if (ret) {
		printf("FAILED: ops or built-in tracer: %s\n", fnt_strerror(ret));
		return 1;
	}
	/* Loaded while the ops is registered: its p_* sites are enabled as
	 * it is registered (la_objopen), before its code runs. */
	h = dlopen(path, RTLD_NOW);
	if (!h) {
		printf("FAILED: dlopen: %s\n", dlerror());
		return 1;
	}
	work = (long (*)(int))dlsym(h, "p_work");
	fns[PWORK] = (uintptr_t)work;
	fns[PLEAF] = (uintptr_t)dlsym(h, "p_leaf");
	if (!work || !fns[PLEAF]) {
		printf("FAILED: dlsym: %s\n", dlerror());
		return 1;
	}
	/* p_leaf, p_work and our f_leaf; FORMS_EXE_REFUSED: the executable's
	 * sites were refused, only the plugin's two are enabled. */
	check_status("plugin loaded", getenv("FORMS_EXE_REFUSED") ? 2 : 3);
	/* p_work sums p_leaf(i) = 7i + 3 over i < n. */
	ref = 7L * N * (N - 1) / 2 + 3L * N;
	r = work(N);
	if (r != ref) {
		printf("FAILED: plugin result %ld, expected %ld\n", r, ref);
		failed = 1;
	}
	expect(PWORK, 1);
	expect(PLEAF, N);
	if (bentries[PWORK] != 1 || bentries[PLEAF] != 0) {
		printf("FAILED: built-in tracer: p_work %ld, p_leaf %ld, expected 1 and 0\n",
		       (long)bentries[PWORK], (long)bentries[PLEAF]);
		failed = 1;
	}
	ret = fnt_disable(NULL);
	if (ret) {
		printf("FAILED: fnt_disable: %s\n", fnt_strerror(ret));
		return 1;
	}
	expect(LEAF, 0);	/* the plugin has its own leaf; ours is not called */
	check_name(PLEAF);
	ret = fnt_unregister_ops(&ops);
	if (ret) {
		printf("FAILED: fnt_unregister_ops: %s\n", fnt_strerror(ret));
		return 1;
	}
	check_status("unregistered", 0);
	after = total();
	r = work(N);
	if (r != ref || total() != after) {
		printf("FAILED: after unregister: result %ld, %ld more callbacks\n", r,
		       total() - after);
		failed = 1;
	}
	return failed;
}

static int mode_refused(long ref)
{
	struct fnt_ops ops = { .filter = "f_* s_* u_*", .entry = on_entry, .exit = on_exit_cb };
	int ret = fnt_register_ops(&ops);
	long r;

	if (ret) {
		printf("FAILED: fnt_register_ops: %s\n", fnt_strerror(ret));
		return 1;
	}
	check_status("refused object", 0);
	/* The refusal is visible in the status: the object counts as refused
	 * and its sites (ours at least: f_leaf f_mid s_static u_other f_top
	 * main) as failed.  Reported apart, so the test can tell it. */
	{
		struct fnt_status st;

		fnt_status(&st);
		if (st.objects_refused < 1 || st.failed < 6) {
			printf("FAILED: status: objects_refused=%u failed=%lu objects=%u sites=%lu "
			       "after the executable's sites were refused\n", st.objects_refused,
			       (unsigned long)st.failed, st.objects, (unsigned long)st.sites);
			failed = 1;
		}
	}
	r = f_top(N);
	if (r != ref || total()) {
		printf("FAILED: result %ld (want %ld), %ld callbacks\n", r, ref, total());
		failed = 1;
	}
	fnt_unregister_ops(&ops);
	return failed;
}

static int mode_dead(long ref)
{
	struct fnt_ops ops = { .filter = NULL, .entry = on_entry };
	struct fnt_status st;
	int ret;
	long r;

	if (fnt_status(&st) || st.disabled != 1 || !st.report[0]) {
		printf("FAILED: patching should be disabled with a report (disabled=%d)\n",
		       st.disabled);
		return 1;
	}
	printf("report: %s\n", st.report);
	ret = fnt_enable(NULL);
	if (ret != -ENODEV) {
		printf("FAILED: fnt_enable returned %d, expected -ENODEV\n", ret);
		failed = 1;
	}
	ret = fnt_register_ops(&ops);
	if (ret != -ENODEV) {
		printf("FAILED: fnt_register_ops returned %d, expected -ENODEV\n", ret);
		failed = 1;
	}
	r = f_top(N);
	if (r != ref || total()) {
		printf("FAILED: result %ld (want %ld), %ld callbacks\n", r, ref, total());
		failed = 1;
	}
	return failed;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "plain";
	long ref;

	fns[LEAF] = (uintptr_t)f_leaf;
	fns[MID] = (uintptr_t)f_mid;
	fns[STATIC] = (uintptr_t)s_static;
	fns[OTHER] = (uintptr_t)u_other;
	fns[TOP] = (uintptr_t)f_top;
	fns[JUNK] = (uintptr_t)junk_fn;
	/* The reference, computed before anything is enabled. */
	ref = f_top(N);
	printf("result=%ld\n", ref);
	if (!strcmp(mode, "plain"))
		return 0;
	if (!strcmp(mode, "ops"))
		failed = mode_ops(ref);
	else if (!strcmp(mode, "enable"))
		failed = mode_enable(ref);
	else if (!strcmp(mode, "plugin") && argc > 2)
		failed = mode_plugin(ref, argv[2]);
	else if (!strcmp(mode, "refused"))
		failed = mode_refused(ref);
	else if (!strcmp(mode, "dead"))
		failed = mode_dead(ref);
	else {
		printf("FAILED: bad mode %s\n", mode);
		return 2;
	}
	if (failed)
		return 1;
	printf("exits at exit sites: %ld of %ld\n", (long)at_site, (long)exits_seen);
	printf("OK\n");
	return 0;
}
