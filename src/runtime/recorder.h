/*
 * recorder.h - the in-process side of `fntrace record`: the built-in
 * tracer's callbacks writing into the shared rings.
 */
#ifndef FNT_RUNTIME_RECORDER_H
#define FNT_RUNTIME_RECORDER_H

#include <stddef.h>
#include <stdint.h>

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

/* Live sessions (the agent's requests; src/runtime/agent.c). */
#define FNT_REC_FILTER_MAX 4096
enum fnt_rec_kind { FNT_REC_NONE, FNT_REC_RECORD, FNT_REC_LIVE };
/* Begins recording into the region open at fd (not kept), with the
 * filters given (NULL or "": all; none).  Returns 0, or -errno with *why
 * saying why (-EBUSY: a recording runs). */
int fnt__recorder_start(int fd, const char *filter, const char *notrace, const char **why);
/* Ends the running recording, if any: every site it enabled is a NOP again
 * and the region is unmapped when it returns.  drained: the consumer
 * drains meanwhile (lossless writers waiting for room go on waiting).
 * Returns 0 or -errno. */
int fnt__recorder_stop(int drained);
/* 1 if a writer gave up waiting for the consumer (the agent then stops). */
int fnt__recorder_stopping(void);
/* Changes the running recording: each argument that is not NULL replaces
 * the setting.  Returns 0, or -errno with *why set. */
int fnt__recorder_set(const char *filter, const char *notrace, const uint32_t *depth,
		      const uint64_t *thresh_ticks, const uint32_t *tracer, const char **why);
/* Appends the recording's state to a control reply body (ctl/proto.h). */
int fnt__recorder_describe(char *buf, size_t cap, uint32_t *len);
/* enum fnt_rec_kind of the running recording. */
int fnt__recorder_kind(void);

#endif
