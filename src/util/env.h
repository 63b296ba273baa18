/*
 * env.h - the runtime's view of its FNTRACE_* environment.
 *
 * The runtime never calls getenv(): a program may define its own (bash
 * does), compiled with the tracing flags, and calling it from a fork
 * handler or a hook runs the program's code, traced, at the worst moment.
 * The variables are taken once, at start-up, straight from environ, and
 * not at all in a secure-execution process (setuid, setgid, file
 * capabilities: AT_SECURE), whose environment belongs to whoever started
 * it, not to the program's owner.
 */
#ifndef FNT_UTIL_ENV_H
#define FNT_UTIL_ENV_H

/* Takes the snapshot; called once, from the constructor.  Returns 1 in a
 * secure-execution process (then every lookup finds nothing). */
int fnt__env_init(void);
/* The value of NAME (an FNTRACE_* variable) at start-up, or NULL. */
const char *fnt__env(const char *name);

#endif
