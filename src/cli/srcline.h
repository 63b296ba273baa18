/*
 * srcline.h - where a traced function is in its source: "file:line" from
 * the DWARF of its object (libdw), for 'report --srcline' and 'dump
 * --srcline'.
 *
 * The line is the function's declaration (DW_AT_decl_file, decl_line of
 * the subprogram that contains its address, through abstract_origin and
 * specification), not the line table at its entry: that is the line of
 * the function's name, the one people grep for and editors jump to, the
 * same at -O0 and -O2, while the entry's line-table row may be the
 * opening brace or a line of the prologue.  A subprogram without a
 * declaration (assembly) falls back to the line table at its entry.
 *
 * Each object is opened once (its FILE record of the trace), and checked
 * against the build-id the recording saw: a rebuilt binary gives no
 * lines rather than wrong ones.  An object without DWARF (stripped, or a
 * library without its -dbg package) gives none, nor does one whose DWARF
 * libdw rejects: a missing source line is never an error.
 */
#ifndef FNT_CLI_SRCLINE_H
#define FNT_CLI_SRCLINE_H

#include <stdint.h>

#include "cli/tracefile.h"

struct fnt_srcline;

/* A cache of the trace's objects' DWARF, opened as asked.  Never NULL
 * (exits on out of memory, as the reading commands do). */
struct fnt_srcline *fnt__srcline_new(const struct fnt_tf *tf);
/* "file:line" of the function of site idx of object obj in image, or NULL
 * (no DWARF, no such function).  Valid until fnt__srcline_free(); the same
 * site asks DWARF once. */
const char *fnt__srcline_site(struct fnt_srcline *sl, uint32_t image, uint32_t obj, uint32_t idx);
/* The same for a link-time address (the object's own vaddr, before any
 * load bias) of the ELF file at path, with the build-id it must have
 * (bid_len 0: not checked).  The result is allocated: the caller frees it. */
char *fnt__srcline_addr(const char *path, const uint8_t *bid, size_t bid_len, uint64_t vaddr);
void fnt__srcline_free(struct fnt_srcline *sl);

#endif
