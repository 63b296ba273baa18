/*
 * fuzz_filter.c - libFuzzer harness of the filter parser and matcher
 * (src/core/filter.c).  The input's first line is the filter (as -F/-N
 * give it); every further line is "FUNC" or "FUNC OBJPATH" to match, and
 * a few fixed names are matched too, so an input that parses is always
 * exercised by fnt_filter_match.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/filter.h"

static volatile int sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[][2] = {
		{ "main", NULL }, { "foo_bar", "/usr/lib/libfoo.so.1" }, { "", "" },
		{ "_ZN3ns3fooEv", "./a.out" }, { "[", "/" },
	};
	struct fnt_filter f;
	char err[256];
	char *s = malloc(size + 1), *nl, *rest;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	nl = strchr(s, '\n');
	rest = nl ? nl + 1 : s + size;
	if (nl)
		*nl = 0;
	if (fnt_filter_parse(&f, s, err, sizeof(err)) < 0) {
		sink += (int)strlen(err);
		free(s);
		return 0;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		sink += fnt_filter_match(&f, names[i][0], names[i][1]);
	while (*rest) {
		char *line = rest, *sp;

		nl = strchr(rest, '\n');
		rest = nl ? nl + 1 : rest + strlen(rest);
		if (nl)
			*nl = 0;
		sp = strchr(line, ' ');
		if (sp)
			*sp++ = 0;
		sink += fnt_filter_match(&f, line, sp);
	}
	fnt_filter_free(&f);
	free(s);
	return 0;
}
