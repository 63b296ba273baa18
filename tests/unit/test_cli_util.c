/*
 * test_cli_util.c - the command's small parsers and formatters: durations
 * ("5us"), sizes ("64K"), the fixed-width duration column, and the output
 * buffer's number formatting.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/common.c"

#include "unit/check.h"

static uint64_t dur(const char *s)
{
	uint64_t ns = 12345;

	return fnt__parse_duration(s, &ns) == 0 ? ns : (uint64_t)-1;
}

static uint64_t size(const char *s)
{
	uint64_t b = 12345;

	return fnt__parse_size(s, &b) == 0 ? b : (uint64_t)-1;
}

static const char *fmt(uint64_t ns)
{
	static char buf[32];

	fnt__fmt_dur(buf, ns);
	return buf;
}

int main(void)
{
	struct fnt_out o;
	int fds[2];
	char got[256];
	ssize_t n;

	CHECK_EQ(dur("5us"), 5000);
	CHECK_EQ(dur("5"), 5000);		/* microseconds, like tracing_thresh */
	CHECK_EQ(dur("300ns"), 300);
	CHECK_EQ(dur("2ms"), 2000000);
	CHECK_EQ(dur("1.5ms"), 1500000);
	CHECK_EQ(dur("1s"), 1000000000);
	CHECK_EQ(dur(""), (uint64_t)-1);
	CHECK_EQ(dur("us"), (uint64_t)-1);
	CHECK_EQ(dur("-5us"), (uint64_t)-1);
	CHECK_EQ(dur("5parsecs"), (uint64_t)-1);
	CHECK_EQ(dur("1e30s"), (uint64_t)-1);

	CHECK_EQ(size("4096"), 4096);
	CHECK_EQ(size("64K"), 65536);
	CHECK_EQ(size("64k"), 65536);
	CHECK_EQ(size("1M"), 1 << 20);
	CHECK_EQ(size("1MiB"), 1 << 20);
	CHECK_EQ(size("2G"), 2ull << 30);
	CHECK_EQ(size("12Q"), (uint64_t)-1);
	CHECK_EQ(size("K"), (uint64_t)-1);
	CHECK_EQ(size("-1"), (uint64_t)-1);
	CHECK_EQ(size("99999999999999999999"), (uint64_t)-1);

	/* Always 10 characters while it fits, unit chosen by magnitude. */
	CHECK_STR(fmt(0), "  0.000 us");
	CHECK_STR(fmt(20), "  0.020 us");
	CHECK_STR(fmt(1234), "  1.234 us");
	CHECK_STR(fmt(999999), "999.999 us");
	CHECK_STR(fmt(1000000), "  1.000 ms");
	CHECK_STR(fmt(20080000), " 20.080 ms");
	CHECK_STR(fmt(1500000000), "  1.500  s");
	CHECK_STR(fmt(7200000000000ull), "   7200  s");

	/* The output buffer: numbers right-aligned, flushed on close. */
	if (pipe(fds) < 0)
		return 1;
	fnt__out_init(&o, fds[1]);
	fnt__out_u64(&o, 42, 6);
	fnt_out_ch(&o, '|');
	fnt__out_u64(&o, 0, 0);
	fnt_out_ch(&o, '|');
	fnt__out_u64(&o, 18446744073709551615ull, 3);
	fnt_out_spaces(&o, 3);
	fnt_out_str(&o, "x\n");
	fnt__out_close(&o);
	close(fds[1]);
	n = read(fds[0], got, sizeof(got) - 1);
	got[n > 0 ? n : 0] = 0;
	CHECK_STR(got, "    42|0|18446744073709551615   x\n");

	if (check_failures) {
		fprintf(stderr, "test_cli_util: %d failures\n", check_failures);
		return 1;
	}
	printf("test_cli_util: ok\n");
	return 0;
}
