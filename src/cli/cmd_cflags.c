/*
 * cmd_cflags.c - 'fntrace cflags': the compiler flags that give a program
 * patch sites fntrace can trace, in a form a build system can use as is:
 *
 *   CFLAGS  += $(fntrace cflags)
 *   LDFLAGS += $(fntrace cflags --ldflags)      (prints nothing today)
 *
 * stdout holds the flags only; advice goes to stderr.  One form for both
 * compilers, any code model (PIE, non-PIE, shared objects), compile or link:
 *
 *   -fpatchable-function-entry=5
 *     clang: one 5-byte NOP per function;
 *     gcc:   five 1-byte NOPs, which the runtime turns into one 5-byte NOP
 *            before the object runs (rtld-audit la_objopen, or start-up
 *            while the process has one thread; docs/design.md section 1).
 *
 * Why not gcc's -pg forms (measured with gcc 12.2 and GNU ld 2.40):
 * -pg also reaches the link in most build systems (CFLAGS are passed to
 * it) and links gprof's runtime (SIGPROF timer, gmon.out); -mnop-mcount is
 * non-PIC only, so Debian's default PIE, helper programs linked with CFLAGS
 * and shared libraries fail; the PIE form needs __fentry__ at link time
 * and warns about DT_TEXTREL.  The patchable form needs no link flag.
 *
 * g++ 12 cannot trace C++ whose inline functions or templates are emitted
 * in more than one file, with either form: an object's whole
 * __patchable_function_entries table is one section linked to the first
 * function's (and __mcount_loc is one section), so the linker either finds
 * it naming code in a discarded COMDAT group ("defined in discarded
 * section") or discards it with the group it is linked to, losing every
 * site of the file.  For g++ the flags are printed with that warning;
 * clang++ has no such problem (tests/e2e/userproj.sh).
 *
 * --exits (gcc): the -pg form with exit sites, a NOP before every return
 * and tail jump (-minstrument-return=nop5 -mrecord-return), so that
 * function_graph closes calls there instead of hooking their returns
 * (about 10% less time per traced call here, BENCHMARKS.md section 12).
 * It has the -pg form's limits above: non-PIE executables only
 * (-mnop-mcount), and -pg must stay out of the link; so it is asked for,
 * not the default.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cflags.h"

#define FNT_CFLAGS "-fpatchable-function-entry=5"
#define FNT_CFLAGS_EXITS                                                                 \
	"-pg -mfentry -mrecord-mcount -mnop-mcount -minstrument-return=nop5 -mrecord-return " \
	"-fno-pie"
#define FNT_LDFLAGS_EXITS "-no-pie"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fntrace cflags [--cc COMPILER] [--exits] [--ldflags]\n"
		"Prints the compiler flags that give every function a patch site:\n"
		"  CFLAGS  += $(fntrace cflags)            (compile, and link if passed there)\n"
		"  LDFLAGS += $(fntrace cflags --ldflags)  (the link flags; none are needed)\n"
		"The same flags fit gcc and clang, PIE, non-PIE and shared libraries.\n"
		"  --cc COMPILER   gcc, clang, g++, clang++, cc, c++ or a path to one\n"
		"                  (default: any of them; g++ gets a warning about templates)\n"
		"  --pic           accepted for compatibility; the flags are the same\n"
		"  --exits         gcc only: exit sites too (a NOP before every return), for\n"
		"                  faster function_graph; non-PIE executables, -pg at compile\n"
		"                  time only (the link flags are -no-pie)\n"
		"  --ldflags       print the link flags instead\n");
}

/*
 * The compiler family of NAME ("gcc", "g++", "clang", "clang++"), from its
 * base name without a target prefix or version suffix: /usr/bin/gcc-12,
 * x86_64-linux-gnu-g++-12, clang++-14.  cc and c++ are Debian's defaults
 * (gcc and g++).  NULL if unknown.
 */
static const char *family(const char *name)
{
	static const char *const known[] = { "clang++", "clang", "g++", "gcc", "c++", "cc" };
	const char *base = strrchr(name, '/');
	char b[128];
	size_t n;

	base = base ? base + 1 : name;
	n = strlen(base);
	if (n == 0 || n >= sizeof(b))
		return NULL;
	memcpy(b, base, n + 1);
	/* Version suffix: -12, -14.0 */
	for (char *d = strrchr(b, '-'); d && d[1] >= '0' && d[1] <= '9'; d = strrchr(b, '-')) {
		*d = 0;
	}
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		size_t k = strlen(known[i]), l = strlen(b);
		/* The whole name, or a target prefix ending in '-'. */
		if (l >= k && !strcmp(b + l - k, known[i]) && (l == k || b[l - k - 1] == '-')) {
			if (!strcmp(known[i], "cc"))
				return "gcc";
			if (!strcmp(known[i], "c++"))
				return "g++";
			return known[i];
		}
	}
	return NULL;
}

int fnt_cmd_cflags(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cc", required_argument, NULL, 'c' },
		{ "pic", no_argument, NULL, 'p' },
		{ "exits", no_argument, NULL, 'x' },
		{ "ldflags", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cc = NULL, *fam = NULL;
	int ld = 0, exits = 0, c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cc = optarg;
			break;
		case 'p':
			break;
		case 'x':
			exits = 1;
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
	if (cc && !(fam = family(cc))) {
		fprintf(stderr, "fntrace cflags: unknown compiler '%s' (gcc, clang, g++ or clang++)\n",
			cc);
		return 2;
	}
	if (exits && (!fam || (strcmp(fam, "gcc") && strcmp(fam, "g++")))) {
		fprintf(stderr, "fntrace cflags: --exits needs --cc gcc (or g++): clang has no exit "
				"sites of this kind; clang's flags hook returns\n");
		return 2;
	}
	if (ld) {
		/* The patch sites need nothing at link time: no library, no -pg. */
		printf("%s\n", exits ? FNT_LDFLAGS_EXITS : "");
		return 0;
	}
	if (exits) {
		printf("%s\n", FNT_CFLAGS_EXITS);
		fprintf(stderr, "fntrace cflags: --exits: compile with these, link with "
				"'fntrace cflags --exits --ldflags' and without -pg (which would link "
				"gprof's runtime)\n");
		return 0;
	}
	printf("%s\n", FNT_CFLAGS);
	if (fam && !strcmp(fam, "g++"))
		fprintf(stderr,
			"fntrace cflags: warning: g++ 12 cannot trace C++ with inline functions or "
			"templates used in more than one file: the link fails, or loses the patch "
			"sites of whole files (its site table names code in a COMDAT group the "
			"linker discards); use clang++ with the same flags\n");
	return 0;
}
