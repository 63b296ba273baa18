/*
 * filter.h - ftrace set_ftrace_filter glob lists.
 *
 * A filter is a list of patterns separated by commas or white space.  A
 * pattern is a glob over function names ('*', '?', '[...]'), optionally
 * prefixed with '!' to exclude and suffixed with ':mod:OBJGLOB' to apply
 * only to objects whose file name (basename) matches OBJGLOB.  A function
 * matches when some positive pattern matches (or there is none) and no
 * negative pattern does.
 *
 * Patterns match what users see: a pattern that does not start with "_Z"
 * (a mangled-looking one) is tried against the C++ name's mangled form,
 * its simple demangled form ("Lexer::ReadToken") and its full one
 * ("Lexer::ReadToken(int)"), and matches when any of them does.  The
 * names are demangled into the stack (src/core/demangle.c), so this works
 * in the runtime too, under the patch lock.
 */
#ifndef FNT_CORE_FILTER_H
#define FNT_CORE_FILTER_H

#include <stddef.h>

#include "core/demangle.h"

struct fnt_pat {
	char *func;		/* glob over function names */
	char *mod;		/* glob over object basenames, or NULL */
	int neg;
	int demangled;		/* also tried against demangled names (not a "_Z..." glob) */
};

struct fnt_filter {
	struct fnt_pat *pats;
	int npats;
	int npos;
};

/* Parses s (NULL: match everything).  Returns 0 or -EINVAL with one line in err. */
int fnt_filter_parse(struct fnt_filter *f, const char *s, char *err, size_t errlen);
/* One function's names, demangled the first time a pattern needs them:
 * some 16 KiB, kept off small stacks by fnt_filter_match_in's callers. */
struct fnt_filter_names {
	const char *raw;
	int done;		/* demangling tried */
	int have_simple, have_full;
	struct fnt_dem_scratch sc;
	char simple[512];
	char full[2048];	/* a name longer than this is matched without it */
};

/* Returns 1 when function func of the object at objpath matches; the
 * names are demangled on the caller's stack. */
int fnt_filter_match(const struct fnt_filter *f, const char *func, const char *objpath);
/* The same, demangling into *n, which the caller owns until it returns. */
int fnt_filter_match_in(const struct fnt_filter *f, const char *func, const char *objpath,
			struct fnt_filter_names *n);
void fnt_filter_free(struct fnt_filter *f);

#endif
