/*
 * test_log.c - the runtime's own formatter (util/log.c), which replaced
 * vsnprintf inside hooks: every conversion the runtime uses gives what
 * snprintf gives, and truncation keeps the buffer terminated.
 */
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "util/log.h"

#define SAME(...)                                                        \
	do {                                                             \
		char want_[256], got_[256];                              \
		snprintf(want_, sizeof(want_), __VA_ARGS__);             \
		fnt__format(got_, sizeof(got_), __VA_ARGS__);            \
		CHECK_STR(got_, want_);                                  \
	} while (0)

int main(void)
{
	char small[8];

	SAME("plain text");
	SAME("%d %d %d %i", 0, -1, 2147483647, (int)-2147483647 - 1);
	SAME("%u %u", 0u, 4294967295u);
	SAME("%lu %ld %ld", 18446744073709551615ul, -9223372036854775807l - 1, 42l);
	SAME("%llu %lld", 18446744073709551615ull, -5ll);
	SAME("%zu %zd", (size_t)12345, (ssize_t)-3);
	SAME("%x %lx %#lx %#x %#lx", 255u, 0xdeadbeeful, 0x401530ul, 0u, 0ul);
	SAME("%02x %08lx %5d|%-3s|", 7u, 0xabcul, 42, "ab");
	SAME("%s and %s", "one", "");
	SAME("%.*s|%.2s", 3, "abcdef", "xyz");
	SAME("%c%c %%", 'o', 'k');
	SAME("%p", (void *)0x7ffd1234);
	SAME("site bug: %s (%s) at %s (%#lx) in %s", "unexpected bytes", "EINVAL", "victim",
	     0x401530ul, "./prog");

	/* Truncation: terminated, and the length is what was kept. */
	CHECK_EQ(fnt__format(small, sizeof(small), "%s", "0123456789"), 7);
	CHECK_STR(small, "0123456");
	CHECK_EQ(fnt__format(small, sizeof(small), "%d", -1234567), 7);
	CHECK_STR(small, "-123456");
	return check_done("test_log");
}
