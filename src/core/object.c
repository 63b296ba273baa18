/*
 * object.c - the life of an object's site records (seeds 000 and 001).
 *
 * A record is created from the object's build-time tables, before any of
 * its code can run (rtld-audit la_objopen), and dies with the object's
 * code: after its destructors and before its memory is unmapped
 * (la_objclose).  Records are never created for code found at run time,
 * and never used after they died.
 *
 * Registration checks, in order: the file's tables name addresses inside
 * the object's executable segments; the bytes mapped at every site are the
 * bytes of the file (the file on disk is the one that is mapped); each
 * site has one of the entry forms the arch layer accepts.  A site outside
 * the text is an anomaly that disables patching for good; a mapping that
 * differs from its file, or a site of unknown form, is refused and
 * reported, and nothing else changes.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/arch.h"
#include "core/core.h"
#include "util/errors.h"
#include "util/log.h"

/* Recursive: an object hook may look sites up while we register. */
pthread_mutex_t fnt__lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
__thread int fnt__in_runtime;
_Atomic int fnt__killed;
struct fnt_object *fnt__objects;
struct fnt_stats fnt__stats;
char fnt__report[1024];
static uint32_t next_id = 1;

void fnt__kill(const char *fmt, ...)
{
	va_list ap;

	if (atomic_load_explicit(&fnt__killed, memory_order_relaxed))
		return;
	va_start(ap, fmt);
	/* Not vsnprintf: this may run inside a hook (see util/log.c). */
	fnt__vformat(fnt__report, sizeof(fnt__report), fmt, ap);
	va_end(ap);
	fnt__log("%s", fnt__report);
	fnt__log("patching is disabled for good; the program keeps running untraced");
	/* relaxed: the trampolines only need to see it eventually; every
	 * patching entry point reads it under fnt__lock. */
	atomic_store_explicit(&fnt__killed, 1, memory_order_relaxed);
}

static void hex(char *out, size_t outlen, const uint8_t *b, size_t n)
{
	size_t k = 0;

	out[0] = 0;
	for (size_t i = 0; i < n && k + 4 < outlen; i++)
		k += (size_t)snprintf(out + k, outlen - k, "%s%02x", i ? " " : "", b[i]);
}

void fnt__site_bug(const struct fnt_object *obj, const struct fnt_site *site, int err,
		   const char *phase, const uint8_t *expected, const uint8_t *actual, size_t len)
{
	char exp[64], act[64];

	hex(exp, sizeof(exp), expected, len);
	hex(act, sizeof(act), actual, len);
	fnt__kill("site bug: %s at %s (%#lx) in %s: expected [%s], found [%s], during '%s'",
		  fnt__strerror(err), fnt__site_name(obj, site), (unsigned long)site->addr,
		  obj->path, exp, act, phase);
}

/* An open-addressing table of n sites' indices + 1, by address. */
static uint32_t *index_of(const struct fnt_site *sites, uint32_t n, uintptr_t bias, uint32_t *mask)
{
	uint32_t size = 16, *h;

	while (size < n * 2u)
		size <<= 1;
	h = calloc(size, sizeof(uint32_t));
	if (!h)
		return NULL;
	*mask = size - 1;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t k = fnt__addr_hash(sites[i].addr, bias, *mask);

		while (h[k])
			k = (k + 1) & *mask;
		h[k] = i + 1;
	}
	return h;
}

int fnt__object_index(struct fnt_object *o)
{
	o->hash = index_of(o->sites, o->nsites, o->bias, &o->hmask);
	if (!o->hash)
		return -ENOMEM;
	if (o->nexits) {
		o->xhash = index_of(o->exits, o->nexits, o->bias, &o->xhmask);
		if (!o->xhash)
			return -ENOMEM;
	}
	return 0;
}

static void object_free(struct fnt_object *o)
{
	if (o->arch)
		fnt__arch.object_fini(o);
	free(o->hash);
	free(o->xhash);
	free(o->sites);
	free(o->exits);
	free(o->exit_of);
	free(o->tail_to);
	free(o->strs);
	free(o->path);
	free(o);
}

/* Marks every site of o failed: nothing of it will ever be patched. */
static void refuse(struct fnt_object *o)
{
	for (uint32_t i = 0; i < o->nsites; i++)
		o->sites[i].flags |= FNT_SITE_FAILED;
	for (uint32_t i = 0; i < o->nexits; i++)
		o->exits[i].flags |= FNT_SITE_FAILED;
	o->refused = 1;
}

/* Is [a, a+len) inside one executable segment? */
static int in_text(const struct fnt_object *o, uintptr_t a, size_t len)
{
	for (int i = 0; i < o->nxsegs; i++)
		if (a >= o->xsegs[i].lo && a + len <= o->xsegs[i].hi)
			return 1;
	return 0;
}

/*
 * The bytes mapped at every site must be the file's bytes.  The file is
 * opened once and read in windows: an object has up to hundreds of
 * thousands of sites, and a call of open and pread for each one was most
 * of an attach's start-up (BENCHMARKS.md, attach).
 */
#define FILE_WINDOW (64 * 1024)

static int same_as_file(const struct fnt_object *o, const struct fnt_site *sites, uint32_t nsites,
			const struct fnt_elf *e, char *why, size_t whylen)
{
	uint64_t wlo = 0, whi = 0;	/* file offsets the window holds */
	uint8_t *w = malloc(FILE_WINDOW);
	int fd = open(o->path, O_RDONLY | O_CLOEXEC), ret = 0;

	if (!w || fd < 0) {
		snprintf(why, whylen, "cannot read the file: %s", strerror(w ? errno : ENOMEM));
		ret = -EFAULT;
		goto out;
	}
	for (uint32_t i = 0; i < nsites; i++) {
		uintptr_t a = sites[i].addr;
		uint64_t off, avail, n;

		if (fnt_elf_vaddr_off(e, a - o->bias, &off, &avail) < 0) {
			snprintf(why, whylen, "site %#lx is not in the file", (unsigned long)a);
			ret = -EFAULT;
			goto out;
		}
		n = avail < 8 ? avail : 8;
		if (off < wlo || off + n > whi) {
			ssize_t got = pread(fd, w, FILE_WINDOW, (off_t)off);

			if (got < (ssize_t)n) {
				snprintf(why, whylen, "cannot read site %#lx from the file",
					 (unsigned long)a);
				ret = -EFAULT;
				goto out;
			}
			wlo = off;
			whi = off + (uint64_t)got;
		}
		if (memcmp((void *)a, w + (off - wlo), (size_t)n)) {
			snprintf(why, whylen,
				 "the mapped code differs from the file at %#lx (file replaced "
				 "since it was loaded?)", (unsigned long)a);
			ret = -EINVAL;
			goto out;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	free(w);
	return ret;
}

/* Sites with no symbol (a stripped file) are named by address. */
static int name_unnamed(struct fnt_object *o, const struct fnt_elf *e)
{
	size_t len = e->strs_len;

	for (uint32_t i = 0; i < o->nsites; i++) {
		char nm[32];
		int n;
		char *p;

		if (o->sites[i].name != (uint32_t)-1)
			continue;
		n = snprintf(nm, sizeof(nm), "0x%lx", (unsigned long)(o->sites[i].addr - o->bias));
		p = realloc(o->strs, len + (size_t)n + 1);
		if (!p)
			return -ENOMEM;
		o->strs = p;
		memcpy(p + len, nm, (size_t)n + 1);
		o->sites[i].name = (uint32_t)len;
		len += (size_t)n + 1;
	}
	return 0;
}

/*
 * The function an exit site leaves: the symbol that holds it, or for a
 * part gcc moved out of line (foo.cold) the function it came from.  NULL
 * if the file does not say.  strs: the symbols' names.
 */
static const struct fnt_elf_sym *exit_function(const struct fnt_elf *e, const char *strs,
						      uint64_t x)
{
	const struct fnt_elf_sym *s = fnt_elf_sym_at(e, x);
	const char *nm;
	size_t n;

	if (!s || !s->size)
		return NULL;
	nm = strs + s->name;
	n = strlen(nm);
	if (n > 5 && !strcmp(nm + n - 5, ".cold")) {
		for (size_t i = 0; i < e->nsyms; i++)
			if (!strncmp(strs + e->syms[i].name, nm, n - 5) &&
			    strs[e->syms[i].name + n - 5] == 0 && e->syms[i].size)
				return &e->syms[i];
		return NULL;
	}
	return s;
}

/* The index of the entry site inside f, or -1 (sites sorted by address). */
static int64_t entry_in(const struct fnt_elf *e, const struct fnt_elf_sym *f)
{
	size_t lo = 0, hi = e->nsites;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (e->sites[mid] < f->vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < e->nsites && e->sites[lo] < f->vaddr + f->size ? (int64_t)lo : -1;
}

/*
 * The exit sites of o, each tied to its function's entry: an exit with no
 * traced entry is of no use (nothing opens the call it would close) and is
 * dropped.  Returns 0, -ENOMEM, or -EFAULT for a table naming an address
 * outside the text (an anomaly, reported).
 */
static int add_exits(struct fnt_object *o, const struct fnt_elf *e, const char *path)
{
	if (!e->nexits)
		return 0;
	o->exits = calloc(e->nexits, sizeof(*o->exits));
	o->exit_of = calloc(e->nexits, sizeof(*o->exit_of));
	o->tail_to = calloc(e->nexits, sizeof(*o->tail_to));
	if (!o->exits || !o->exit_of || !o->tail_to)
		return -ENOMEM;
	for (size_t k = 0; k < e->nexits; k++) {
		/* The names are the object's by now (the ELF reader's pool). */
		const struct fnt_elf_sym *f = exit_function(e, o->strs, e->exits[k]);
		int64_t i = f ? entry_in(e, f) : -1;
		struct fnt_site *x;

		if (i < 0)
			continue;
		x = &o->exits[o->nexits];
		x->addr = o->bias + e->exits[k];
		x->name = o->sites[i].name;
		if (!in_text(o, x->addr, 5)) {
			fnt__kill("exit site table of %s names %#lx, outside its executable text: "
				  "refusing to touch it", path, (unsigned long)x->addr);
			return -EFAULT;
		}
		o->exit_of[o->nexits++] = (uint32_t)i;
	}
	return 0;
}

/* Classifies every exit site; those of unknown form are refused (their
 * functions keep hooking returns).  A direct tail jump's target is looked
 * up among the sites (o is indexed by now) and kept in tail_to. */
static void classify_exits(struct fnt_object *o)
{
	uint32_t bad = 0;

	for (uint32_t i = 0; i < o->nexits; i++) {
		struct fnt_site *x = &o->exits[i];
		uintptr_t to;
		char why[160];

		if (!fnt__arch.classify_exit(o, x, &to, why, sizeof(why))) {
			int32_t k = to ? fnt__site_index(o, to) : -1;

			/* A site after endbr64 lies past its function's start. */
			if (to && k < 0)
				k = fnt__site_index(o, to + 4);
			o->tail_to[i] = k < 0 ? 0 : (uint32_t)k + 1;
		} else {
			x->flags |= FNT_SITE_FAILED;
			if (bad++ < 3)
				fnt__log("refusing an exit site of %s (%#lx) in %s: %s",
					 fnt__site_name(o, x), (unsigned long)x->addr, o->path, why);
		}
	}
	if (bad > 3)
		fnt__log("refusing %u more exit sites in %s", bad - 3, o->path);
}

static const char *flags_hint(void)
{
	return "rebuild with 'clang -fpatchable-function-entry=5' or 'gcc -pg -mfentry "
	       "-mrecord-mcount -mnop-mcount' (see 'fntrace cflags')";
}

/* Classifies every site; unknown forms are refused one by one. */
static void classify_all(struct fnt_object *o, const struct fnt_elf *e)
{
	uint32_t bad = 0;

	for (uint32_t i = 0; i < o->nsites; i++) {
		struct fnt_site *s = &o->sites[i];
		char why[160];

		if (fnt__arch.classify(o, e, s, why, sizeof(why))) {
			s->flags |= FNT_SITE_FAILED;
			if (bad++ < 3)
				fnt__log("refusing site %s (%#lx) in %s: %s", fnt__site_name(o, s),
					 (unsigned long)s->addr, o->path, why);
		}
	}
	if (bad > 3)
		fnt__log("refusing %u more sites in %s", bad - 3, o->path);
}

/* Converts the sites whose form needs it; only when quiescent. */
static int convert_all(struct fnt_object *o, int quiescent)
{
	uint32_t need = 0;
	int ret;

	for (uint32_t i = 0; i < o->nsites; i++)
		if (!(o->sites[i].flags & FNT_SITE_FAILED) &&
		    fnt__arch.needs_convert(&o->sites[i]))
			need++;
	if (!need)
		return 0;
	if (!quiescent) {
		fnt__log("refusing %u of the %u sites of %s: their entry form (e.g. gcc "
			 "-fpatchable-function-entry's five 1-byte NOPs) can only be rewritten "
			 "before the object runs, and threads are running it now; %s",
			 need, o->nsites, o->path, flags_hint());
		for (uint32_t i = 0; i < o->nsites; i++)
			if (fnt__arch.needs_convert(&o->sites[i]))
				o->sites[i].flags |= FNT_SITE_FAILED;
		return 0;
	}
	ret = fnt__arch.text_writable(o, 1);
	if (ret)
		return ret;
	for (uint32_t i = 0; i < o->nsites && !ret; i++)
		if (!(o->sites[i].flags & FNT_SITE_FAILED) &&
		    fnt__arch.needs_convert(&o->sites[i]))
			ret = fnt__arch.convert(o, &o->sites[i]);
	if (fnt__arch.text_writable(o, 0) && !ret)
		ret = -EPERM;
	return ret;
}

int fnt__object_add(const char *path, uintptr_t bias, void *handle, int quiescent)
{
	struct fnt_object *o;
	struct fnt_elf e;
	char err[256];
	int ret;

	if (atomic_load_explicit(&fnt__killed, memory_order_relaxed))
		return -ENODEV;
	ret = fnt_elf_open_sites(&e, path, err, sizeof(err));
	if (ret) {
		fnt__dbg(1, "skipping %s", err);
		return ret;
	}
	if (!e.nsites) {
		ret = -ENOENT;
		goto out_elf;
	}
	o = calloc(1, sizeof(*o));
	if (!o) {
		ret = -ENOMEM;
		goto out_elf;
	}
	o->path = strdup(path);
	o->sites = calloc(e.nsites, sizeof(*o->sites));
	if (!o->path || !o->sites) {
		ret = -ENOMEM;
		goto fail_object;
	}
	o->bias = bias;
	o->handle = handle;
	o->nsites = (uint32_t)e.nsites;
	memcpy(o->build_id, e.build_id, e.build_id_len);
	o->build_id_len = e.build_id_len;
	for (int i = 0; i < e.nsegs && o->nxsegs < 4; i++) {
		const struct fnt_elf_seg *g = &e.segs[i];

		if (!(g->flags & PF_X))
			continue;
		o->xsegs[o->nxsegs++] = (struct fnt_xseg){
			bias + g->vaddr, bias + g->vaddr + g->memsz,
			PROT_EXEC | (g->flags & 4 ? PROT_READ : 0) | (g->flags & 2 ? PROT_WRITE : 0)
		};
	}
	/* Names: the ELF reader's string pool becomes the object's. */
	o->strs = e.strs;
	e.strs = NULL;
	for (uint32_t i = 0; i < o->nsites; i++) {
		struct fnt_site *s = &o->sites[i];
		const struct fnt_elf_sym *sym = fnt_elf_sym_at(&e, e.sites[i]);

		s->addr = bias + e.sites[i];
		s->name = sym ? sym->name : (uint32_t)-1;
		if (!in_text(o, s->addr, 5)) {
			fnt__kill("site table of %s names %#lx, outside its executable text: "
				  "refusing to touch it", path, (unsigned long)s->addr);
			ret = -EFAULT;
			goto fail_object;
		}
	}
	ret = name_unnamed(o, &e);
	if (!ret)
		ret = add_exits(o, &e, path);
	if (ret)
		goto fail_object;
	if (same_as_file(o, o->sites, o->nsites, &e, err, sizeof(err)) ||
	    same_as_file(o, o->exits, o->nexits, &e, err, sizeof(err))) {
		fnt__log("refusing the sites of %s: %s", path, err);
		refuse(o);
	} else {
		classify_all(o, &e);
		ret = convert_all(o, quiescent);
		if (ret)
			goto fail_object;
	}
	ret = fnt__object_index(o);
	if (ret)
		goto fail_object;
	if (!o->refused)
		classify_exits(o);
	o->refused = 1;
	for (uint32_t i = 0; i < o->nsites; i++)
		if (!(o->sites[i].flags & FNT_SITE_FAILED))
			o->refused = 0;
	/* A refused object keeps its records, for fnt_status, and no page. */
	if (!o->refused && fnt__arch.object_init(o)) {
		fnt__log("no trampoline page within reach of %s: not tracing it", path);
		refuse(o);
	}
	o->id = next_id++;
	o->next = fnt__objects;
	fnt__objects = o;
	fnt_elf_close(&e);
	return 0;

fail_object:
	object_free(o);
out_elf:
	fnt_elf_close(&e);
	return ret;
}

void fnt__object_remove(void *handle)
{
	struct fnt_object **pp = &fnt__objects;

	while (*pp) {
		struct fnt_object *o = *pp;

		if (o->handle != handle) {
			pp = &o->next;
			continue;
		}
		*pp = o->next;
		fnt__arch.forget_object(o);
		object_free(o);
	}
}
