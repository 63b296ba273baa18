/*
 * cmd_dump.c - 'fntrace dump': converts a trace for the viewers people
 * use, following uftrace's vocabulary: --chrome (Chrome trace-event JSON,
 * for Perfetto's UI, chrome://tracing or speedscope), --perfetto (Perfetto's
 * protobuf) and --folded (Brendan Gregg's folded stacks, for flame graphs).
 *
 * This file takes the options; export_walk.c walks the trace and applies
 * the selection (--tid, -F, -N, --time-range), and the writers in
 * export_*.c only format what it hands them (export.h).  The walk keeps
 * one stack of open calls per thread and nothing per event, so memory does
 * not grow with the trace.
 */
#include <getopt.h>
#include <string.h>

#include "cli/export.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fntrace dump --chrome|--perfetto|--folded [-i PATH] [-o FILE] [--tid N]\n"
		"                    [-F GLOB] [-N GLOB] [--time-range START~END] [--weight W]\n"
		"                    [--srcline] [--demangle STYLE]\n"
		"Converts a trace for other tools: Chrome trace-event JSON (Perfetto's UI,\n"
		"chrome://tracing, speedscope), Perfetto's protobuf trace, or folded stacks\n"
		"(flame graphs).  Streamed: memory does not grow with the trace.\n"
		"  --chrome           Chrome trace-event JSON, one track per thread\n"
		"  --perfetto         Perfetto's protobuf trace (ui.perfetto.dev)\n"
		"  --folded           folded stacks, 'main;work;leaf VALUE' lines\n"
		"  -o, --output FILE  where to write (default standard output)\n"
		FNT_XSEL_HELP
		"  --weight W         --folded values: self (default: time in the last frame\n"
		"                     itself, what flame graphs want), total (the path's total\n"
		"                     time) or calls, in nanoseconds or calls\n"
		"  --srcline          each function's file:line, from the DWARF of its object\n"
		"                     (built with -g): --chrome args.srcline of its slices,\n"
		"                     --perfetto their interned source location\n");
}

int fnt__cmd_dump(int argc, char **argv)
{
	static const struct option lopts[] = {
		FNT_XSEL_LONG,
		{ "output", required_argument, NULL, 'o' },
		{ "weight", required_argument, NULL, 'W' },
		{ "chrome", no_argument, NULL, 'c' },
		{ "folded", no_argument, NULL, 'f' },
		{ "perfetto", no_argument, NULL, 'p' },
		{ "srcline", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct fnt_export_ops *ops = NULL;
	enum fnt_weight weight = FNT_WEIGHT_SELF;
	const char *out = NULL;
	struct fnt_xsel sel;
	int c, r;

	memset(&sel, 0, sizeof(sel));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+" FNT_XSEL_SHORT "o:h", lopts, NULL)) != -1) {
		r = fnt__xsel_opt("dump", &sel, c, optarg);
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
			if (fnt__xweight("dump", optarg, &weight))
				return 2;
			break;
		case 'c':
		case 'p':
		case 'f': {
			const struct fnt_export_ops *o = c == 'c' ? &fnt__export_chrome
						       : c == 'p' ? &fnt__export_perfetto
								  : &fnt__export_folded;

			if (ops && ops != o)
				return fnt__usage_error("dump", "give one of --chrome, --perfetto and --folded");
			ops = o;
			break;
		}
		case 'S':
			sel.srcline = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return fnt__bad_option("dump", argv, optind, optopt);
		}
	}
	if (optind < argc)
		return fnt__usage_error("dump", "unexpected argument '%s'", argv[optind]);
	if (!ops)
		return fnt__usage_error("dump", "say which format: --chrome, --perfetto or --folded");
	return fnt__export_run("dump", &sel, ops, weight, NULL, out);
}
