/*
 * attach_states.c - a program started without fntrace whose main thread
 * (the one an attach hijacks) waits in one state while a worker makes
 * traced calls; the state must come out as if nothing had happened
 * (e2e/attach_states).
 *
 *   attach_states MODE FIFO
 *
 * The main thread sets a signal mask, an alternate signal stack and errno
 * of its own, says "ready" on stdout, then, by MODE:
 *   read    blocks in read() on FIFO until a byte comes: never EINTR
 *   sleep   nanosleep(150 ms) in a loop until FIFO has a byte (another
 *           thread watches it): never EINTR, never shorter (MONOTONIC)
 *   futex   FUTEX_WAIT with no timeout on a word another thread sets once
 *           FIFO has a byte: never back before that (EINTR or spurious)
 *   accept  blocks in accept() on a listening socket; the FIFO's reader
 *           connects to it: never EINTR
 *   epoll   epoll_wait(-1) on FIFO: exactly one event, never EINTR
 *   regs    spins in assembly with every general register and ymm0-ymm15
 *           holding known values, checking them at every turn, until a
 *           word another thread sets once FIFO has a byte
 * Then it checks its mask, alternate stack and errno are as it set them.
 * Exit status 0, or 1 with one line on stderr saying what changed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static volatile long sink;
static volatile int stop_word, worker_stop;
static const char *fifo;
static char sock_path[108];
static unsigned long worker_calls;

NOINLINE void w_leaf(long i)
{
	sink += i;
}

NOINLINE void w_call(void)
{
	for (int i = 0; i < 100; i++)
		w_leaf(i);
}

static void *worker(void *arg)
{
	struct timespec ts = { 0, 1000000 };

	while (!worker_stop) {
		w_call();
		worker_calls++;
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static int die(const char *what)
{
	fprintf(stderr, "attach_states: %s\n", what);
	exit(1);
}

static long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Every general register but %rsp, and ymm0-ymm15, hold known values
 * while the loop runs (ymm0 a pattern, ymm1 all ones, ymm(k) = ymm(k-1)
 * - 1); any change ends it with regs_bad set. */
uint64_t regs_pat[4] = { 0x0123456789abcdefull, 0xfedcba9876543210ull, 0x1111222233334444ull,
			 0x5555666677778888ull };
uint64_t regs_ones[4] = { ~0ull, ~0ull, ~0ull, ~0ull };
uint64_t regs_stk;
volatile int regs_stop, regs_bad;

/* Waits for FIFO's byte, then sets stop_word (and wakes it). */
static void *watcher(void *arg)
{
	char c;
	int fd = open(fifo, O_RDONLY);

	if (fd < 0 || read(fd, &c, 1) != 1)
		die("watcher: cannot read the FIFO");
	if (!strcmp(arg, "accept")) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		int s = socket(AF_UNIX, SOCK_STREAM, 0);

		strcpy(a.sun_path, sock_path);
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
			die("watcher: connect");
	}
	regs_stop = 1;
	__atomic_store_n(&stop_word, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &stop_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	return NULL;
}

#define CHK(r, v) "movabs $" v ", %%rsp\n\tcmp %%rsp, %%" r "\n\tjne 2f\n\t"
static int regs_loop(void)
{
	__asm__ volatile(
		"push %%rbp\n\t"
		"vmovdqu regs_pat(%%rip), %%ymm0\n\t"
		"vpcmpeqd %%ymm1, %%ymm1, %%ymm1\n\t"
		"vpaddq %%ymm0, %%ymm1, %%ymm2\n\t"
		"vpaddq %%ymm2, %%ymm1, %%ymm3\n\t"
		"vpaddq %%ymm3, %%ymm1, %%ymm4\n\t"
		"vpaddq %%ymm4, %%ymm1, %%ymm5\n\t"
		"vpaddq %%ymm5, %%ymm1, %%ymm6\n\t"
		"vpaddq %%ymm6, %%ymm1, %%ymm7\n\t"
		"vpaddq %%ymm7, %%ymm1, %%ymm8\n\t"
		"vpaddq %%ymm8, %%ymm1, %%ymm9\n\t"
		"vpaddq %%ymm9, %%ymm1, %%ymm10\n\t"
		"vpaddq %%ymm10, %%ymm1, %%ymm11\n\t"
		"vpaddq %%ymm11, %%ymm1, %%ymm12\n\t"
		"vpaddq %%ymm12, %%ymm1, %%ymm13\n\t"
		"vpaddq %%ymm13, %%ymm1, %%ymm14\n\t"
		"vpaddq %%ymm14, %%ymm1, %%ymm15\n\t"
		"movabs $0x1010101010101010, %%rax\n\t"
		"movabs $0x2020202020202020, %%rbx\n\t"
		"movabs $0x3030303030303030, %%rcx\n\t"
		"movabs $0x4040404040404040, %%rdx\n\t"
		"movabs $0x5050505050505050, %%rsi\n\t"
		"movabs $0x6060606060606060, %%rdi\n\t"
		"movabs $0x7070707070707070, %%rbp\n\t"
		"movabs $0x8080808080808080, %%r8\n\t"
		"movabs $0x9090909090909090, %%r9\n\t"
		"movabs $0xa0a0a0a0a0a0a0a0, %%r10\n\t"
		"movabs $0xb0b0b0b0b0b0b0b0, %%r11\n\t"
		"movabs $0xc0c0c0c0c0c0c0c0, %%r12\n\t"
		"movabs $0xd0d0d0d0d0d0d0d0, %%r13\n\t"
		"movabs $0xe0e0e0e0e0e0e0e0, %%r14\n\t"
		"movabs $0xf0f0f0f0f0f0f0f0, %%r15\n\t"
		"1:\n\t"
		"cmpl $0, regs_stop(%%rip)\n\t"
		"jne 3f\n\t"
		/* %rsp is borrowed for the compares, kept in regs_stk. */
		"mov %%rsp, regs_stk(%%rip)\n\t"
		CHK("rax", "0x1010101010101010") CHK("rbx", "0x2020202020202020")
		CHK("rcx", "0x3030303030303030") CHK("rdx", "0x4040404040404040")
		CHK("rsi", "0x5050505050505050") CHK("rdi", "0x6060606060606060")
		CHK("rbp", "0x7070707070707070") CHK("r8", "0x8080808080808080")
		CHK("r9", "0x9090909090909090") CHK("r10", "0xa0a0a0a0a0a0a0a0")
		CHK("r11", "0xb0b0b0b0b0b0b0b0") CHK("r12", "0xc0c0c0c0c0c0c0c0")
		CHK("r13", "0xd0d0d0d0d0d0d0d0") CHK("r14", "0xe0e0e0e0e0e0e0e0")
		CHK("r15", "0xf0f0f0f0f0f0f0f0")
		"mov regs_stk(%%rip), %%rsp\n\t"
		/* ymm0 is the pattern, and ymm(k) - ymm(k-1) = -1 in each lane
		 * (ymm2 - ymm0 too); ymm1 is the scratch, %rax the mask. */
		"vpcmpeqq regs_pat(%%rip), %%ymm0, %%ymm1\n\t"
		"vpmovmskb %%ymm1, %%eax\n\t"
		"cmp $-1, %%eax\n\t"
		"jne 4f\n\t"
		"vpsubq %%ymm0, %%ymm2, %%ymm1\n\t"
		"vpcmpeqq regs_ones(%%rip), %%ymm1, %%ymm1\n\t"
		"vpmovmskb %%ymm1, %%eax\n\t"
		"cmp $-1, %%eax\n\t"
		"jne 4f\n\t"
		"vpsubq %%ymm2, %%ymm3, %%ymm1\n\t"
		"vpcmpeqq regs_ones(%%rip), %%ymm1, %%ymm1\n\t"
		"vpmovmskb %%ymm1, %%eax\n\t"
		"cmp $-1, %%eax\n\t"
		"jne 4f\n\t"
		"vpsubq %%ymm3, %%ymm4, %%ymm1\n\t"
		"vpcmpeqq regs_ones(%%rip), %%ymm1, %%ymm1\n\t"
		"vpmovmskb %%ymm1, %%eax\n\t"
		"cmp $-1, %%eax\n\t"
		"jne 4f\n\t"
		"vpsubq %%ymm4, %%ymm5, %%ymm1\n\t"
		"vpcmpeqq regs_ones(%%rip), %%ymm1, %%ymm1\n\t"
		"vpmovmskb %%ymm1, %%eax\n\t"
		"cmp $-1, %%eax\n\t"
		"jne 4f\n\t"
		"vpsubq %%ymm5, %%ymm6, %%ymm1\n\t"
		"vpcmpeqq regs_ones(%%rip), %%ymm1, %%ymm1\n\t"
		"vpmovmskb %%ymm1, %%eax\n\t"
		"cmp $-1, %%eax\n\t"
		"jne 4f\n\t"
		"vpsubq %%ymm6, %%ymm7, %%ymm1\n\t"
		"vpcmpeqq regs_ones(%%rip), %%ymm1, %%ymm1\n\t"
		"vpmovmskb %%ymm1, %%eax\n\t"
		"cmp $-1, %%eax\n\t"
		"jne 4f\n\t"
		"vpsubq %%ymm7, %%ymm8, %%ymm1\n\t"
		"vpcmpeqq regs_ones(%%rip), %%ymm1, %%ymm1\n\t"
		"vpmovmskb %%ymm1, %%eax\n\t"
		"cmp $-1, %%eax\n\t"
		"jne 4f\n\t"
		"vpsubq %%ymm8, %%ymm9, %%ymm1\n\t"
		"vpcmpeqq regs_ones(%%rip), %%ymm1, %%ymm1\n\t"
		"vpmovmskb %%ymm1, %%eax\n\t"
		"cmp $-1, %%eax\n\t"
		"jne 4f\n\t"
		"vpsubq %%ymm9, %%ymm10, %%ymm1\n\t"
		"vpcmpeqq regs_ones(%%rip), %%ymm1, %%ymm1\n\t"
		"vpmovmskb %%ymm1, %%eax\n\t"
		"cmp $-1, %%eax\n\t"
		"jne 4f\n\t"
		"vpsubq %%ymm10, %%ymm11, %%ymm1\n\t"
		"vpcmpeqq regs_ones(%%rip), %%ymm1, %%ymm1\n\t"
		"vpmovmskb %%ymm1, %%eax\n\t"
		"cmp $-1, %%eax\n\t"
		"jne 4f\n\t"
		"vpsubq %%ymm11, %%ymm12, %%ymm1\n\t"
		"vpcmpeqq regs_ones(%%rip), %%ymm1, %%ymm1\n\t"
		"vpmovmskb %%ymm1, %%eax\n\t"
		"cmp $-1, %%eax\n\t"
		"jne 4f\n\t"
		"vpsubq %%ymm12, %%ymm13, %%ymm1\n\t"
		"vpcmpeqq regs_ones(%%rip), %%ymm1, %%ymm1\n\t"
		"vpmovmskb %%ymm1, %%eax\n\t"
		"cmp $-1, %%eax\n\t"
		"jne 4f\n\t"
		"vpsubq %%ymm13, %%ymm14, %%ymm1\n\t"
		"vpcmpeqq regs_ones(%%rip), %%ymm1, %%ymm1\n\t"
		"vpmovmskb %%ymm1, %%eax\n\t"
		"cmp $-1, %%eax\n\t"
		"jne 4f\n\t"
		"vpsubq %%ymm14, %%ymm15, %%ymm1\n\t"
		"vpcmpeqq regs_ones(%%rip), %%ymm1, %%ymm1\n\t"
		"vpmovmskb %%ymm1, %%eax\n\t"
		"cmp $-1, %%eax\n\t"
		"jne 4f\n\t"
		"vpcmpeqd %%ymm1, %%ymm1, %%ymm1\n\t"
		"movabs $0x1010101010101010, %%rax\n\t"
		"jmp 1b\n\t"
		"2:\n\t"
		"mov regs_stk(%%rip), %%rsp\n\t"
		"4:\n\t"
		"movl $1, regs_bad(%%rip)\n\t"
		"3:\n\t"
		"pop %%rbp\n\t"
		"vzeroupper\n\t"
		:
		:
		: "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13",
		  "r14", "r15", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
		  "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory",
		  "cc");
	return regs_bad;
}

int main(int argc, char **argv)
{
	static char alt[65536];
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof(alt) }, ss2;
	sigset_t mask, mask2;
	const char *mode;
	pthread_t w, wt;
	int lfd = -1;

	if (argc != 3)
		return 2;
	mode = argv[1];
	fifo = argv[2];
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGALRM);
	sigaddset(&mask, SIGWINCH);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	pthread_sigmask(SIG_BLOCK, NULL, &mask);
	if (sigaltstack(&ss, NULL) < 0)
		die("sigaltstack");
	pthread_create(&w, NULL, worker, NULL);
	if (!strcmp(mode, "accept")) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };

		snprintf(sock_path, sizeof(sock_path), "%s.sock", fifo);
		unlink(sock_path);
		strcpy(a.sun_path, sock_path);
		lfd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 1) < 0)
			die("listen");
	}
	if (strcmp(mode, "read") && strcmp(mode, "epoll"))
		pthread_create(&wt, NULL, watcher, (void *)mode);
	printf("ready\n");
	fflush(stdout);
	errno = 4242;
	if (!strcmp(mode, "read")) {
		char c;
		int fd = open(fifo, O_RDONLY);
		ssize_t n;

		errno = 4242;
		n = read(fd, &c, 1);
		if (n != 1)
			die(n < 0 && errno == EINTR ? "read: EINTR" : "read failed");
	} else if (!strcmp(mode, "epoll")) {
		struct epoll_event ev = { .events = EPOLLIN }, out[4];
		int fd = open(fifo, O_RDONLY | O_NONBLOCK), ep = epoll_create1(0), n;

		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		errno = 4242;
		/* A FIFO opened before any writer reports HUP at once on some
		 * kernels: wait for data only. */
		do
			n = epoll_wait(ep, out, 4, -1);
		while (n == 1 && !(out[0].events & EPOLLIN));
		if (n != 1)
			die(n < 0 && errno == EINTR ? "epoll_wait: EINTR" : "epoll_wait failed");
		errno = 4242;
	} else if (!strcmp(mode, "sleep")) {
		while (!__atomic_load_n(&stop_word, __ATOMIC_ACQUIRE)) {
			struct timespec ts = { 0, 150000000 };
			long t0 = now_ns();

			errno = 4242;
			if (nanosleep(&ts, NULL) < 0)
				die(errno == EINTR ? "nanosleep: EINTR" : "nanosleep failed");
			if (now_ns() - t0 < 150000000)
				die("nanosleep came back early");
		}
	} else if (!strcmp(mode, "futex")) {
		errno = 4242;
		while (!__atomic_load_n(&stop_word, __ATOMIC_ACQUIRE)) {
			long r = syscall(SYS_futex, &stop_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);

			if (r < 0 && errno == EINTR)
				die("futex: EINTR");
			if (r == 0 && !__atomic_load_n(&stop_word, __ATOMIC_ACQUIRE))
				die("futex: woken before the word changed");
			errno = 4242;
		}
	} else if (!strcmp(mode, "accept")) {
		int c;

		errno = 4242;
		c = accept(lfd, NULL, NULL);
		if (c < 0)
			die(errno == EINTR ? "accept: EINTR" : "accept failed");
		errno = 4242;
	} else if (!strcmp(mode, "regs")) {
		/* The watcher's store ends the loop. */
		if (regs_loop())
			die("a register changed under the loop");
		errno = 4242;
	} else {
		return 2;
	}
	if (errno != 4242)
		die("errno changed");
	sigemptyset(&mask2);
	pthread_sigmask(SIG_BLOCK, NULL, &mask2);
	for (int sig = 1; sig < 65; sig++)
		if (sigismember(&mask, sig) != sigismember(&mask2, sig))
			die("the signal mask changed");
	if (sigaltstack(NULL, &ss2) < 0 || ss2.ss_sp != alt || ss2.ss_size != sizeof(alt) ||
	    ss2.ss_flags != 0)
		die("the alternate signal stack changed");
	worker_stop = 1;
	pthread_join(w, NULL);
	printf("ok calls %lu\n", worker_calls);
	return 0;
}
