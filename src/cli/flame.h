/*
 * flame.h - 'fntrace flamegraph' (cmd_flamegraph.c) and its SVG writer
 * (flame_svg.c).
 */
#ifndef FNT_CLI_FLAME_H
#define FNT_CLI_FLAME_H

#include "cli/export.h"

struct fnt_flame_opts {
	const char *title;	/* NULL: "Flame graph" or "Callers" */
	double min_width;	/* frames narrower (pixels) are left out */
};

/* The fnt_xtree_cfg write of flamegraph: the SVG into x->out. */
int fnt__flame_svg(struct fnt_export *x, struct fnt_xtree *xt, const char *partial);

#endif
