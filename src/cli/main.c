/*
 * main.c - the fntrace command: dispatches to one subcommand per file.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "fntrace.h"
#include "cli/cflags.h"
#include "cli/cli.h"
#include "cli/tracefile.h"

/* The release; a build may define it (e.g. from git describe). */
#ifndef FNT_VERSION
#define FNT_VERSION "0.1"
#endif

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *what;
} cmds[] = {
	{ "record", fnt__cmd_record, "run a program and record its function calls" },
	{ "replay", fnt__cmd_replay, "print the recorded calls" },
	{ "report", fnt__cmd_report, "per-function calls and times" },
	{ "dump", fnt__cmd_dump, "convert a trace: Chrome JSON, Perfetto, folded stacks" },
	{ "flamegraph", fnt__cmd_flamegraph, "draw the calls as an interactive flame graph (SVG)" },
	{ "graph", fnt__cmd_graph, "the aggregated call tree, below a function or of it all" },
	{ "live", fnt__cmd_live, "record, then replay (-p PID: print calls as they happen)" },
	{ "run", fnt__cmd_run, "run a program with the runtime, dormant (nothing traced)" },
	{ "ctl", fnt__cmd_ctl, "show or change the recording of a running process" },
	{ "ps", fnt__cmd_ps, "list the processes that can be traced, and their state" },
	{ "info", fnt__cmd_info, "describe a trace file" },
	{ "cflags", fnt_cmd_cflags, "compiler flags that make a program traceable" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: fntrace COMMAND [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].what);
	fprintf(f, "\n'fntrace help COMMAND' (or 'fntrace COMMAND --help') describes each command's "
		   "options;\n'fntrace --version' prints the version.\n");
}

int main(int argc, char **argv)
{
	/* "fntrace replay | head" should end quietly, not by SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0 ||
	    strcmp(argv[1], "version") == 0) {
		printf("fntrace %s (library API %d, trace file format %d)\n", FNT_VERSION,
		       FNT_API_VERSION, FNT_TF_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		if (argc < 3 || strcmp(argv[1], "help")) {
			usage(stdout);
			return 0;
		}
		/* fntrace help COMMAND = fntrace COMMAND --help */
		for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
			if (strcmp(argv[2], cmds[i].name) == 0) {
				char *av[] = { argv[2], "--help", NULL };
				return cmds[i].fn(2, av);
			}
		fprintf(stderr, "fntrace: unknown command '%s' (see 'fntrace --help')\n", argv[2]);
		return 2;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "fntrace: unknown command '%s' (see 'fntrace --help')\n", argv[1]);
	return 2;
}
