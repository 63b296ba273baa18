/*
 * fuzz_ctl.c - libFuzzer harness of the control protocol's checks
 * (src/ctl/proto.c), which the agent runs inside every traced process on
 * whatever a peer sends: the input is a header and a body.  A message that
 * passes both checks is then read the way the agent reads one: every key
 * it knows, as text and as a number, and written back with fnt__ctl_put.
 */
#include <errno.h>
#include <string.h>

#include "ctl/proto.h"
#include "fuzz_common.h"

static volatile uint64_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *keys[] = { "filter", "notrace", "depth", "thresh_ticks", "tracer",
				      "error", "state", "version", "x", "" };
	static char body[FNT_CTL_MAX], out[FNT_CTL_MAX];
	struct fnt_ctl_hdr h;
	const char *why;
	char val[4096];
	uint32_t len, olen = 0;
	uint64_t v;

	if (size < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	if (fnt__ctl_check_hdr(&h, &why) < 0)
		return 0;
	len = (uint32_t)(size - sizeof(h));
	if (len > FNT_CTL_MAX)
		len = FNT_CTL_MAX;
	/* The body in a buffer of its own size, as the agent has it: a read
	 * past it is a bug ASan sees. */
	memcpy(body + sizeof(body) - len, data + sizeof(h), len);
	if (fnt__ctl_check_body(body + sizeof(body) - len, len, &why) < 0)
		return 0;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const char *b = body + sizeof(body) - len;
		int r = fnt__ctl_get(b, len, keys[k], val, sizeof(val));

		if (r >= 0) {
			if ((size_t)r != strlen(val))
				__builtin_trap();	/* the value has no NUL inside */
			fnt__ctl_put(out, sizeof(out), &olen, keys[k], val);
		}
		if (fnt__ctl_get_u64(b, len, keys[k], UINT64_MAX, &v) == 0)
			sink += v;
		/* A one-byte buffer holds only the empty value. */
		r = fnt__ctl_get(b, len, keys[k], val, 1);
		if (r > 0)
			__builtin_trap();
	}
	if (olen && fnt__ctl_check_body(out, olen, &why) < 0)
		__builtin_trap();	/* what put writes, check accepts */
	return 0;
}
