/*
 * log.h - the runtime's diagnostics.
 *
 * The runtime never writes to the program's stdout.  Every line goes to
 * stderr (fd 2) with a single write(2), prefixed "fntrace: ", so lines of
 * concurrent threads do not interleave.  Usable from signal handlers: it
 * formats into a stack buffer and never allocates.
 */
#ifndef FNT_UTIL_LOG_H
#define FNT_UTIL_LOG_H

#include <stdarg.h>

/* Verbosity from FNTRACE_DEBUG (0 = errors and warnings only). */
extern int fnt__verbose;

void fnt__log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fnt__vlog(const char *fmt, va_list ap);
#define fnt__dbg(lvl, ...) do { if (fnt__verbose >= (lvl)) fnt__log(__VA_ARGS__); } while (0)

#endif
