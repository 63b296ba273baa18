/*
 * e1000e.c - the e1000e scenario (seed 000), N rounds:
 *
 *   1. dlopen a plugin with ~100 traced functions;
 *   2. enable tracing, call them, then dlclose (every other round while
 *      tracing is still enabled, with worker threads inside the plugin's
 *      callers in the main program);
 *   3. map a MAP_SHARED memfd "device" where the plugin's text was,
 *      filled with a copy of the plugin's own code (so that a stale record
 *      would even find the bytes it expects), and toggle tracing again.
 *
 * The device's bytes must never change.
 *
 * usage: e1000e PLUGIN ROUNDS THREADS [exits]
 *   exits: the tracer has an exit callback too, so that a plugin built
 *   with exit sites has them enabled when it goes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fntrace.h"

#define NFUNCS 100

typedef int (*fn_t)(int);

static pthread_rwlock_t plug_lock = PTHREAD_RWLOCK_INITIALIZER;
static fn_t funcs[NFUNCS];
static _Atomic int loaded, stop;
static _Atomic long plugin_hits, worker_calls;

static int on_entry(const struct fnt_call *c, void *data)
{
	plugin_hits++;
	return 0;
}

/* Traced callers in the main program; workers sit in them. */
__attribute__((noinline)) int call_plugin(int i, int x)
{
	__asm__ volatile("");
	return funcs[i](x);
}

__attribute__((noinline)) int caller(int x)
{
	int s = 0;

	pthread_rwlock_rdlock(&plug_lock);
	if (loaded)
		for (int i = 0; i < NFUNCS; i += 7)
			s += call_plugin(i, x);
	pthread_rwlock_unlock(&plug_lock);
	return s;
}

static void *worker(void *arg)
{
	while (!stop) {
		caller(3);
		worker_calls++;
	}
	return NULL;
}

struct range {
	const char *name;
	uintptr_t lo, hi;
};

static int find_text(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct range *r = arg;

	if (!strstr(info->dlpi_name, r->name))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			r->lo = (info->dlpi_addr + ph->p_vaddr) & ~4095ul;
			r->hi = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + 4095) & ~4095ul;
			return 1;
		}
	}
	return 0;
}

static int fail(const char *what, int round)
{
	struct fnt_status st;

	fnt_status(&st);
	printf("FAILED at round %d: %s (report: %s)\n", round, what, st.report);
	return 1;
}

static _Atomic long exits;

static void on_exit_cb(const struct fnt_call *c, void *data)
{
	exits++;
}

int main(int argc, char **argv)
{
	const char *plugin = argv[1];
	int rounds = atoi(argv[2]), nthreads = atoi(argv[3]);
	pthread_t th[16];
	uint8_t *copy = NULL;
	size_t copy_len = 0;
	long device_checks = 0, device_misses = 0;
	struct fnt_status st0, st;
	int expect = -1;

	fnt_set_builtin_tracer(on_entry, argc > 4 && !strcmp(argv[4], "exits") ? on_exit_cb : NULL,
			       NULL);
	fnt_status(&st0);
	for (int i = 0; i < nthreads; i++)
		pthread_create(&th[i], NULL, worker, NULL);

	for (int r = 0; r < rounds; r++) {
		struct range text = { .name = "e1000e_plugin" };
		int traced_close = r & 1, sum = 0, ret;
		void *h;

		pthread_rwlock_wrlock(&plug_lock);
		h = dlopen(plugin, RTLD_NOW | RTLD_LOCAL);
		if (!h)
			return fail(dlerror(), r);
		for (int i = 0; i < NFUNCS; i++) {
			char nm[16];

			snprintf(nm, sizeof(nm), "pf%d", i);
			funcs[i] = (fn_t)dlsym(h, nm);
			if (!funcs[i])
				return fail("dlsym", r);
		}
		loaded = 1;
		pthread_rwlock_unlock(&plug_lock);
		dl_iterate_phdr(find_text, &text);
		if (!text.lo)
			return fail("plugin text not found", r);
		if (!copy) {
			/* The plugin's pristine code: the device will hold it. */
			copy_len = text.hi - text.lo;
			copy = malloc(copy_len);
			memcpy(copy, (void *)text.lo, copy_len);
		}

		ret = fnt_enable("pf*");
		if (ret)
			return fail(fnt_strerror(ret), r);
		for (int i = 0; i < NFUNCS; i++)
			sum += call_plugin(i, i);
		if (expect < 0)
			expect = sum;
		if (sum != expect)
			return fail("wrong result from the plugin", r);
		fnt_status(&st);
		if (st.enabled < NFUNCS)
			return fail("plugin sites not enabled", r);
		if (!traced_close && (ret = fnt_disable("pf*")))
			return fail(fnt_strerror(ret), r);

		pthread_rwlock_wrlock(&plug_lock);
		loaded = 0;
		if (dlclose(h))
			return fail(dlerror(), r);
		pthread_rwlock_unlock(&plug_lock);
		fnt_status(&st);
		if (st.objects != st0.objects || st.sites != st0.sites)
			return fail("the plugin's records outlived dlclose", r);

		/* The device, where the plugin's code was. */
		if (copy_len == text.hi - text.lo) {
			int fd = memfd_create("device", 0);
			uint8_t *dev;

			if (fd < 0 || ftruncate(fd, (off_t)copy_len))
				return fail("memfd", r);
			dev = mmap((void *)text.lo, copy_len, PROT_READ | PROT_WRITE | PROT_EXEC,
				   MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
			if (dev == (void *)text.lo) {
				memcpy(dev, copy, copy_len);
				if ((ret = fnt_enable(NULL)) || (ret = fnt_disable(NULL)) ||
				    (ret = fnt_enable("pf*")) || (ret = fnt_disable("pf*")))
					return fail(fnt_strerror(ret), r);
				if (memcmp(dev, copy, copy_len))
					return fail("THE DEVICE WAS WRITTEN", r);
				device_checks++;
				munmap(dev, copy_len);
			} else {
				if (dev != MAP_FAILED)
					munmap(dev, copy_len);
				device_misses++;
			}
			close(fd);
		}
	}
	stop = 1;
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	fnt_status(&st);
	printf("rounds=%d device_checks=%ld device_misses=%ld plugin_hits=%ld worker_calls=%ld "
	       "exits=%ld disabled=%d\n", rounds, device_checks, device_misses, (long)plugin_hits,
	       (long)worker_calls, (long)exits, st.disabled);
	if (st.disabled || device_checks < rounds / 2 || plugin_hits < (long)rounds * NFUNCS)
		return fail("summary", rounds);
	if (argc > 4 && (exits == 0 || exits > plugin_hits + worker_calls * 4))
		return fail("exits", rounds);
	printf("OK\n");
	return 0;
}
