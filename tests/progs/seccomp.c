/*
 * seccomp.c - programs under a seccomp filter that kills on membarrier
 * (issue 8, item 9).  The runtime must not make a syscall the program
 * never makes and that could kill it.
 *
 * usage: seccomp MODE
 *   exec:   installs the filter, then runs itself again ("run") with the
 *           same environment, so the runtime starts up under the filter;
 *   run:    workers call traced functions while the main thread toggles;
 *   late:   starts untouched, installs the filter on every thread
 *           (TSYNC), then toggles;
 *   errno:  the same with a filter that fails membarrier with EPERM
 *           (run with FNTRACE_SYNC=membarrier, which bypasses the
 *           seccomp check): the sync falls back to signals.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fntrace.h"

#define NOINL __attribute__((noinline))
#define CHECK(cond) do { if (!(cond)) { printf("FAILED: %s (line %d)\n", #cond, __LINE__); exit(1); } } while (0)

NOINL int t_work(int x) { __asm__ volatile(""); return x * 5 + 3; }

static _Atomic int stop;
static _Atomic long bad, hits;

static int on_entry(const struct fnt_call *c, void *data)
{
	hits++;
	return 0;
}

static void *caller(void *arg)
{
	while (!stop)
		for (int i = 0; i < 1000; i++)
			if (t_work(i) != i * 5 + 3)
				bad++;
	return NULL;
}

static void filter(unsigned int action, unsigned int flags)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_membarrier, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, action),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
	CHECK(syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog) == 0);
}

static void toggle_under_load(void)
{
	pthread_t th[2];
	struct fnt_status st;

	CHECK(fnt_set_builtin_tracer(on_entry, NULL, NULL) == 0);
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, caller, NULL);
	for (int r = 0; r < 60; r++) {
		int ret = fnt_enable("t_*");

		if (!ret)
			ret = fnt_disable(NULL);
		if (ret) {
			printf("round %d: %s\n", r, fnt_strerror(ret));
			exit(1);
		}
	}
	stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	fnt_status(&st);
	printf("hits=%ld bad=%ld batches=%lu disabled=%d\n", (long)hits, (long)bad,
	       (unsigned long)st.batches, st.disabled);
	CHECK(!bad && !st.disabled && st.batches >= 120 && !st.enabled);
	/* The program may call membarrier itself and is killed, as without
	 * fntrace: the filter really is there. */
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "run";

	if (!strcmp(mode, "exec")) {
		filter(SECCOMP_RET_KILL_PROCESS, 0);
		execl("/proc/self/exe", argv[0], "run", (char *)NULL);
		perror("execl");
		return 1;
	}
	if (!strcmp(mode, "late")) {
		CHECK(fnt_enable("t_*") == 0 && fnt_disable(NULL) == 0);
		filter(SECCOMP_RET_KILL_PROCESS, SECCOMP_FILTER_FLAG_TSYNC);
	} else if (!strcmp(mode, "errno")) {
		filter(SECCOMP_RET_ERRNO | EPERM, SECCOMP_FILTER_FLAG_TSYNC);
	}
	toggle_under_load();
	printf("OK\n");
	return 0;
}
