/*
 * errors.h - the one table of the runtime's error codes and their messages.
 *
 * Every fallible call returns 0 or a negative errno (libuv's rule); this
 * table says what each errno means for fntrace.  It lives in util/ because
 * every layer reports errors, and lower layers never call upward.
 */
#ifndef FNT_UTIL_ERRORS_H
#define FNT_UTIL_ERRORS_H

#include <errno.h>

#define FNT_ERRNO_MAP(X)                                                                    \
	X(EFAULT, "site unreadable")                                                        \
	X(EINVAL, "unexpected bytes or invalid argument")                                   \
	X(EPERM, "code write failed")                                                       \
	X(ENODEV, "patching disabled after an anomaly")                                     \
	X(ENOMEM, "out of memory")                                                          \
	X(EDEADLK, "a thread blocks SIGTRAP; no int3 can be written")                       \
	X(EBUSY, "busy: already registered, or code running where it must not")             \
	X(ENOSPC, "too many ops registered")                                                \
	X(ENOENT, "not found")                                                              \
	X(ETIMEDOUT, "cross-thread sync timed out")

/* The message for err (0 or -errno); never NULL. */
const char *fnt__strerror(int err);

#endif
