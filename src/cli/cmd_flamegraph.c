/*
 * cmd_flamegraph.c - 'fntrace flamegraph': the trace's call tree as an
 * interactive flame graph, a self-contained SVG written by fntrace itself
 * (flame_svg.c), with no outside step.
 *
 * The walk and the selection are dump's (export_walk.c), so are the
 * options that choose what is drawn; the tree is export_tree.c's, bounded
 * at MAX_NODES paths.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/flame.h"

/* About 100 MB at the most (a node, its layout and its hash slots). */
#define MAX_NODES (1u << 20)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fntrace flamegraph [-o FILE.svg] [--weight W] [--inverted] [-i PATH] [--tid N]\n"
		"                          [-F GLOB] [-N GLOB] [--time-range START~END]\n"
		"                          [--min-width PX] [--title TEXT] [--demangle STYLE]\n"
		"Draws the recorded calls as an interactive flame graph, a self-contained SVG for\n"
		"any browser: hover shows a function's time, share and calls; a click zooms to a\n"
		"frame (click the bottom frame, 'Reset Zoom' or Escape to go back); 'Search' (or\n"
		"'/') highlights the functions that match and shows their share.  Frames are\n"
		"coloured by object: warm for the program, a cool colour per library.\n"
		"  -o, --output FILE  where to write (default standard output)\n"
		"  --weight W         what widths measure: self (default) or total, the time\n"
		"                     (the same picture but in the inverted view), or calls\n"
		"  --inverted         the callers' view, drawn top down: a root per function, as\n"
		"                     wide as its calls' weight (self: where the time is spent),\n"
		"                     and below it the paths that called it\n"
		"  --min-width PX     leave out frames narrower than PX pixels (default 0.1; 0\n"
		"                     keeps every frame)\n"
		"  --title TEXT       the title at the top\n"
		FNT_XSEL_HELP);
}

int fnt__cmd_flamegraph(int argc, char **argv)
{
	static const struct option lopts[] = {
		FNT_XSEL_LONG,
		{ "output", required_argument, NULL, 'o' },
		{ "weight", required_argument, NULL, 'W' },
		{ "inverted", no_argument, NULL, 'v' },
		{ "min-width", required_argument, NULL, 'm' },
		{ "title", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct fnt_flame_opts fo = { NULL, 0.1 };
	struct fnt_xtree_cfg cfg = { 0, MAX_NODES, fnt__flame_svg, &fo };
	enum fnt_weight weight = FNT_WEIGHT_SELF;
	const char *out = NULL;
	struct fnt_xsel sel;
	char *end;
	int c, r;

	memset(&sel, 0, sizeof(sel));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+" FNT_XSEL_SHORT "o:h", lopts, NULL)) != -1) {
		r = fnt__xsel_opt("flamegraph", &sel, c, optarg);
		if (r >= 0) {
			if (r)
				return r;
			continue;
		}
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'W':
			if (fnt__xweight("flamegraph", optarg, &weight))
				return 2;
			break;
		case 'v':
			cfg.inverted = 1;
			break;
		case 'm':
			fo.min_width = strtod(optarg, &end);
			if (*end || !*optarg || !(fo.min_width >= 0 && fo.min_width <= 1200))
				return fnt__usage_error("flamegraph",
							"--min-width takes pixels from 0 to 1200, not '%s'",
							optarg);
			break;
		case 't':
			fo.title = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return fnt__bad_option("flamegraph", argv, optind, optopt);
		}
	}
	if (optind < argc)
		return fnt__usage_error("flamegraph", "unexpected argument '%s'", argv[optind]);
	return fnt__export_run("flamegraph", &sel, &fnt__export_tree, weight, &cfg, out);
}
