/*
 * lifecycle.c - fork and thread churn while patching runs.
 *
 * usage: lifecycle fork|threads ROUNDS
 *   fork:    a thread toggles tracing without pause while the main thread
 *            forks ROUNDS times; each child calls traced functions, then
 *            enables and disables tracing itself (no lock may be left held
 *            by a thread that does not exist in the child), and reports.
 *   threads: short-lived threads are created and exit continuously (some
 *            through pthread_exit from inside a traced function) while the
 *            main thread toggles ROUNDS times.
 *   altstack: returns are hooked; a thread whose signal handler runs on an
 *            alternate stack mapped just above its own stack calls traced
 *            functions from the handler, ROUNDS times, from inside a hooked
 *            frame.  Every exit must be a real return (none "unwound").
 */
#include <signal.h>
#include <sys/mman.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fntrace.h"

#define NOINL __attribute__((noinline))
#define CHECK(cond) do { if (!(cond)) { printf("FAILED: %s (line %d)\n", #cond, __LINE__); exit(1); } } while (0)

NOINL int t_leaf(int x) { __asm__ volatile(""); return x + 3; }
NOINL int t_mid(int x) { __asm__ volatile(""); return t_leaf(x) * 2; }
NOINL void t_quit(int x)
{
	__asm__ volatile("");
	if (x & 1)
		pthread_exit(NULL);
}

static _Atomic int stop;
static _Atomic long bad, entries, exits, spawned;

static _Atomic long unwound;

static int on_entry(const struct fnt_call *c, void *d)
{
	entries++;
	return 0;
}

static void on_exit_cb(const struct fnt_call *c, void *d)
{
	exits++;
	if (c->flags & FNT_CALL_UNWOUND)
		unwound++;
}

static void on_usr1(int sig)
{
	for (int i = 0; i < 10; i++)
		if (t_mid(i) != (i + 3) * 2)
			bad++;
}

NOINL int t_outer(int rounds)
{
	__asm__ volatile("");
	for (int i = 0; i < rounds; i++)
		pthread_kill(pthread_self(), SIGUSR1);
	return t_leaf(rounds);
}

static void *alt_thread(void *arg)
{
	stack_t ss = { .ss_sp = arg, .ss_size = 1 << 16 };
	int rounds = 200;

	sigaltstack(&ss, NULL);
	for (int r = 0; r < 20; r++)
		if (t_outer(rounds) != rounds + 3)
			bad++;
	return NULL;
}

static void *toggler(void *arg)
{
	while (!stop) {
		fnt_enable("t_*");
		fnt_disable("t_*");
	}
	return NULL;
}

static void *short_lived(void *arg)
{
	long id = (long)arg;

	for (int i = 0; i < 200; i++)
		if (t_mid(i) != (i + 3) * 2)
			bad++;
	t_quit((int)id);
	return NULL;
}

static void *spawner(void *arg)
{
	while (!stop) {
		pthread_t t[4];

		for (long i = 0; i < 4; i++)
			pthread_create(&t[i], NULL, short_lived, (void *)(spawned + i));
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
		spawned += 4;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "fork";
	int rounds = argc > 2 ? atoi(argv[2]) : 200;
	struct fnt_ops ops = { .filter = "t_*", .entry = on_entry, .exit = on_exit_cb };
	struct fnt_status st;
	pthread_t th[2];

	if (!strcmp(mode, "fork")) {
		int children_ok = 0;

		pthread_create(&th[0], NULL, toggler, NULL);
		for (int r = 0; r < rounds; r++) {
			pid_t pid = fork();
			int status;

			CHECK(pid >= 0);
			if (pid == 0) {
				int ok = 1;

				for (int i = 0; i < 1000; i++)
					ok &= t_mid(i) == (i + 3) * 2;
				ok &= fnt_enable("t_*") == 0;
				for (int i = 0; i < 1000; i++)
					ok &= t_mid(i) == (i + 3) * 2;
				ok &= fnt_disable(NULL) == 0;
				fnt_status(&st);
				ok &= st.enabled == 0 && !st.disabled;
				_exit(ok ? 0 : 3);
			}
			CHECK(waitpid(pid, &status, 0) == pid);
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
				children_ok++;
			else
				printf("child %d: status %#x\n", r, status);
		}
		stop = 1;
		pthread_join(th[0], NULL);
		printf("children_ok=%d of %d\n", children_ok, rounds);
		CHECK(children_ok == rounds);
	} else if (!strcmp(mode, "altstack")) {
		struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_ONSTACK };
		pthread_attr_t attr;
		/* The alternate stack first: the thread's stack is mapped below it. */
		void *alt = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		CHECK(alt != MAP_FAILED);
		sigaction(SIGUSR1, &sa, NULL);
		ops.filter = "t_*";
		CHECK(fnt_register_ops(&ops) == 0);
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 1 << 16);
		pthread_create(&th[0], &attr, alt_thread, alt);
		pthread_join(th[0], NULL);
		CHECK(fnt_unregister_ops(&ops) == 0);
		printf("entries=%ld exits=%ld unwound=%ld bad=%ld\n", (long)entries, (long)exits,
		       (long)unwound, (long)bad);
		CHECK(bad == 0 && entries == exits && unwound == 0 && entries > 20 * 200 * 10);
	} else {
		CHECK(fnt_register_ops(&ops) == 0);
		pthread_create(&th[0], NULL, spawner, NULL);
		/* At least ROUNDS toggles, and while at least 400 threads came and went. */
		for (int r = 0; r < rounds || spawned < 400; r++) {
			CHECK(fnt_enable("t_*") == 0);
			CHECK(fnt_disable("t_*") == 0);
		}
		stop = 1;
		pthread_join(th[0], NULL);
		CHECK(fnt_unregister_ops(&ops) == 0);
		fnt_status(&st);
		printf("spawned=%ld entries=%ld exits=%ld bad=%ld enabled=%lu\n", (long)spawned,
		       (long)entries, (long)exits, (long)bad, (unsigned long)st.enabled);
		/* Every hooked call returned, or was reported unwound at exit. */
		CHECK(bad == 0 && st.enabled == 0 && entries == exits && spawned > 0);
	}
	printf("OK\n");
	return 0;
}
