/*
 * test_engine.c - the update engine (src/core/engine.c) on a real object.
 *
 * A small library is compiled here (clang -fpatchable-function-entry=5),
 * dlopen'ed, and registered by hand with fnt__object_add, as the runtime
 * does for each loaded object.  The engine is then driven directly with
 * fnt__mark / fnt__update: it must compute each site's wanted state from
 * the want bits (a site is a call while any bit wants it), leave alone the
 * sites that already are right (no batch at all when nothing changes),
 * batch the rest, never touch a failed site or a refused object, and
 * report a site whose bytes changed behind its back.  The code bytes are
 * read after each step, and the functions are called with a callback in
 * an ops slot to see that what is enabled really calls.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "arch/arch.h"
#include "arch/x86_64/x86.h"
#include "core/core.h"
#include "runtime/runtime.h"

static const uint8_t NOP5C[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x08 };

static char dir[] = "/tmp/fnt-test-engine-XXXXXX";
static struct fnt_object *o;
static int (*fn[4])(int);
static const char *names[4] = { "e_a", "e_b", "e_c", "e_d" };
static struct fnt_site *site[4];
static _Atomic long hits[4];

static int on_entry(const struct fnt_call *c, void *data)
{
	for (int i = 0; i < 4; i++)
		if (c->ip == site[i]->addr)
			hits[i]++;
	return 0;
}

static struct fnt_ops ops = { .entry = on_entry };

static int enabled(int i)
{
	return !!(site[i]->flags & FNT_SITE_ENABLED);
}

/* Is the site's code a call to the object's near page? */
static int is_call(int i)
{
	uint8_t call[5];

	fnt__x86_encode_call(site[i]->addr, fnt__x86_near_entry(o), call);
	return !memcmp((void *)site[i]->addr, call, 5);
}

static int is_nop(int i)
{
	return !memcmp((void *)site[i]->addr, NOP5C, 5);
}

/* Each function called once; returns the sum of results. */
static long call_all(void)
{
	long s = 0;

	for (int i = 0; i < 4; i++)
		s += fn[i](i + 10);
	return s;
}

static int mark(const char *filter, int bit, int set)
{
	char err[160];

	return fnt__mark(o, filter, 1u << bit, set, err, sizeof(err));
}

/* Checks enabled flags and bytes agree with want (bitmask of e_a..e_d). */
#define CHECK_STATE(want)                                               \
	do {                                                            \
		for (int i_ = 0; i_ < 4; i_++) {                        \
			int w_ = !!((want) & (1 << i_));                \
			CHECK_EQ(enabled(i_), w_);                      \
			CHECK_EQ(w_ ? is_call(i_) : is_nop(i_), 1);     \
		}                                                       \
	} while (0)

static int setup(void)
{
	char c[1024], path[600];
	struct link_map *lm;
	void *h;
	FILE *f;

	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/e.c", dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs("#define N __attribute__((noinline))\n"
	      "N int e_a(int x) { __asm__ volatile(\"\"); return x + 1; }\n"
	      "N int e_b(int x) { __asm__ volatile(\"\"); return x * 3; }\n"
	      "N int e_c(int x) { __asm__ volatile(\"\"); return x - 5; }\n"
	      "N int e_d(int x) { __asm__ volatile(\"\"); return x ^ 7; }\n", f);
	fclose(f);
	snprintf(c, sizeof(c),
		 "cd %s && clang -O2 -fPIC -shared -fpatchable-function-entry=5 -o e.so e.c", dir);
	if (system(c))
		return -1;
	snprintf(path, sizeof(path), "%s/e.so", dir);
	h = dlopen(path, RTLD_NOW);
	if (!h || dlinfo(h, RTLD_DI_LINKMAP, &lm))
		return -1;
	for (int i = 0; i < 4; i++)
		fn[i] = (int (*)(int))dlsym(h, names[i]);
	pthread_mutex_lock(&fnt__lock);
	/* Not quiescent: NOP5 needs no conversion, so that is fine. */
	CHECK_EQ(fnt__object_add(lm->l_name, lm->l_addr, lm, 0), 0);
	pthread_mutex_unlock(&fnt__lock);
	o = fnt__objects;
	if (!o || strcmp(o->path, lm->l_name)) {
		fprintf(stderr, "FAIL: the object was not registered\n");
		return -1;
	}
	CHECK_EQ(o->nsites, 4);
	for (int i = 0; i < 4; i++) {
		site[i] = fnt__site_find(o, (uintptr_t)fn[i]);
		if (!site[i]) {
			fprintf(stderr, "FAIL: no site for %s\n", names[i]);
			return -1;
		}
		CHECK_STR(fnt__site_name(o, site[i]), names[i]);
		CHECK_EQ(site[i]->form, X86_NOP5_CLANG);
	}
	return 0;
}

static void test_update(void)
{
	uint64_t b0;
	long want = call_all();

	CHECK_STATE(0);
	atomic_store(&fnt__ops[5], &ops);

	/* Two sites wanted by bit 3: one batch for both. */
	CHECK_EQ(mark("e_a,e_b", 3, 1), 0);
	CHECK_EQ(site[0]->want, 1u << 3);
	CHECK_EQ(site[2]->want, 0);
	b0 = fnt__stats.batches;
	CHECK_EQ(fnt__update(), 0);
	CHECK_EQ(fnt__stats.batches - b0, 1);
	CHECK_STATE(0x3);
	/* Enabled sites call, and only they (bit 3 has no ops: silent). */
	CHECK_EQ(call_all(), want);
	CHECK_EQ(hits[0] + hits[1] + hits[2] + hits[3], 0);

	/* Nothing changed: nothing written, no batch. */
	b0 = fnt__stats.batches;
	CHECK_EQ(fnt__update(), 0);
	CHECK_EQ(fnt__stats.batches, b0);

	/* A second bit on an enabled site changes nothing in the code, but its
	 * ops is now called; e_c joins: one batch with one site. */
	CHECK_EQ(mark("e_a e_c", 5, 1), 0);
	CHECK_EQ(site[0]->want, (1u << 3) | (1u << 5));
	CHECK_EQ(fnt__update(), 0);
	CHECK_EQ(fnt__stats.batches - b0, 1);
	CHECK_STATE(0x7);
	CHECK_EQ(call_all(), want);
	CHECK_EQ(hits[0], 1);
	CHECK_EQ(hits[1], 0);
	CHECK_EQ(hits[2], 1);
	CHECK_EQ(hits[3], 0);

	/* Bit 3 goes: e_a stays (bit 5 wants it), e_b goes. */
	CHECK_EQ(mark(NULL, 3, 0), 0);
	CHECK_EQ(fnt__update(), 0);
	CHECK_STATE(0x5);
	/* Bit 5 goes for e_a only. */
	CHECK_EQ(mark("e_a", 5, 0), 0);
	CHECK_EQ(fnt__update(), 0);
	CHECK_STATE(0x4);
	CHECK_EQ(call_all(), want);
	CHECK_EQ(hits[0], 1);
	CHECK_EQ(hits[2], 2);

	/* A failed site is never patched, whoever wants it. */
	site[3]->flags |= FNT_SITE_FAILED;
	CHECK_EQ(mark(NULL, 5, 1), 0);
	CHECK_EQ(fnt__update(), 0);
	CHECK_STATE(0x7);
	CHECK_EQ(site[3]->want, 1u << 5);
	site[3]->flags &= (uint16_t)~FNT_SITE_FAILED;

	/* A refused object: every site goes back to a NOP. */
	o->refused = 1;
	CHECK_EQ(fnt__update(), 0);
	CHECK_STATE(0);
	o->refused = 0;

	/* The quiescent path (la_objopen): plain writes, no batch counted. */
	b0 = fnt__stats.batches;
	CHECK_EQ(fnt__update_quiescent(o), 0);
	CHECK_EQ(fnt__stats.batches, b0);
	CHECK_STATE(0xf);
	CHECK_EQ(mark(NULL, 5, 0), 0);
	CHECK_EQ(fnt__update(), 0);
	CHECK_STATE(0);
	CHECK_EQ(call_all(), want);

	/* A bad filter: -EINVAL, and no want bit changed. */
	{
		char err[160] = "";

		CHECK_EQ(fnt__mark(o, "e_[a", 1u << 6, 1, err, sizeof(err)), -EINVAL);
		CHECK_HAS(err, "unclosed");
		for (int i = 0; i < 4; i++)
			CHECK_EQ(site[i]->want, 0);
	}
	atomic_store(&fnt__ops[5], NULL);
}

/* A site rewritten behind the engine's back: refused, reported, killed. */
static void child_changed_bytes(void)
{
	static const uint8_t junk[5] = { 0x55, 0x48, 0x89, 0xe5, 0x90 };

	fnt__x86_text_writable(o, 1);
	memcpy((void *)site[1]->addr, junk, 5);
	fnt__x86_text_writable(o, 0);
	CHECK_EQ(mark("e_a,e_b", 3, 1), 0);
	CHECK_EQ(fnt__update(), -EINVAL);
	CHECK_EQ(fnt__killed, 1);
	CHECK_HAS(fnt__report, "e_b");
	CHECK_HAS(fnt__report, "found [55 48 89 e5 90]");
	/* Verified before any write: e_a, first in the batch, is untouched. */
	CHECK_EQ(is_nop(0), 1);
	CHECK_MEM((void *)site[1]->addr, junk, 5);
	/* From now on the engine refuses. */
	CHECK_EQ(fnt__update(), -ENODEV);
}

/* Builds dir/NAME.so of n functions, each long enough that the sites span
 * many of the registration's 64 KiB file windows; returns 0 or -1. */
static int build_many(const char *name, int n)
{
	char c[1024], path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.c", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	for (int i = 0; i < n; i++)
		fprintf(f, "__attribute__((noinline)) int m_%d(int x) "
			"{ __asm__ volatile(\".skip 128, 0x90\"); return x + %d; }\n", i, i);
	fclose(f);
	snprintf(c, sizeof(c),
		 "cd %s && clang -O2 -fPIC -shared -fpatchable-function-entry=5 -o %s.so %s.c",
		 dir, name, name);
	return system(c) ? -1 : 0;
}

/* Registers the object loaded from path; returns its record or NULL. */
static struct fnt_object *load_and_add(const char *path)
{
	struct link_map *lm;
	void *h = dlopen(path, RTLD_NOW);
	int r;

	if (!h || dlinfo(h, RTLD_DI_LINKMAP, &lm))
		return NULL;
	pthread_mutex_lock(&fnt__lock);
	r = fnt__object_add(lm->l_name, lm->l_addr, lm, 0);
	pthread_mutex_unlock(&fnt__lock);
	return r ? NULL : fnt__objects;
}

/*
 * Registration compares the mapped bytes of every site with the file's.
 * An object of 2,000 sites over some 280 KiB is accepted; one whose file
 * was replaced after it was mapped, with a single byte changed at its last
 * site (far past the first window), is refused whole.
 */
static void test_file_check(void)
{
	char path[600], tmp[600], c[1400];
	struct fnt_object *m;
	struct fnt_elf e;
	uint64_t off = 0, avail = 0, last = 0;
	char err[256];
	int fd;
	uint8_t b;

	if (build_many("many", 2000)) {
		fprintf(stderr, "FAIL: cannot build many.so\n");
		check_failures++;
		return;
	}
	snprintf(path, sizeof(path), "%s/many.so", dir);
	m = load_and_add(path);
	CHECK(m != NULL);
	if (!m)
		return;
	CHECK_EQ(m->nsites, 2000);
	CHECK_EQ(m->refused, 0);
	CHECK(m->sites[m->nsites - 1].addr - m->sites[0].addr > 3 * 64 * 1024);

	/* A copy, loaded, then replaced on disk by a copy with its last
	 * site's first byte changed (the mapping keeps the old file). */
	snprintf(c, sizeof(c), "cd %s && cp many.so copy.so && cp many.so next.so", dir);
	CHECK_EQ(system(c), 0);
	snprintf(path, sizeof(path), "%s/copy.so", dir);
	snprintf(tmp, sizeof(tmp), "%s/next.so", dir);
	CHECK_EQ(fnt_elf_open(&e, tmp, err, sizeof(err)), 0);
	last = e.sites[e.nsites - 1];
	CHECK_EQ(fnt_elf_vaddr_off(&e, last, &off, &avail), 0);
	fnt_elf_close(&e);
	fd = open(tmp, O_RDWR);
	CHECK(fd >= 0 && pread(fd, &b, 1, (off_t)off) == 1);
	b ^= 0xff;
	CHECK(fd >= 0 && pwrite(fd, &b, 1, (off_t)off) == 1);
	if (fd >= 0)
		close(fd);
	{
		void *h = dlopen(path, RTLD_NOW);
		struct link_map *lm;

		CHECK(h != NULL && dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0);
		CHECK_EQ(rename(tmp, path), 0);
		pthread_mutex_lock(&fnt__lock);
		CHECK_EQ(fnt__object_add(lm->l_name, lm->l_addr, lm, 0), 0);
		pthread_mutex_unlock(&fnt__lock);
		m = fnt__objects;
		CHECK(!strcmp(m->path, lm->l_name));
		CHECK_EQ(m->refused, 1);
		for (uint32_t i = 0; i < m->nsites; i++)
			CHECK(m->sites[i].flags & FNT_SITE_FAILED);
	}
}

int main(void)
{
	char c[600];
	int st;
	pid_t pid;

	if (setup()) {
		fprintf(stderr, "FAIL: setup\n");
		return 1;
	}
	test_update();
	test_file_check();
	pid = fork();
	if (!pid) {
		check_failures = 0;
		child_changed_bytes();
		_exit(100 + check_failures);
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 100);
	CHECK_EQ(fnt__killed, 0);
	snprintf(c, sizeof(c), "rm -rf %s", dir);
	if (system(c))
		fprintf(stderr, "cannot remove %s\n", dir);
	return check_done("test_engine");
}
