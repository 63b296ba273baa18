/*
 * elf.c - patch-site tables, symbols, segments and build-id from an ELF
 * file, read with libelf.
 *
 * Sites come only from the two build-time tables, __patchable_function_entries
 * and __mcount_loc (non-negotiable 1: a site is never discovered at run
 * time).  In a PIE or shared object each table entry is the target of an
 * R_X86_64_RELATIVE relocation; the addend is the truth, the section bytes
 * are only a fallback for linkers that store it there as well.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/elf.h"

#define R_RELATIVE 8		/* R_X86_64_RELATIVE */
#define R_GLOB_DAT 6		/* R_X86_64_GLOB_DAT */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_sym(const void *a, const void *b)
{
	const struct fnt_elf_sym *x = a, *y = b;

	if (x->vaddr != y->vaddr)
		return x->vaddr < y->vaddr ? -1 : 1;
	/* Among aliases prefer the sized one, then the first name. */
	return (x->size < y->size) - (x->size > y->size);
}

/* qsort, but a pass first: the tables and relocations of most objects
 * are in order already, and an object may have hundreds of thousands of
 * entries, read in the program at its start or attach. */
static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	const char *p = base;

	for (size_t i = 1; i < n; i++)
		if (cmp(p + (i - 1) * size, p + i * size) > 0) {
			qsort(base, n, size, cmp);
			return;
		}
}

/* Growable arrays, local to one fnt_elf_open call. */
struct vec {
	void *p;
	size_t n, cap, sz;
};

static void *vpush(struct vec *v)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 256;
		void *p = realloc(v->p, cap * v->sz);

		if (!p)
			return NULL;
		v->p = p;
		v->cap = cap;
	}
	return (char *)v->p + v->sz * v->n++;
}

/* The RELATIVE relocations' addends, keyed by the place they patch. */
struct rel {
	uint64_t off, val;
};

static int cmp_rel(const void *a, const void *b)
{
	return cmp_u64(a, b);
}

static int read_relocs(Elf *elf, struct vec *rels, struct fnt_elf *e,
		       const char *fentry_name)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		GElf_Shdr symsh;
		Elf_Data *symd = NULL;
		Elf_Scn *symscn;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !sh.sh_entsize)
			continue;
		symscn = elf_getscn(elf, sh.sh_link);
		if (symscn && gelf_getshdr(symscn, &symsh))
			symd = elf_getdata(symscn, NULL);
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Rela r;

			if (!gelf_getrela(d, (int)i, &r))
				break;
			if (GELF_R_TYPE(r.r_info) == R_RELATIVE) {
				struct rel *x = vpush(rels);

				if (!x)
					return -ENOMEM;
				x->off = r.r_offset;
				x->val = (uint64_t)r.r_addend;
			} else if (GELF_R_TYPE(r.r_info) == R_GLOB_DAT && symd) {
				GElf_Sym s;
				const char *nm;

				if (!gelf_getsym(symd, (int)GELF_R_SYM(r.r_info), &s))
					continue;
				nm = elf_strptr(elf, symsh.sh_link, s.st_name);
				if (nm && !strcmp(nm, fentry_name))
					e->fentry_got = r.r_offset;
			}
		}
	}
	if (rels->n)
		sort(rels->p, rels->n, sizeof(struct rel), cmp_rel);
	return 0;
}

static int read_table(Elf_Scn *scn, const GElf_Shdr *sh, const struct vec *rels,
		      struct vec *out, struct vec *tables, uint8_t which)
{
	Elf_Data *d = elf_getdata(scn, NULL);

	if (!d || sh->sh_type == SHT_NOBITS)
		return 0;
	for (size_t i = 0; i + 8 <= d->d_size; i += 8) {
		uint64_t v, place = sh->sh_addr + i;
		struct rel key = { .off = place };
		struct rel *r = rels->n ? bsearch(&key, rels->p, rels->n, sizeof(*r), cmp_rel) : NULL;
		uint64_t *slot;
		uint8_t *t;

		memcpy(&v, (char *)d->d_buf + i, 8);
		if (r)
			v = r->val;
		/* gc-sections leaves zeros for discarded functions. */
		if (!v)
			continue;
		slot = vpush(out);
		t = vpush(tables);
		if (!slot || !t)
			return -ENOMEM;
		*slot = v;
		*t = which;
	}
	return 0;
}

static int read_syms(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, struct vec *syms,
		     struct vec *strs, struct fnt_elf *e)
{
	Elf_Data *d = elf_getdata(scn, NULL);

	if (!d || !sh->sh_entsize)
		return 0;
	for (size_t i = 0; i < sh->sh_size / sh->sh_entsize; i++) {
		GElf_Sym s;
		const char *nm;
		struct fnt_elf_sym *x;
		size_t len;

		if (!gelf_getsym(d, (int)i, &s))
			break;
		if (GELF_ST_TYPE(s.st_info) != STT_FUNC && GELF_ST_TYPE(s.st_info) != STT_GNU_IFUNC)
			continue;
		nm = elf_strptr(elf, sh->sh_link, s.st_name);
		if (!nm || !*nm)
			continue;
		if (s.st_shndx == SHN_UNDEF) {
			continue;
		}
		if (!strcmp(nm, "__fentry__"))
			e->fentry_sym = s.st_value;
		x = vpush(syms);
		if (!x)
			return -ENOMEM;
		x->vaddr = s.st_value;
		x->size = s.st_size;
		x->name = (uint32_t)strs->n;
		len = strlen(nm) + 1;
		for (size_t k = 0; k < len; k++) {
			char *c = vpush(strs);

			if (!c)
				return -ENOMEM;
			*c = nm[k];
		}
	}
	return 0;
}

static void read_build_id(Elf *elf, struct fnt_elf *e)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		GElf_Nhdr nh;
		size_t off = 0, noff, doff;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		while ((off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    !memcmp((char *)d->d_buf + noff, "GNU", 4) &&
			    nh.n_descsz <= sizeof(e->build_id)) {
				memcpy(e->build_id, (char *)d->d_buf + doff, nh.n_descsz);
				e->build_id_len = nh.n_descsz;
				return;
			}
		}
	}
}

/* Steps *scn to the next section with a readable header and name, and
 * returns that name; NULL after the last. */
static const char *next_section(Elf *elf, size_t shstrndx, Elf_Scn **scn, GElf_Shdr *sh)
{
	while ((*scn = elf_nextscn(elf, *scn))) {
		const char *nm;

		if (!gelf_getshdr(*scn, sh))
			continue;
		nm = elf_strptr(elf, shstrndx, sh->sh_name);
		if (nm)
			return nm;
	}
	return NULL;
}

static int has_tables(Elf *elf, size_t shstrndx)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	const char *nm;

	while ((nm = next_section(elf, shstrndx, &scn, &sh)))
		if (!strcmp(nm, "__patchable_function_entries") || !strcmp(nm, "__mcount_loc"))
			return 1;
	return 0;
}

static int elf_open(struct fnt_elf *e, const char *path, char *err, size_t errlen, int sites_only)
{
	struct vec sites = { .sz = 8 }, tables = { .sz = 1 }, rels = { .sz = sizeof(struct rel) };
	struct vec exits = { .sz = 8 }, exit_tables = { .sz = 1 };
	struct vec syms = { .sz = sizeof(struct fnt_elf_sym) }, strs = { .sz = 1 };
	Elf_Scn *scn = NULL, *symtab = NULL, *dynsym = NULL;
	GElf_Shdr symtab_sh, dynsym_sh;
	GElf_Ehdr eh;
	size_t shstrndx, phnum;
	Elf *elf;
	int fd, ret;

	memset(e, 0, sizeof(*e));
	if (elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(err, errlen, "libelf: %s", elf_errmsg(-1));
		return -ENOSYS;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64) {
		snprintf(err, errlen, "%s: not an x86-64 ELF file", path);
		ret = -ENOEXEC;
		goto fail_elf;
	}
	e->is_dyn = eh.e_type == ET_DYN;
	if (elf_getshdrstrndx(elf, &shstrndx) || elf_getphdrnum(elf, &phnum)) {
		snprintf(err, errlen, "%s: %s", path, elf_errmsg(-1));
		ret = -ENOEXEC;
		goto fail_elf;
	}
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (e->nsegs == (int)(sizeof(e->segs) / sizeof(e->segs[0])))
			break;
		e->segs[e->nsegs++] = (struct fnt_elf_seg){ ph.p_vaddr, ph.p_memsz, ph.p_offset,
							   ph.p_filesz, ph.p_flags };
	}

	if (sites_only && !has_tables(elf, shstrndx)) {
		/* Most objects (libc, ...) have no sites: skip their symbols. */
		elf_end(elf);
		close(fd);
		return 0;
	}
	ret = read_relocs(elf, &rels, e, "__fentry__");
	if (ret)
		goto fail_nomem;
	for (;;) {
		GElf_Shdr sh;
		const char *nm = next_section(elf, shstrndx, &scn, &sh);

		if (!nm)
			break;
		if (!strcmp(nm, "__patchable_function_entries"))
			ret = read_table(scn, &sh, &rels, &sites, &tables, FNT_TABLE_PFE);
		else if (!strcmp(nm, "__mcount_loc"))
			ret = read_table(scn, &sh, &rels, &sites, &tables, FNT_TABLE_MCOUNT);
		else if (!strcmp(nm, "__return_loc"))
			ret = read_table(scn, &sh, &rels, &exits, &exit_tables, FNT_TABLE_RETURN);
		else if (!strcmp(nm, ".plt")) {
			e->plt_lo = sh.sh_addr;
			e->plt_hi = sh.sh_addr + sh.sh_size;
		} else if (!strcmp(nm, ".plt.sec")) {
			e->plt2_lo = sh.sh_addr;
			e->plt2_hi = sh.sh_addr + sh.sh_size;
		}
		if (ret)
			goto fail_nomem;
		if (sh.sh_type == SHT_SYMTAB) {
			symtab = scn;
			symtab_sh = sh;
		} else if (sh.sh_type == SHT_DYNSYM) {
			dynsym = scn;
			dynsym_sh = sh;
		}
	}
	/* The full symbol table names static functions too; .dynsym is the
	 * fallback for stripped files. */
	if (symtab)
		ret = read_syms(elf, symtab, &symtab_sh, &syms, &strs, e);
	else if (dynsym)
		ret = read_syms(elf, dynsym, &dynsym_sh, &syms, &strs, e);
	if (ret)
		goto fail_nomem;
	read_build_id(elf, e);

	/* A site may sit in both tables (an object built from mixed units):
	 * keep it once, sorted. */
	if (sites.n) {
		uint64_t *s = sites.p;
		uint8_t *t = tables.p;
		uint64_t *pairs = malloc(sites.n * 16);
		size_t n = 0;

		if (!pairs)
			goto fail_nomem;
		for (size_t i = 0; i < sites.n; i++) {
			pairs[2 * i] = s[i];
			pairs[2 * i + 1] = t[i];
		}
		sort(pairs, sites.n, 16, cmp_u64);
		for (size_t i = 0; i < sites.n; i++) {
			if (n && s[n - 1] == pairs[2 * i])
				continue;
			s[n] = pairs[2 * i];
			t[n] = (uint8_t)pairs[2 * i + 1];
			n++;
		}
		free(pairs);
		sites.n = n;
	}
	if (exits.n) {
		uint64_t *x = exits.p;
		size_t n = 0;

		sort(x, exits.n, 8, cmp_u64);
		for (size_t i = 0; i < exits.n; i++)
			if (!n || x[n - 1] != x[i])
				x[n++] = x[i];
		exits.n = n;
	}
	free(exit_tables.p);
	exit_tables.p = NULL;
	if (syms.n)
		sort(syms.p, syms.n, sizeof(struct fnt_elf_sym), cmp_sym);
	e->sites = sites.p;
	e->site_table = tables.p;
	e->nsites = sites.n;
	e->exits = exits.p;
	e->nexits = exits.n;
	e->syms = syms.p;
	e->nsyms = syms.n;
	e->strs = strs.p;
	e->strs_len = strs.n;
	free(rels.p);
	elf_end(elf);
	close(fd);
	return 0;

fail_nomem:
	if (ret == 0)
		ret = -ENOMEM;
	snprintf(err, errlen, "%s: out of memory reading the ELF file", path);
	free(sites.p);
	free(tables.p);
	free(exits.p);
	free(exit_tables.p);
	free(rels.p);
	free(syms.p);
	free(strs.p);
fail_elf:
	if (elf)
		elf_end(elf);
	close(fd);
	memset(e, 0, sizeof(*e));
	return ret;
}

int fnt_elf_open(struct fnt_elf *e, const char *path, char *err, size_t errlen)
{
	return elf_open(e, path, err, errlen, 0);
}

int fnt_elf_open_sites(struct fnt_elf *e, const char *path, char *err, size_t errlen)
{
	return elf_open(e, path, err, errlen, 1);
}

void fnt_elf_close(struct fnt_elf *e)
{
	free(e->sites);
	free(e->site_table);
	free(e->exits);
	free(e->syms);
	free(e->strs);
	memset(e, 0, sizeof(*e));
}

const struct fnt_elf_sym *fnt_elf_sym_at(const struct fnt_elf *e, uint64_t vaddr)
{
	size_t lo = 0, hi = e->nsyms;
	const struct fnt_elf_sym *s;

	/* The last symbol starting at or below vaddr. */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (e->syms[mid].vaddr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	s = &e->syms[lo - 1];
	/* Step back over aliases to the first (preferred by cmp_sym). */
	while (s > e->syms && s[-1].vaddr == s->vaddr)
		s--;
	if (s->size && vaddr >= s->vaddr + s->size)
		return NULL;
	return s;
}

int fnt_elf_vaddr_off(const struct fnt_elf *e, uint64_t vaddr, uint64_t *off, uint64_t *avail)
{
	for (int i = 0; i < e->nsegs; i++) {
		const struct fnt_elf_seg *g = &e->segs[i];

		if (vaddr < g->vaddr || vaddr >= g->vaddr + g->filesz)
			continue;
		*off = g->offset + (vaddr - g->vaddr);
		*avail = g->vaddr + g->filesz - vaddr;
		return 0;
	}
	return -ERANGE;
}
