/*
 * attach_plugin.c - objects loaded and unloaded after an attach
 * (e2e/attach_plugin): the e1000e scenario (seed 000) for a process the
 * runtime was attached to, which has no LD_AUDIT to hear of dlclose.
 *
 *   attach_plugin PLUGIN KEEP ROUNDS THREADS
 *
 * KEEP, a plugin loaded at start-up with dlopen and kept, says "kept N"
 * with N the calls made of it.  Then "ready"; on a line "go" on stdin it
 * runs ROUNDS rounds of: dlopen PLUGIN, call its functions from THREADS
 * workers and the main thread (through traced callers in the program),
 * dlclose, map a MAP_SHARED "device" where its text was, filled with a
 * copy of that text (so that a stale record would even find the bytes it
 * expects).  The devices stay mapped; at the end every one must hold the
 * bytes it was given.  Prints "calls caller N", "calls pf0 N" (the plugin
 * counts its own, summed over its loads), "devices N", then "OK", or
 * "FAILED ..." and exits 1.
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

#define NFUNCS 100
#define MAX_DEV 2048

typedef int (*fn_t)(int);

static pthread_rwlock_t plug_lock = PTHREAD_RWLOCK_INITIALIZER;
static fn_t funcs[NFUNCS];
static _Atomic int loaded, stop;
static _Atomic long n_caller;
static long n_pf0;	/* the plugin's own count of pf0, summed over its loads */

__attribute__((noinline)) int call_plugin(int i, int x)
{
	__asm__ volatile("");
	return funcs[i](x);
}

__attribute__((noinline)) int caller(int x)
{
	int s = 0;

	n_caller++;
	pthread_rwlock_rdlock(&plug_lock);
	if (loaded)
		for (int i = 0; i < NFUNCS; i += 7)
			s += call_plugin(i, x);
	pthread_rwlock_unlock(&plug_lock);
	return s;
}

static void *worker(void *arg)
{
	while (!stop)
		caller(3);
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

static struct {
	uint8_t *at, *copy;
	size_t len;
} dev[MAX_DEV];

int main(int argc, char **argv)
{
	int rounds, nthreads, ndev = 0, kept = 0;
	const char *plugin, *base;
	pthread_t th[16];
	char line[64];
	void *hk;

	if (argc != 5)
		return 2;
	plugin = argv[1];
	rounds = atoi(argv[3]);
	nthreads = atoi(argv[4]);
	if (rounds > MAX_DEV || nthreads > 16)
		return 2;
	hk = dlopen(argv[2], RTLD_NOW);
	if (!hk) {
		printf("FAILED %s\n", dlerror());
		return 1;
	}
	for (int i = 0; i < 10; i++)
		kept += ((fn_t)dlsym(hk, "kf"))(i) > 0;
	printf("kept %d\nready\n", kept);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin) || strcmp(line, "go\n"))
		return 2;
	for (int i = 0; i < nthreads; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	base = strrchr(plugin, '/') ? strrchr(plugin, '/') + 1 : plugin;
	for (int r = 0; r < rounds; r++) {
		struct range text = { .name = base };
		void *h;
		int fd;

		pthread_rwlock_wrlock(&plug_lock);
		h = dlopen(plugin, RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			printf("FAILED round %d: %s\n", r, dlerror());
			return 1;
		}
		for (int i = 0; i < NFUNCS; i++) {
			char nm[16];

			snprintf(nm, sizeof(nm), "pf%d", i);
			funcs[i] = (fn_t)dlsym(h, nm);
		}
		loaded = 1;
		pthread_rwlock_unlock(&plug_lock);
		dl_iterate_phdr(find_text, &text);
		for (int k = 0; k < 20; k++)
			caller(k);
		dev[ndev].len = text.hi - text.lo;
		dev[ndev].copy = malloc(dev[ndev].len);
		memcpy(dev[ndev].copy, (void *)text.lo, dev[ndev].len);
		pthread_rwlock_wrlock(&plug_lock);
		loaded = 0;
		n_pf0 += *(long *)dlsym(h, "n_pf0");
		dlclose(h);
		pthread_rwlock_unlock(&plug_lock);
		/* The "device", where the text was. */
		fd = memfd_create("device", 0);
		if (fd < 0 || ftruncate(fd, (off_t)dev[ndev].len) < 0)
			return 1;
		dev[ndev].at = mmap((void *)text.lo, dev[ndev].len, PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
		close(fd);
		if (dev[ndev].at == MAP_FAILED)
			continue;	/* something else took the place: no device */
		memcpy(dev[ndev].at, dev[ndev].copy, dev[ndev].len);
		ndev++;
	}
	stop = 1;
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	for (int d = 0; d < ndev; d++)
		if (memcmp(dev[d].at, dev[d].copy, dev[d].len)) {
			printf("FAILED: device %d at %p was written\n", d, (void *)dev[d].at);
			return 1;
		}
	printf("calls caller %ld\ncalls pf0 %ld\ndevices %d\nOK\n", (long)n_caller, n_pf0, ndev);
	return 0;
}
