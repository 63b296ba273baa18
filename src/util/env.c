/*
 * env.c - the FNTRACE_* variables, taken once from environ (see env.h).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "util/env.h"

extern char **environ;

/* Room for every variable the runtime knows, and some to spare. */
#define MAX_VARS 32

/* Copies: a program may overwrite its environment strings later (a
 * process title written over them, as nginx and PostgreSQL do). */
static char *vars[MAX_VARS];
static int nvars;

int fnt__env_init(void)
{
	nvars = 0;
	if (getauxval(AT_SECURE))
		return 1;
	for (char **e = environ; e && *e && nvars < MAX_VARS; e++)
		if (strncmp(*e, "FNTRACE_", 8) == 0 && (vars[nvars] = strdup(*e)))
			nvars++;
	return 0;
}

const char *fnt__env(const char *name)
{
	size_t l = strlen(name);

	for (int i = 0; i < nvars; i++)
		if (strncmp(vars[i], name, l) == 0 && vars[i][l] == '=')
			return vars[i] + l + 1;
	return NULL;
}
