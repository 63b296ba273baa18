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

/*
 * What a site wanted by the built-in tracer alone runs: the recorder's own
 * path (direct.c), which goes straight to its ring, or the general one
 * through fnt__ops.  Set by fnt__set_builtin() once the callbacks it names
 * are published, cleared before they are detached.  The trampolines read
 * it to choose; the direct path reads it again inside the guard (acquire,
 * pairs with the release store), where the recorder cannot go away.
 */
enum fnt_direct { FNT_DIRECT_NONE, FNT_DIRECT_GRAPH, FNT_DIRECT_FUNC };
extern _Atomic int fnt__direct;

/* hooks.c */
void fnt__hooks_init(void);
/* Waits until no thread is inside a hook that started before the call. */
void fnt__quiesce(void);
/* If si is fnt__quiesce()'s probe, drops the receiving thread's guard if
 * its holder is gone (uctx: the interrupted context) and returns 1. */
int fnt__hooks_probe(const siginfo_t *si, void *uctx);
void fnt__hooks_fork_child(void);
/* Another thread runs (on=1), or no longer runs (0), with the calling
 * thread's TLS: from then on its hooks check which thread they run on. */
void fnt__hooks_share_tls(int on);

/* runtime.c: what fork() runs around the new process, for the clones
 * that make one without running the fork handlers. */
void fnt__fork_prepare(void);
void fnt__fork_parent(void);
void fnt__fork_child(void);

/* clone.c: a clone or fork made through syscall(3); a[] holds its six
 * arguments.  Returns as syscall(3) does. */
long fnt__clone_syscall(long nr, const long a[6]);

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

/* api.c: fnt_set_builtin_tracer() for callbacks known to use no vector
 * register (the recorder's), which are then called without saving the
 * extended state.  direct (enum fnt_direct): the recorder's own path does
 * what these callbacks do, and sites wanted by them alone take it. */
int fnt__set_builtin(fnt_entry_fn entry, fnt_exit_fn exit, void *data, int vector_free,
		     int direct);
/* Detaches the built-in callbacks, even once patching is disabled: no
 * callback of them runs when it returns. */
void fnt__builtin_detach(void);
/* Makes the built-in tracer's sites those of filter (NULL: all) less those
 * of notrace (NULL: none), in one batch: a site in both the old and the
 * new set is never touched.  Returns 0 or -errno. */
int fnt__builtin_refilter(const char *filter, const char *notrace);

/* agent.c: the control endpoint's thread. */
/* Starts the agent (once, from the constructor).  Never fails the
 * program: trouble is one line on stderr and no endpoint. */
void fnt__agent_init(void);
/* In a child made by fork(): the parent's agent is not here; starts one
 * of its own. */
void fnt__agent_fork_child(void);
/* Wakes the agent to look at the recording (async-signal-safe). */
void fnt__agent_wake(void);

/* attach.c: 1 once the runtime knows it was loaded into a running process
 * by fntrace's attach (set by fnt__attach_detect(), in the constructor). */
extern int fnt__attached;
int fnt__attach_detect(void);
/* runtime.c: the dynamic linker's hook of an attached runtime: its state
 * for HELLO ("rbrk" = "ADDR OLD NEW" while fntrace is to write it, "armed"
 * after), and ARM, once fntrace has written it.  0 or -EINVAL (*why). */
void fnt__rtld_describe(char *b, uint32_t cap, uint32_t *len);
int fnt__rtld_arm(const char **why);
/* attach.c: frees the attach's loader area once its threads are gone
 * (the agent calls it; nothing to do in most processes). */
void fnt__attach_reap(void);
/* The process exits: the endpoint goes away. */
void fnt__agent_exit(void);

/* recorder.c (the built-in tracer's recorder; does nothing unless the
 * environment set up by 'fntrace record' is present). */
void fnt__recorder_init(void);
void fnt__recorder_fork_child(void);
/* Called first by fnt__fork_prepare(), before the patch lock is taken. */
void fnt__recorder_before_fork(void);
void fnt__recorder_thread_reset(void);

#endif
