/*
 * srcline.c - "file:line" of traced functions from DWARF, with libdw (see
 * srcline.h for which line and why).
 *
 * Per FILE record of the trace: the ELF and its Dwarf, opened the first
 * time one of its sites is asked about (never again, found or not), and
 * the answer for each of its sites.  So a command asks DWARF once per
 * function, whatever the number of events.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/srcline.h"
#include "cli/walk.h"

struct dfile {
	int opened;		/* tried: dw is what it gave */
	int fd;
	Elf *elf;
	Dwarf *dw;
	char **line;		/* per site: the answer, once asked */
	uint8_t *asked;
};

struct fnt_srcline {
	const struct fnt_tf *tf;
	struct dfile *f;	/* per FILE of the trace */
};

struct dwopen {
	int fd;
	Elf *elf;
	Dwarf *dw;
};

static void dw_close(struct dwopen *o)
{
	if (o->dw)
		dwarf_end(o->dw);
	if (o->elf)
		elf_end(o->elf);
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	o->elf = NULL;
	o->dw = NULL;
}

/* Opens path's DWARF if its build-id is bid (when one is given).
 * Returns 0 with o filled, or -1 with nothing held. */
static int dw_open_one(struct dwopen *o, const char *path, const uint8_t *bid, size_t bid_len)
{
	o->elf = NULL;
	o->dw = NULL;
	o->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (o->fd < 0)
		return -1;
	o->elf = elf_begin(o->fd, ELF_C_READ_MMAP, NULL);
	if (!o->elf || elf_kind(o->elf) != ELF_K_ELF)
		goto fail;
	if (bid_len) {
		const void *have = NULL;
		ssize_t n = dwelf_elf_gnu_build_id(o->elf, &have);

		/* A file rebuilt since the recording: its lines would be
		 * another program's. */
		if (n != (ssize_t)bid_len || memcmp(have, bid, bid_len) != 0)
			goto fail;
	}
	o->dw = dwarf_begin_elf(o->elf, DWARF_C_READ, NULL);
	if (!o->dw)
		goto fail;	/* no DWARF (stripped), or DWARF libdw rejects */
	return 0;
fail:
	dw_close(o);
	return -1;
}

/* The file's own DWARF, else the separate debug file of its build-id
 * (Debian's -dbgsym packages: /usr/lib/debug/.build-id/xx/yyyy.debug). */
static int dw_open(struct dwopen *o, const char *path, const uint8_t *bid, size_t bid_len)
{
	char dbg[64 + 2 * 64 + 8];
	size_t k;
	int n;

	if (dw_open_one(o, path, bid, bid_len) == 0)
		return 0;
	if (bid_len < 2 || bid_len > 64)
		return -1;
	n = snprintf(dbg, sizeof(dbg), "/usr/lib/debug/.build-id/%02x/", bid[0]);
	for (k = 1; k < bid_len; k++)
		n += snprintf(dbg + n, sizeof(dbg) - (size_t)n, "%02x", bid[k]);
	snprintf(dbg + n, sizeof(dbg) - (size_t)n, ".debug");
	return dw_open_one(o, dbg, bid, bid_len);
}

/* The compile unit that holds addr: the arange table when the compiler
 * wrote one (gcc does, clang does not by default), else each unit's own
 * ranges. */
static int cu_of(Dwarf *dw, Dwarf_Addr addr, Dwarf_Die *cu)
{
	Dwarf_Off off = 0, next;
	size_t hsize;

	if (dwarf_addrdie(dw, addr, cu))
		return 0;
	while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		if (dwarf_offdie(dw, off + hsize, cu) && dwarf_haspc(cu, addr) == 1)
			return 0;
		off = next;
	}
	return -1;
}

/* name without the compile directory it is under ("src/x.c", not
 * "/home/me/proj/src/x.c"): the path as the build named it. */
static const char *rel(Dwarf_Die *cu, const char *name)
{
	Dwarf_Attribute a;
	const char *dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &a));
	size_t n = dir ? strlen(dir) : 0;

	if (n && strncmp(name, dir, n) == 0 && name[n] == '/' && name[n + 1])
		return name + n + 1;
	return name;
}

static char *fmt(const char *file, int line)
{
	size_t n = strlen(file) + 16;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s:%d", file, line);
	return s;
}

/* The function's DW_AT_decl_file (through abstract_origin and
 * specification).  Not dwarf_decl_file(): libdw 0.188 takes file 0 for
 * "none", which DWARF 5 made the primary source file, and clang 14 names
 * it so. */
static const char *decl_file(Dwarf_Die *cu, Dwarf_Die *fn)
{
	Dwarf_Attribute a;
	Dwarf_Files *files;
	Dwarf_Word idx;
	size_t n;

	if (!dwarf_attr_integrate(fn, DW_AT_decl_file, &a) || dwarf_formudata(&a, &idx) != 0 ||
	    dwarf_getsrcfiles(cu, &files, &n) != 0 || idx >= n)
		return NULL;
	return dwarf_filesrc(files, idx, NULL, NULL);
}

static char *lookup(Dwarf *dw, Dwarf_Addr addr)
{
	Dwarf_Die cu, *scopes = NULL, *fn = NULL;
	const char *file = NULL;
	char *res = NULL;
	int n, line = 0;

	if (cu_of(dw, addr, &cu) < 0)
		return NULL;
	n = dwarf_getscopes(&cu, addr, &scopes);
	/* Innermost first: the first subprogram is the function itself, an
	 * inlined call in it is an inlined_subroutine. */
	for (int i = 0; i < n; i++)
		if (dwarf_tag(&scopes[i]) == DW_TAG_subprogram) {
			fn = &scopes[i];
			break;
		}
	if (fn) {
		file = decl_file(&cu, fn);
		if (file && dwarf_decl_line(fn, &line) == 0 && line > 0) {
			res = fmt(rel(&cu, file), line);
			goto out;
		}
	}
	{
		/* No declaration: the line-table row at the entry. */
		Dwarf_Addr lo = addr;
		Dwarf_Line *l;

		if (fn && dwarf_lowpc(fn, &lo) != 0)
			lo = addr;
		l = dwarf_getsrc_die(&cu, lo);
		if (l && (file = dwarf_linesrc(l, NULL, NULL)) && dwarf_lineno(l, &line) == 0 &&
		    line > 0)
			res = fmt(rel(&cu, file), line);
	}
out:
	free(scopes);
	return res;
}

char *fnt__srcline_addr(const char *path, const uint8_t *bid, size_t bid_len, uint64_t vaddr)
{
	struct dwopen o;
	char *s;

	elf_version(EV_CURRENT);
	if (dw_open(&o, path, bid, bid_len) < 0)
		return NULL;
	s = lookup(o.dw, vaddr);
	dw_close(&o);
	return s;
}

struct fnt_srcline *fnt__srcline_new(const struct fnt_tf *tf)
{
	struct fnt_srcline *sl = calloc(1, sizeof(*sl));

	if (sl)
		sl->f = calloc(tf->nfiles + 1, sizeof(*sl->f));
	if (!sl || !sl->f) {
		fprintf(stderr, "fntrace: out of memory\n");
		exit(1);
	}
	sl->tf = tf;
	elf_version(EV_CURRENT);
	return sl;
}

const char *fnt__srcline_site(struct fnt_srcline *sl, uint32_t image, uint32_t obj, uint32_t idx)
{
	const struct fnt_tf_robj *o = fnt__tf_obj(sl->tf, image, obj);
	const struct fnt_tf_rfile *rf;
	struct dfile *f;

	if (!o || !o->file || idx >= o->file->h->nsites)
		return NULL;
	rf = o->file;
	f = &sl->f[rf - sl->tf->files];
	if (!f->opened) {
		struct dwopen d;
		size_t bl = rf->h->build_id_len <= sizeof(rf->h->build_id) ? rf->h->build_id_len : 0;

		f->opened = 1;
		f->fd = -1;
		/* The FILE's path is the one read at record time; the
		 * object's is the loader's name for it (the same file). */
		if (dw_open(&d, rf->path, rf->h->build_id, bl) == 0 ||
		    (strcmp(o->path, rf->path) && dw_open(&d, o->path, rf->h->build_id, bl) == 0)) {
			f->fd = d.fd;
			f->elf = d.elf;
			f->dw = d.dw;
			f->line = calloc(rf->h->nsites, sizeof(*f->line));
			f->asked = calloc(rf->h->nsites, 1);
			if (!f->line || !f->asked) {
				fprintf(stderr, "fntrace: out of memory\n");
				exit(1);
			}
		}
	}
	if (!f->dw)
		return NULL;
	if (!f->asked[idx]) {
		f->asked[idx] = 1;
		f->line[idx] = lookup(f->dw, rf->sites[idx]);
	}
	return f->line[idx];
}

void fnt__srcline_free(struct fnt_srcline *sl)
{
	if (!sl)
		return;
	for (size_t i = 0; i < sl->tf->nfiles; i++) {
		struct dfile *f = &sl->f[i];
		struct dwopen d = { f->fd, f->elf, f->dw };

		if (!f->opened)
			continue;
		if (f->line)
			for (uint32_t k = 0; k < sl->tf->files[i].h->nsites; k++)
				free(f->line[k]);
		free(f->line);
		free(f->asked);
		if (f->dw)
			dw_close(&d);
	}
	free(sl->f);
	free(sl);
}
