/*
 * live_counts.c - exact call counts of a process recorded from outside
 * (e2e/live_counts).  It talks with the test over two FIFOs, a line at a
 * time (read(2) and write(2) only, so nothing is buffered across fork and
 * exec): it reads commands from IN and writes what it did to OUT.
 *
 *   live_counts counts IN OUT
 *       "ready"; waits for "go"; main makes N_A calls of f_a, N_B of f_b
 *       (each calls f_leaf once), N_REC of f_rec (10 levels below each),
 *       while a thread makes N_T calls of t_fn; "done"; waits for "quit".
 *   live_counts fork IN OUT M Q wait|now
 *       "ready"; waits for "go"; forks.  The child makes M calls of c_fn,
 *       says "child PID", waits for "exec" (wait) or not (now), and execs
 *       this program as "image2 IN OUT Q" (the runtime comes along through
 *       LD_PRELOAD and LD_AUDIT, dormant).  The parent makes M calls of p_fn, waits for
 *       the child and says "child-status S" (its wait status), "done", and
 *       waits for "quit".
 *   live_counts image2 IN OUT Q
 *       says "image2 PID"; waits for "go2"; makes Q calls of e_fn;
 *       "image2-done"; exits 0.
 *
 * The counts are the test's own arithmetic: the program prints none, it
 * makes exactly the calls its arguments say.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define N_A 1000
#define N_B 2500
#define N_REC 7
#define N_T 300

static volatile unsigned long sink;
static int in_fd = -1, out_fd = -1;

NOINLINE void f_leaf(unsigned long x) { sink += x; }
NOINLINE void f_a(unsigned long x) { sink ^= x; }
NOINLINE void f_b(unsigned long x) { f_leaf(x); }
NOINLINE unsigned long f_rec(int d)
{
	unsigned long r = d ? f_rec(d - 1) + 1 : 0;

	/* Not a loop: the compiler must keep every level a call. */
	__asm__ volatile("" : "+r"(r) : : "memory");
	sink += r;
	return r;
}
NOINLINE void t_fn(unsigned long x) { sink += x * 3; }
NOINLINE void c_fn(unsigned long x) { sink += x * 5; }
NOINLINE void p_fn(unsigned long x) { sink += x * 7; }
NOINLINE void e_fn(unsigned long x) { sink += x * 11; }

static void die(const char *what)
{
	fprintf(stderr, "live_counts[%d]: %s: %s\n", getpid(), what, strerror(errno));
	exit(2);
}

static void say(const char *fmt, long v)
{
	char line[128];
	int n = snprintf(line, sizeof(line), fmt, v);

	if (write(out_fd, line, (size_t)n) != n)
		die("write");
}

/* Waits for the line want on IN (other lines are an error). */
static void wait_for(const char *want)
{
	char line[64];
	size_t n = 0;

	for (;;) {
		ssize_t r = read(in_fd, line + n, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("read");
		if (line[n] == '\n')
			break;
		if (++n == sizeof(line) - 1)
			break;
	}
	line[n] = 0;
	if (strcmp(line, want)) {
		fprintf(stderr, "live_counts[%d]: got '%s', expected '%s'\n", getpid(), line, want);
		exit(2);
	}
}

static void open_fifos(const char *in, const char *out)
{
	/* O_RDWR: open() does not wait for the other end. */
	in_fd = open(in, O_RDWR);
	out_fd = open(out, O_RDWR);
	if (in_fd < 0 || out_fd < 0)
		die("open");
}

static void *thread_main(void *arg)
{
	for (unsigned long i = 0; i < N_T; i++)
		t_fn(i);
	return NULL;
}

static int counts(void)
{
	pthread_t th;

	say("ready\n", 0);
	wait_for("go");
	if (pthread_create(&th, NULL, thread_main, NULL))
		die("pthread_create");
	for (unsigned long i = 0; i < N_A; i++)
		f_a(i);
	for (unsigned long i = 0; i < N_B; i++)
		f_b(i);
	for (int i = 0; i < N_REC; i++)
		f_rec(10);
	pthread_join(th, NULL);
	say("done\n", 0);
	wait_for("quit");
	return 0;
}

static int forker(long m, const char *in, const char *out, const char *q, int wait_exec)
{
	int st;
	pid_t pid;

	say("ready\n", 0);
	wait_for("go");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		char self[4096];
		ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (l < 0)
			die("readlink");
		self[l] = 0;
		for (long i = 0; i < m; i++)
			c_fn((unsigned long)i);
		say("child %ld\n", (long)getpid());
		if (wait_exec)
			wait_for("exec");
		execl(self, self, "image2", in, out, q, (char *)NULL);
		die("execl");
	}
	for (long i = 0; i < m; i++)
		p_fn((unsigned long)i);
	if (waitpid(pid, &st, 0) != pid)
		die("waitpid");
	say("child-status %ld\n", (long)st);
	say("done\n", 0);
	wait_for("quit");
	return 0;
}

static int image2(long q)
{
	say("image2 %ld\n", (long)getpid());
	wait_for("go2");
	for (long i = 0; i < q; i++)
		e_fn((unsigned long)i);
	say("image2-done\n", 0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "counts")) {
		open_fifos(argv[2], argv[3]);
		return counts();
	}
	if (argc == 7 && !strcmp(argv[1], "fork")) {
		open_fifos(argv[2], argv[3]);
		return forker(atol(argv[4]), argv[2], argv[3], argv[5], !strcmp(argv[6], "wait"));
	}
	if (argc == 5 && !strcmp(argv[1], "image2")) {
		open_fifos(argv[2], argv[3]);
		return image2(atol(argv[4]));
	}
	fprintf(stderr, "usage: live_counts counts IN OUT | fork IN OUT M Q wait|now | image2 IN OUT Q\n");
	return 2;
}
