/*
 * cmd_cflags.c - 'fntrace cflags': the compiler flags that give a program
 * patch sites fntrace can trace live.
 *
 * stdout holds the flags only, so that "cc $(fntrace cflags) ..." works;
 * advice goes to stderr.  The choice per compiler:
 *
 *   clang, any code:    -fpatchable-function-entry=5  (one 5-byte NOP)
 *   gcc, non-PIC:       -pg -mfentry -mrecord-mcount -mnop-mcount -fno-pie
 *                       (one 5-byte NOP; gcc rejects -mnop-mcount with PIC)
 *   gcc, PIC/PIE:       -pg -mfentry -mrecord-mcount  (a 6-byte call through
 *                       the GOT, turned into a NOP before the object runs;
 *                       link with -lfntrace, which defines __fentry__)
 *
 * gcc's own -fpatchable-function-entry=5 emits five 1-byte NOPs, which can
 * only be rewritten before an object runs; it is never recommended.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cflags.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fntrace cflags [--cc gcc|clang] [--pic] [--ldflags]\n"
		"Prints the compiler flags that give every function a patch site.\n"
		"  --cc gcc|clang  the compiler (default: clang)\n"
		"  --pic           the code is PIC or PIE (shared objects, default PIE executables)\n"
		"  --ldflags       print the link flags instead (needed for gcc -pg builds)\n");
}

int fnt_cmd_cflags(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cc", required_argument, NULL, 'c' },
		{ "pic", no_argument, NULL, 'p' },
		{ "ldflags", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cc = "clang";
	int pic = 0, ld = 0, c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cc = optarg;
			break;
		case 'p':
			pic = 1;
			break;
		case 'l':
			ld = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "fntrace cflags: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (strcmp(cc, "gcc") && strcmp(cc, "clang")) {
		fprintf(stderr, "fntrace cflags: unknown compiler '%s' (gcc or clang)\n", cc);
		return 2;
	}
	if (ld) {
		/* Only gcc's -pg forms reference __fentry__. */
		printf("%s\n", strcmp(cc, "gcc") ? "" : (pic ? "-lfntrace" : "-no-pie -lfntrace"));
		return 0;
	}
	if (!strcmp(cc, "clang")) {
		printf("-fpatchable-function-entry=5\n");
	} else if (!pic) {
		printf("-pg -mfentry -mrecord-mcount -mnop-mcount -fno-pie\n");
		fprintf(stderr, "fntrace: link with 'fntrace cflags --cc gcc --ldflags' and "
				"without -pg (which would write gmon.out)\n");
	} else {
		printf("-pg -mfentry -mrecord-mcount -fPIC\n");
		fprintf(stderr, "fntrace: link with -lfntrace (it defines __fentry__) and "
				"without -pg (which would write gmon.out)\n");
	}
	return 0;
}
