/*
 * demangle.h - an Itanium C++ ABI demangler that needs no allocator.
 *
 * The runtime is injected into arbitrary processes, C programs without
 * libstdc++ among them, and matches filters against demangled names while
 * it holds the patch lock; the readers print them.  Both use this one
 * demangler, so what a filter matches is what a report shows.
 *
 * It writes into a caller-supplied buffer and keeps its state (node pool,
 * substitution table) in a fixed-size struct: on the stack with
 * fnt_demangle(), or in the caller's fnt_dem_scratch.  It never reads
 * past the input's NUL and bounds its recursion.
 */
#ifndef FNT_CORE_DEMANGLE_H
#define FNT_CORE_DEMANGLE_H

#include <stddef.h>

enum fnt_dem_style {
	FNT_DEM_NONE,	/* no demangling: callers print the raw name */
	FNT_DEM_SIMPLE,	/* uftrace's default: scopes and names only, "std::vector::push_back" */
	FNT_DEM_FULL,	/* as c++filt prints it */
};

/* The demangler's working state, about 13 KB; opaque to callers. */
#define FNT_DEM_NODES 512
struct fnt_dem_scratch {
	_Alignas(16) unsigned char opaque[FNT_DEM_NODES * 24 + 1024];
};

/*
 * Demangles the NUL-terminated name into out (outlen bytes, always
 * NUL-terminated when outlen > 0).  Returns 0, -EINVAL when name is not a
 * mangled name or is malformed (or uses what this demangler does not
 * know), -ENOSPC when the result (or the name's parse) does not fit.
 * Callers fall back to the raw name on any error.
 */
int fnt_demangle(const char *name, char *out, size_t outlen, enum fnt_dem_style style);
/* The same with the state in *sc (for callers that must not use 13 KB of stack). */
int fnt_demangle_in(struct fnt_dem_scratch *sc, const char *name, char *out, size_t outlen,
		    enum fnt_dem_style style);
/* Parses "simple", "full" or "no" (also "none"); returns -EINVAL for anything else. */
int fnt_dem_style_parse(const char *s, enum fnt_dem_style *style);

#endif
