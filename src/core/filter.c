/*
 * filter.c - parsing and matching ftrace-style glob lists (see filter.h).
 *
 * Matching runs under the patch lock when the engine computes wanted
 * states, never on the tracing hot path, so fnmatch(3) and demangling a
 * name (a few microseconds) are fine here.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/demangle.h"
#include "core/filter.h"

/* A glob is valid when every '[' is closed; fnmatch would quietly treat a
 * broken one as a literal, and a user who typed it meant something else. */
static int glob_ok(const char *g)
{
	for (const char *p = g; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
		} else if (*p == '[') {
			const char *q = p + 1;

			if (*q == '!' || *q == '^')
				q++;
			if (*q == ']')
				q++;
			while (*q && *q != ']')
				q++;
			if (!*q)
				return 0;
			p = q;
		}
	}
	return 1;
}

int fnt_filter_parse(struct fnt_filter *f, const char *s, char *err, size_t errlen)
{
	const char *p = s;
	int cap = 0;

	memset(f, 0, sizeof(*f));
	if (!s)
		return 0;
	for (;;) {
		struct fnt_pat *pat;
		const char *start;
		char *tok, *mod;
		size_t len;

		while (*p == ',' || *p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		start = p;
		while (*p && *p != ',' && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
		len = (size_t)(p - start);
		if (f->npats == cap) {
			void *n = realloc(f->pats, (size_t)(cap ? cap * 2 : 8) * sizeof(*f->pats));

			if (!n)
				goto fail_nomem;
			f->pats = n;
			cap = cap ? cap * 2 : 8;
		}
		tok = strndup(start, len);
		if (!tok)
			goto fail_nomem;
		pat = &f->pats[f->npats];
		memset(pat, 0, sizeof(*pat));
		if (*tok == '!') {
			pat->neg = 1;
			memmove(tok, tok + 1, len);
		}
		mod = strstr(tok, ":mod:");
		if (mod) {
			*mod = 0;
			pat->mod = strdup(mod + 5);
			if (!pat->mod) {
				free(tok);
				goto fail_nomem;
			}
			/* "!:mod:libfoo.so" means every function of that object. */
			if (!*tok) {
				free(tok);
				tok = strdup("*");
				if (!tok)
					goto fail_nomem;
			}
		}
		pat->func = tok;
		pat->demangled = strncmp(tok, "_Z", 2) != 0;
		f->npats++;
		if (!*pat->func || (pat->mod && !*pat->mod)) {
			snprintf(err, errlen, "empty pattern in filter '%s'", s);
			goto fail_inval;
		}
		if (!glob_ok(pat->func) || (pat->mod && !glob_ok(pat->mod))) {
			snprintf(err, errlen, "unclosed '[' in filter pattern '%.*s'", (int)len, start);
			goto fail_inval;
		}
		if (!pat->neg)
			f->npos++;
	}
	if (!f->npats) {
		snprintf(err, errlen, "empty filter");
		goto fail_inval;
	}
	return 0;

fail_nomem:
	snprintf(err, errlen, "out of memory");
	fnt_filter_free(f);
	return -ENOMEM;
fail_inval:
	fnt_filter_free(f);
	return -EINVAL;
}

static int pat_match(const struct fnt_pat *p, struct fnt_filter_names *n, const char *objpath)
{
	if (p->mod) {
		const char *base = objpath ? strrchr(objpath, '/') : NULL;

		base = base ? base + 1 : (objpath ? objpath : "");
		if (fnmatch(p->mod, base, 0))
			return 0;
	}
	if (!fnmatch(p->func, n->raw, 0))
		return 1;
	if (!p->demangled || n->raw[0] != '_' || n->raw[1] != 'Z')
		return 0;
	if (!n->done) {
		n->done = 1;
		n->have_simple = !fnt_demangle_in(&n->sc, n->raw, n->simple, sizeof(n->simple),
						  FNT_DEM_SIMPLE);
		n->have_full = !fnt_demangle_in(&n->sc, n->raw, n->full, sizeof(n->full),
						FNT_DEM_FULL);
	}
	return (n->have_simple && !fnmatch(p->func, n->simple, 0)) ||
	       (n->have_full && !fnmatch(p->func, n->full, 0));
}

int fnt_filter_match_in(const struct fnt_filter *f, const char *func, const char *objpath,
			struct fnt_filter_names *n)
{
	int pos = f->npos == 0;

	n->raw = func;
	n->done = 0;
	for (int i = 0; i < f->npats; i++) {
		const struct fnt_pat *p = &f->pats[i];

		if (p->neg) {
			if (pat_match(p, n, objpath))
				return 0;
		} else if (!pos && pat_match(p, n, objpath)) {
			pos = 1;
		}
	}
	return pos;
}

int fnt_filter_match(const struct fnt_filter *f, const char *func, const char *objpath)
{
	struct fnt_filter_names n;

	return fnt_filter_match_in(f, func, objpath, &n);
}

void fnt_filter_free(struct fnt_filter *f)
{
	for (int i = 0; i < f->npats; i++) {
		free(f->pats[i].func);
		free(f->pats[i].mod);
	}
	free(f->pats);
	memset(f, 0, sizeof(*f));
}
