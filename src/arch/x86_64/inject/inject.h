/*
 * inject.h - what fntrace and the code it places in a process it attaches
 * to share: the layout of the area it maps there, and the parameter block
 * at its start.  The loader (loader.c) is built freestanding and copied
 * into the area; fntrace (src/cli/attach.c, through hijack.c) fills the
 * parameters and starts the loader on a thread of its own.
 *
 * The area, mapped by the hijacked thread (one raw mmap):
 *
 *   [0, PARAMS)            struct fnt_inj_params
 *   [CODE, CODE + code)    the loader
 *   [STACK, TLS)           the loader thread's stack
 *   [TLS, TCB)             a zeroed static TLS block for that thread
 *   [TCB, END)             its thread control block (zeroed but for the
 *                          ABI's header words)
 */
#ifndef FNT_ARCH_X86_64_INJECT_H
#define FNT_ARCH_X86_64_INJECT_H

#include <stdint.h>

#define FNT_INJ_MAGIC 0x3174636174746e66ull	/* "fnattct1" */

#define FNT_INJ_PARAMS 0x0ul
#define FNT_INJ_CODE 0x2000ul
#define FNT_INJ_CODE_MAX 0x2000ul
#define FNT_INJ_STACK 0x4000ul
#define FNT_INJ_TLS 0x14000ul		/* 64 KB of stack */
#define FNT_INJ_TCB 0x54000ul		/* 256 KB of static TLS */
#define FNT_INJ_END 0x58000ul		/* 16 KB for the TCB */

/* The thread name the loader gives the thread that loads the runtime: the
 * runtime's constructor knows by it that it was attached, not preloaded. */
#define FNT_INJ_THREAD_NAME "fntrace-attach"

/* Progress, in params.state (a futex word). */
enum fnt_inj_state {
	FNT_INJ_NONE = 0,
	FNT_INJ_STARTED,	/* the raw thread runs */
	FNT_INJ_CREATED,	/* the loading thread is made */
	FNT_INJ_LOADED,		/* dlopen returned the runtime */
	FNT_INJ_DONE,		/* the runtime took the area (fnt__attach_done) */
	FNT_INJ_FAILED,		/* err says why */
};

struct fnt_inj_params {
	uint64_t magic;
	/* Addresses in the target, filled by fntrace. */
	uint64_t pthread_create;
	uint64_t dlopen;
	uint64_t dlerror;
	uint64_t dlsym;
	uint64_t area;		/* where the area lies, and its length */
	uint64_t area_len;
	uint64_t code_len;
	/* Written by the loader. */
	uint64_t n_thread;	/* pthread_t of the loading thread */
	int32_t r_tid;		/* the raw thread's tid, cleared by the kernel when it ends */
	int32_t n_tid;		/* the loading thread's tid */
	uint32_t state;		/* enum fnt_inj_state */
	int32_t err_code;	/* pthread_create's, or 0 */
	char err[512];		/* dlerror()'s text on failure */
	char path[4096];	/* the runtime to load, NUL-terminated */
};

/* The runtime's entry for the loader, called after dlopen with the
 * parameters: it takes the area (and frees it once both threads are gone). */
#define FNT_INJ_DONE_SYM "fnt__attach_done"

#endif
