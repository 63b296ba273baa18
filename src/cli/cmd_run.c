/*
 * cmd_run.c - 'fntrace run': starts a program with the runtime, dormant.
 *
 * The runtime is set up as 'record' sets it up (LD_PRELOAD and LD_AUDIT),
 * but nothing is patched: every site stays a NOP until 'fntrace record -p'
 * or 'live -p' turns tracing on.  fntrace execs the program in its own
 * place, so the pid printed by the shell is the program's, and nothing of
 * fntrace stays around it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fntrace run [--] PROG [ARGS...]\n"
		"Runs PROG with the fntrace runtime, dormant: nothing is traced and every site\n"
		"stays a NOP until 'fntrace record -p PID' or 'fntrace live -p PID' turns\n"
		"tracing on (see 'fntrace ps').  PROG replaces fntrace: same pid, same\n"
		"exit status.\n");
}

int fnt__cmd_run(int argc, char **argv)
{
	char lib[PATH_MAX], prog[PATH_MAX];
	const char *why;
	int i = 1, err;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	else if (i < argc && argv[i][0] == '-')
		return fnt__usage_error("run", "unknown option '%s'", argv[i]);
	if (i >= argc)
		return fnt__usage_error("run", "no program given");
	if (fnt__find_lib(lib, sizeof(lib)) < 0) {
		fprintf(stderr, "fntrace: cannot find libfntrace.so next to the fntrace binary "
				"or in ../lib (set FNTRACE_LIB)\n");
		return 1;
	}
	err = fnt__find_prog(argv[i], prog, sizeof(prog));
	if (err < 0) {
		if (err == -ENOENT && !strchr(argv[i], '/'))
			fprintf(stderr, "fntrace: cannot run '%s': command not found\n", argv[i]);
		else
			fprintf(stderr, "fntrace: cannot run '%s': %s\n", argv[i], strerror(-err));
		return 127;
	}
	if ((why = fnt__gains_privileges(prog)))
		fprintf(stderr, "fntrace: warning: '%s' is %s: it runs with privileges of its own "
				"and cannot be controlled\n", argv[i], why);
	fnt__set_runtime_env(lib);
	fflush(NULL);
	execv(prog, argv + i);
	fprintf(stderr, "fntrace: cannot run '%s': %s\n", argv[i], strerror(errno));
	return 127;
}
