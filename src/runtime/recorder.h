/*
 * recorder.h - the in-process side of `fntrace record`: the built-in
 * tracer's callbacks writing into the shared rings.
 */
#ifndef FNT_RUNTIME_RECORDER_H
#define FNT_RUNTIME_RECORDER_H

/* Environment set by `fntrace record` for the traced process. */
#define FNT_ENV_SHM "FNTRACE_SHM"		/* path of the shared region */
#define FNT_ENV_FILTER "FNTRACE_FILTER"		/* fnt_enable() filter */
#define FNT_ENV_NOTRACE "FNTRACE_NOTRACE"	/* fnt_disable() filter */

/* Called once by the runtime's constructor, after the startup objects'
 * sites are registered.  Does nothing unless FNTRACE_SHM is set. */
void fnt__recorder_init(void);
/* Called in the child after fork(), before any traced code runs there. */
void fnt__recorder_fork_child(void);
/* Called on a thread whose hook was abandoned mid-way (siglongjmp out of a
 * signal handler), before its next callback: a ring write may have been
 * cut off too. */
void fnt__recorder_thread_reset(void);

#endif
