/*
 * elf.h - reading patch-site tables and symbols from ELF files (libelf).
 *
 * Used by the runtime (site tables of loaded objects) and by the fntrace
 * command (symbol tables saved into trace files).  Nothing here touches
 * memory of a running object: it reads files only.
 */
#ifndef FNT_CORE_ELF_H
#define FNT_CORE_ELF_H

#include <stddef.h>
#include <stdint.h>

/* Which build-time table a site came from. */
enum fnt_table {
	FNT_TABLE_PFE = 1,	/* __patchable_function_entries */
	FNT_TABLE_MCOUNT = 2,	/* __mcount_loc */
	FNT_TABLE_RETURN = 3,	/* __return_loc (exit sites, kept apart) */
};

struct fnt_elf_sym {
	uint64_t vaddr;		/* link-time address */
	uint64_t size;
	uint32_t name;		/* offset into fnt_elf.strs */
};

struct fnt_elf_seg {
	uint64_t vaddr, memsz, offset, filesz;
	uint32_t flags;		/* PF_X | PF_W | PF_R */
};

struct fnt_elf {
	/* Sites, sorted by link-time address, duplicates and zeros removed. */
	uint64_t *sites;
	uint8_t *site_table;	/* enum fnt_table per site */
	size_t nsites;
	/* Exit sites (gcc -minstrument-return=nop5 -mrecord-return: a NOP
	 * before every return and tail jump), sorted, duplicates and zeros
	 * removed.  Apart from sites, whose indices name functions. */
	uint64_t *exits;
	size_t nexits;
	/* Function symbols (.symtab, else .dynsym), sorted by address. */
	struct fnt_elf_sym *syms;
	size_t nsyms;
	char *strs;		/* NUL-terminated names, owned */
	size_t strs_len;
	/* Loadable segments. */
	struct fnt_elf_seg segs[16];
	int nsegs;
	uint8_t build_id[64];
	size_t build_id_len;
	int is_dyn;		/* ET_DYN (PIE or shared object) */
	/* Where __fentry__ may be reached from this object: its GOT slots and
	 * its PLT entries (link-time addresses); 0 when absent. */
	uint64_t fentry_got;
	uint64_t fentry_sym;	/* a local definition of __fentry__, or 0 */
	uint64_t plt_lo, plt_hi; /* the .plt and .plt.sec range */
	uint64_t plt2_lo, plt2_hi;
};

/* Reads path.  Returns 0 or -errno (-ENOEXEC: not a usable ELF file); on
 * error *e holds nothing to free.  Stores one line of explanation in err. */
int fnt_elf_open(struct fnt_elf *e, const char *path, char *err, size_t errlen);
/* The same, but returns at once with no sites and no symbols when the file
 * has no site table (most libraries): what the runtime needs. */
int fnt_elf_open_sites(struct fnt_elf *e, const char *path, char *err, size_t errlen);
/* Frees what fnt_elf_open allocated. */
void fnt_elf_close(struct fnt_elf *e);
/* The function symbol containing link-time address vaddr, or NULL. */
const struct fnt_elf_sym *fnt_elf_sym_at(const struct fnt_elf *e, uint64_t vaddr);
/* Where link-time address vaddr lies in the file: its offset, and how many
 * bytes of its segment's file image follow it.  Returns 0, or -ERANGE when
 * no segment holds it in the file. */
int fnt_elf_vaddr_off(const struct fnt_elf *e, uint64_t vaddr, uint64_t *off, uint64_t *avail);

#endif
