/*
 * fntrace.h - the public interface of libfntrace.so, the fntrace runtime.
 *
 * This is the only public header.  A program (or a tracer living inside
 * one) uses it to turn function-entry patch sites into calls and back,
 * live, while every thread keeps running, and to register entry and exit
 * callbacks in the spirit of the kernel's ftrace_ops.
 *
 * Every fallible call returns 0 or a negative errno.  Once an anomaly has
 * disabled patching for good, every call that would patch returns
 * -ENODEV and fnt_status() carries the report.
 */
#ifndef FNTRACE_H
#define FNTRACE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FNT_API_VERSION 1

/* Maximum number of fnt_ops registered at once (the built-in tracer included). */
#define FNT_MAX_OPS 32

/* Hooked returns a thread can have pending at once (the shadow stack).
 * Deeper calls get their entry callbacks but no exit (counted in
 * fnt_status.depth_overflows): an entry callback seeing
 * call->depth >= FNT_MAX_DEPTH knows its exit will not come. */
#define FNT_MAX_DEPTH 1024

/* Set in fnt_call.flags for an exit reported because the frame was unwound
 * (longjmp, exception, thread exit) rather than returned from. */
#define FNT_CALL_UNWOUND 0x1u

/* What a callback learns about one call.  Valid only during the callback. */
struct fnt_call {
	uintptr_t ip;		/* the traced function's patch site address */
	uintptr_t parent_ip;	/* the return address into the caller */
	uintptr_t frame;	/* address of the return-address slot (the CFA - 8) */
	uint32_t object_id;	/* the object's id; never reused within a process */
	uint32_t site_index;	/* the site's index within its object */
	uint32_t depth;		/* nesting depth of hooked calls in this thread */
	uint32_t flags;		/* FNT_CALL_* */
};

/* Returned by an entry callback that does not want the exit of this call. */
#define FNT_SKIP_EXIT 1

/*
 * Entry callback.  Runs on the traced thread, possibly inside a signal
 * handler; it must be async-signal-safe and must not call fnt_* functions
 * (fnt_unregister_ops waits for running callbacks to finish).  Traced
 * functions it calls are not reported (the recursion guard counts them).
 * Returns 0, or FNT_SKIP_EXIT.
 */
typedef int (*fnt_entry_fn)(const struct fnt_call *call, void *data);
/* Exit callback.  Same rules; it gets the call its entry got. */
typedef void (*fnt_exit_fn)(const struct fnt_call *call, void *data);

/*
 * A set of callbacks with its own filter.  The caller owns the memory and
 * keeps it alive and unchanged until fnt_unregister_ops() returns.
 * A site is a call while any registered ops wants it, and a NOP otherwise.
 */
struct fnt_ops {
	const char *filter;	/* ftrace glob list (see fnt_enable); NULL = all */
	fnt_entry_fn entry;	/* may be NULL */
	fnt_exit_fn exit;	/* NULL: the return is not hooked */
	void *data;		/* passed to both callbacks */
	int slot;		/* private to the runtime */
};

/* Registers ops and patches the sites it wants.  Returns 0 or -errno. */
int fnt_register_ops(struct fnt_ops *ops);
/* Unregisters ops; no callback of it runs after this returns.  Returns 0 or -errno. */
int fnt_unregister_ops(struct fnt_ops *ops);

/*
 * Adds the sites matching filter to the built-in tracer's set and patches
 * them into calls, live.  filter follows ftrace's set_ftrace_filter: glob
 * patterns ('*', '?', '[...]') separated by commas or spaces, '!pattern'
 * to exclude, and 'pattern:mod:OBJGLOB' to restrict a pattern to objects
 * whose file name matches.  NULL means every function.  The set is also
 * applied to objects loaded later.  Returns 0 or -errno.
 */
int fnt_enable(const char *filter);
/* Removes the sites matching filter from the built-in set, live.  When it
 * returns, no entry callback of the built-in tracer runs for those sites
 * (exits of calls already entered still arrive).  A callback must not wait
 * for the thread calling it.  Returns 0 or -errno. */
int fnt_disable(const char *filter);

/*
 * Callbacks of the built-in tracer (a recorder).  fnt_enable() patches
 * sites whether or not a recorder is attached.  Returns 0 or -errno.
 */
int fnt_set_builtin_tracer(fnt_entry_fn entry, fnt_exit_fn exit, void *data);

struct fnt_status {
	uint32_t objects;	/* objects with a site table */
	uint32_t objects_refused; /* objects whose sites were refused */
	uint64_t sites;		/* sites registered */
	uint64_t enabled;	/* sites currently patched into calls */
	uint64_t failed;	/* sites refused or failed */
	uint64_t batches;	/* int3 batches run */
	uint64_t traps;		/* traps handled at in-flight sites */
	uint64_t recursion_skips; /* calls not reported because a callback was running
				   * on the thread, or the thread was exiting */
	uint64_t depth_overflows; /* returns not hooked because the shadow stack was full */
	int disabled;		/* 1 once an anomaly disabled patching for good */
	char report[1024];	/* the anomaly report, or "" */
};

/* Fills *st.  Returns 0 or -errno. */
int fnt_status(struct fnt_status *st);

/* Describes err (a negative errno returned by fnt_*). Never returns NULL. */
const char *fnt_strerror(int err);

/* What the runtime knows of a loaded object. */
struct fnt_object_info {
	uint32_t id;
	const char *path;	/* the file it was loaded from */
	uintptr_t bias;		/* load bias */
	const uint8_t *build_id;
	size_t build_id_len;
	uint32_t nsites;
};

/*
 * Called with loaded=1 once an object's sites are registered, and with
 * loaded=0 just before they are released.  At registration the hook is
 * also called for every object already loaded.  Must not call fnt_*
 * functions that patch.  Returns 0 or -errno.
 */
typedef void (*fnt_object_fn)(const struct fnt_object_info *obj, int loaded, void *data);
int fnt_set_object_hook(fnt_object_fn fn, void *data);

/*
 * Looks up a site of a loaded object.  *name is valid while the object is
 * loaded.  Returns 0, or -ENOENT.
 */
int fnt_site_info(uint32_t object_id, uint32_t site_index, const char **name,
		  uintptr_t *addr);

#ifdef __cplusplus
}
#endif

#endif /* FNTRACE_H */
