/*
 * log.h - the runtime's diagnostics.
 *
 * The runtime never writes to the program's stdout.  Every line goes to
 * stderr (fd 2) with a single write(2), prefixed "fntrace: ", so lines of
 * concurrent threads do not interleave.  Usable from signal handlers and
 * hooks: it formats into a stack buffer with its own integer-only code
 * (no libc string or stdio routine, which may use vector registers), and
 * never allocates.
 *
 * Conversions: %d %i %u %x %c %s %p %%, with l, ll, z, h; the '#' (0x),
 * '0' and '-' flags, a width, and a precision for %s ('*' for either).
 */
#ifndef FNT_UTIL_LOG_H
#define FNT_UTIL_LOG_H

#include <stdarg.h>
#include <stddef.h>

/* Verbosity from FNTRACE_DEBUG (0 = errors and warnings only). */
extern int fnt__verbose;

void fnt__log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fnt__vlog(const char *fmt, va_list ap);
/* snprintf for the conversions above: always NUL-terminated, returns the
 * length written (truncated to cap - 1). */
int fnt__vformat(char *buf, size_t cap, const char *fmt, va_list ap);
int fnt__format(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define fnt__dbg(lvl, ...) do { if (fnt__verbose >= (lvl)) fnt__log(__VA_ARGS__); } while (0)

#endif
