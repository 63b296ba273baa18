/*
 * fuzz_demangle.c - libFuzzer harness of the demangler (src/core/demangle.c),
 * which the runtime runs on every symbol of every object a filter is
 * matched against: it must never read past the name's NUL, overflow its
 * output buffer or its fixed tables, or recurse without bound.  The input
 * (prefixed "_Z" when it is not already, so the parser is reached) is
 * demangled in both styles into buffers of several sizes; the output must
 * be NUL-terminated inside the buffer and empty on error.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/demangle.h"

static volatile size_t sink;

static void one(const char *name, size_t outlen, enum fnt_dem_style style)
{
	/* Exactly outlen bytes, so ASan sees a write past the end. */
	char *out = malloc(outlen ? outlen : 1);
	int r;

	if (!out)
		return;
	r = fnt_demangle(name, out, outlen, style);
	if (r != 0 && r != -EINVAL && r != -ENOSPC)
		abort();
	if (outlen) {
		if (!memchr(out, 0, outlen))
			abort();
		if (r != 0 && out[0] != 0)
			abort();
		sink += strlen(out);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t lens[] = { 0, 1, 7, 64, 4096 };
	int pre = !(size >= 2 && data[0] == '_' && data[1] == 'Z');
	/* Exactly the name and its NUL: a read past the NUL is a heap overflow. */
	char *s = malloc(size + 1 + (pre ? 2 : 0));

	if (!s)
		return 0;
	if (pre)
		memcpy(s, "_Z", 2);
	memcpy(s + (pre ? 2 : 0), data, size);
	s[size + (pre ? 2 : 0)] = 0;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		one(s, lens[i], FNT_DEM_FULL);
		one(s, lens[i], FNT_DEM_SIMPLE);
	}
	free(s);
	return 0;
}
