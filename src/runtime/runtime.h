/*
 * runtime.h - internal interface of the injected runtime (libfntrace.so).
 */
#ifndef FNT_RUNTIME_H
#define FNT_RUNTIME_H

#include <signal.h>

#include "core/core.h"

#define FNT_EXPORT __attribute__((visibility("default")))

/* Registered ops by slot; slot 0 is the built-in tracer.  Written under
 * fnt__lock (release), read on the hot path (acquire). */
extern struct fnt_ops *_Atomic fnt__ops[FNT_MAX_OPS];
/* Publishes ops in slot (NULL: detaches), keeping the hooks' mask of ops
 * with exit callbacks in step. */
void fnt__ops_publish(int slot, struct fnt_ops *ops);

/* hooks.c */
void fnt__hooks_init(void);
/* Waits until no thread is inside a hook that started before the call. */
void fnt__quiesce(void);
void fnt__hooks_fork_child(void);

/* signals.c: SIGTRAP ownership and the interposed signal calls. */
int fnt__signals_init(void);
/* Returns 0 if our SIGTRAP handler is still the one installed, else -EPERM. */
int fnt__signals_check(void);
/* Clears SIGTRAP in the mask saved in a sigjmp_buf (called by the
 * interposed longjmp family before the real jump restores it). */
void fnt__sig_fix_jmpbuf(void *env);

/* runtime.c */
/* Takes fnt__lock and fails with -ENODEV once patching is disabled. */
int fnt__begin(void);
void fnt__end(void);
/* Calls the object hook for o (loaded=1 or 0); caller holds fnt__lock. */
void fnt__notify_object(struct fnt_object *o, int loaded);
/* Applies the built-in history and every registered ops' filter to o. */
int fnt__apply_wants(struct fnt_object *o);

/* recorder.c (the built-in tracer's recorder; does nothing unless the
 * environment set up by 'fntrace record' is present). */
void fnt__recorder_init(void);
void fnt__recorder_fork_child(void);
void fnt__recorder_thread_reset(void);

#endif
