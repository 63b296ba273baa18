/*
 * check.h - the unit tests' assertions.  A failed check prints where, what
 * was compared and both sides, counts the failure and goes on, so one run
 * shows every broken case; check_done() turns the count into main's exit.
 */
#ifndef FNT_TESTS_CHECK_H
#define FNT_TESTS_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                     \
	do {                                                                            \
		check_count++;                                                          \
		if (!(cond)) {                                                          \
			check_failures++;                                               \
			fprintf(stderr, "%s:%d: FAIL: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                       \
	} while (0)

/* Integers (anything that fits in long long). */
#define CHECK_EQ(a, b)                                                                  \
	do {                                                                            \
		long long a_ = (long long)(a), b_ = (long long)(b);                     \
		check_count++;                                                          \
		if (a_ != b_) {                                                         \
			check_failures++;                                               \
			fprintf(stderr, "%s:%d: FAIL: %s == %s: %lld (%#llx) != %lld (%#llx)\n", \
				__FILE__, __LINE__, #a, #b, a_, a_, b_, b_);             \
		}                                                                       \
	} while (0)

#define CHECK_STR(a, b)                                                                 \
	do {                                                                            \
		const char *a_ = (a), *b_ = (b);                                        \
		check_count++;                                                          \
		if (!a_ || !b_ || strcmp(a_, b_)) {                                     \
			check_failures++;                                               \
			fprintf(stderr, "%s:%d: FAIL: %s == %s: \"%s\" != \"%s\"\n",      \
				__FILE__, __LINE__, #a, #b, a_ ? a_ : "(null)",          \
				b_ ? b_ : "(null)");                                     \
		}                                                                       \
	} while (0)

/* Does string a contain b? */
#define CHECK_HAS(a, b)                                                                 \
	do {                                                                            \
		const char *a_ = (a), *b_ = (b);                                        \
		check_count++;                                                          \
		if (!a_ || !strstr(a_, b_)) {                                           \
			check_failures++;                                               \
			fprintf(stderr, "%s:%d: FAIL: \"%s\" does not contain \"%s\"\n", \
				__FILE__, __LINE__, a_ ? a_ : "(null)", b_);             \
		}                                                                       \
	} while (0)

/* Byte buffers, printed in hex on failure. */
#define CHECK_MEM(a, b, n)                                                              \
	do {                                                                            \
		const unsigned char *a_ = (const void *)(a), *b_ = (const void *)(b);   \
		size_t n_ = (n);                                                        \
		check_count++;                                                          \
		if (memcmp(a_, b_, n_)) {                                               \
			check_failures++;                                               \
			fprintf(stderr, "%s:%d: FAIL: %s == %s:", __FILE__, __LINE__, #a, #b); \
			for (size_t i_ = 0; i_ < n_; i_++)                              \
				fprintf(stderr, " %02x", a_[i_]);                       \
			fprintf(stderr, " !=");                                         \
			for (size_t i_ = 0; i_ < n_; i_++)                              \
				fprintf(stderr, " %02x", b_[i_]);                       \
			fprintf(stderr, "\n");                                          \
		}                                                                       \
	} while (0)

static inline int check_done(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
	return check_failures ? 1 : 0;
}

#endif
