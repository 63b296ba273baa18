/*
 * main.c - the fntrace command: dispatches to one subcommand per file.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cflags.h"
#include "cli/cli.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *what;
} cmds[] = {
	{ "record", fnt__cmd_record, "run a program and record its function calls" },
	{ "replay", fnt__cmd_replay, "print the recorded calls" },
	{ "report", fnt__cmd_report, "per-function calls and times" },
	{ "live", fnt__cmd_live, "record, then replay" },
	{ "info", fnt__cmd_info, "describe a trace file" },
	{ "cflags", fnt_cmd_cflags, "compiler flags that make a program traceable" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: fntrace COMMAND [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].what);
	fprintf(f, "\n'fntrace COMMAND --help' describes each command's options.\n");
}

int main(int argc, char **argv)
{
	/* "fntrace replay | head" should end quietly, not by SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "fntrace: unknown command '%s' (see 'fntrace --help')\n", argv[1]);
	return 2;
}
