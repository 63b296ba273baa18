/*
 * procmem_fd.c - a program that closes every descriptor it did not open,
 * opens a file of its own (which gets the lowest free number) and then
 * dlopens a traced library, under FNTRACE_WRITE=procmem (issue 8, item 10).
 *
 * usage: procmem_fd PLUGIN.so FILE
 *   The runtime's /proc/self/mem descriptor must not be used after the
 *   program closed it: FILE keeps its exact contents, and the plugin's
 *   function is traced.  A callback counts the plugin's calls.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fntrace.h"

#define NOINL __attribute__((noinline))
#define CHECK(cond) do { if (!(cond)) { printf("FAILED: %s (line %d)\n", #cond, __LINE__); exit(1); } } while (0)

NOINL int t_main(int x) { __asm__ volatile(""); return x + 1; }

static _Atomic long calls;

static int on_entry(const struct fnt_call *c, void *data)
{
	calls++;
	return 0;
}

int main(int argc, char **argv)
{
	static const char body[] = "the program's own data\n";
	char buf[256];
	struct stat st;
	int (*plug)(int);
	void *h;
	int fd, ret;

	CHECK(argc == 3);
	CHECK(fnt_set_builtin_tracer(on_entry, NULL, NULL) == 0);
	/* An update of the main program: the runtime writes through
	 * /proc/self/mem, and may have kept its descriptor. */
	CHECK(fnt_enable("t_*") == 0);
	CHECK(t_main(1) == 2 && calls == 1);
	/* Close everything but stdio, as daemons do. */
	CHECK(syscall(SYS_close_range, 3, ~0u, 0) == 0);
	fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, body, sizeof(body) - 1) == (ssize_t)(sizeof(body) - 1));
	printf("the program's file is descriptor %d\n", fd);
	/* Loading a traced library patches it (history "t_*"). */
	h = dlopen(argv[1], RTLD_NOW);
	CHECK(h != NULL);
	CHECK(fstat(fd, &st) == 0);
	printf("file size %lld\n", (long long)st.st_size);
	CHECK(st.st_size == (off_t)(sizeof(body) - 1));
	CHECK(pread(fd, buf, sizeof(buf), 0) == (ssize_t)(sizeof(body) - 1));
	CHECK(!memcmp(buf, body, sizeof(body) - 1));
	plug = (int (*)(int))dlsym(h, "t_plug");
	CHECK(plug != NULL);
	calls = 0;
	CHECK(plug(41) == 42);
	printf("plugin calls traced: %ld\n", (long)calls);
	CHECK(calls == 1);
	/* And once more through an update with the file open. */
	CHECK(fnt_disable(NULL) == 0);
	CHECK(fnt_enable("t_*") == 0);
	ret = plug(1);
	CHECK(ret == 2 && calls == 2);
	CHECK(fstat(fd, &st) == 0);
	printf("file size %lld\n", (long long)st.st_size);
	CHECK(st.st_size == (off_t)(sizeof(body) - 1));
	CHECK(pread(fd, buf, sizeof(buf), 0) == (ssize_t)(sizeof(body) - 1));
	CHECK(!memcmp(buf, body, sizeof(body) - 1));
	printf("OK\n");
	return 0;
}
