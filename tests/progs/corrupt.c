/*
 * corrupt.c - a site's bytes changed behind fntrace's back (seed 001).
 *
 * usage: corrupt before|enabled
 *   before:  victim's NOP is altered (still a valid NOP), then fnt_enable:
 *            the report names it, patching stops for good.
 *   enabled: every site is a call; victim's call is replaced by a NOP,
 *            then fnt_disable: the report comes from the disable phase, and
 *            the sites left as calls reach a trampoline that does nothing.
 *   unmapped PLUGIN: a dlopen'ed plugin's text is unmapped behind our back
 *            (not by dlclose): enabling reports it (EFAULT) instead of
 *            reading a site that is gone.
 * Either way every later API call fails with -ENODEV, fnt_status carries
 * the report, and the program computes its result correctly.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fntrace.h"

#define NOINL __attribute__((noinline))

NOINL int victim(int x) { __asm__ volatile(""); return x * 5; }
NOINL int other(int x) { __asm__ volatile(""); return victim(x) + 2; }

static long hits;

static int on_entry(const struct fnt_call *c, void *data)
{
	hits++;
	return 0;
}

static uint8_t *site_of(void *fn)
{
	uint8_t *p = fn;

	return memcmp(p, "\xf3\x0f\x1e\xfa", 4) ? p : p + 4;
}

static void poke(uint8_t *p, const void *b, size_t n)
{
	uintptr_t pg = (uintptr_t)p & ~4095ul;

	mprotect((void *)pg, 8192, PROT_READ | PROT_WRITE | PROT_EXEC);
	memcpy(p, b, n);
	mprotect((void *)pg, 8192, PROT_READ | PROT_EXEC);
}

static uintptr_t plug_lo, plug_hi;

static int find_plugin(struct dl_phdr_info *info, size_t size, void *arg)
{
	if (!strstr(info->dlpi_name, (const char *)arg))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_LOAD && (info->dlpi_phdr[i].p_flags & PF_X)) {
			plug_lo = (info->dlpi_addr + info->dlpi_phdr[i].p_vaddr) & ~4095ul;
			plug_hi = plug_lo + 4096;
		}
	return 1;
}

#define CHECK(cond) do { if (!(cond)) { printf("FAILED: %s (line %d)\n", #cond, __LINE__); return 1; } } while (0)

int main(int argc, char **argv)
{
	int enabled_mode = argc > 1 && !strcmp(argv[1], "enabled");
	struct fnt_ops ops = { .entry = on_entry };
	struct fnt_status st;
	uint8_t *s = site_of((void *)victim);
	long sum = 0;
	int ret;

	CHECK(fnt_set_builtin_tracer(on_entry, NULL, NULL) == 0);
	if (argc > 2 && !strcmp(argv[1], "unmapped")) {
		void *h = dlopen(argv[2], RTLD_NOW);

		CHECK(h != NULL);
		dl_iterate_phdr(find_plugin, "plugin");
		CHECK(plug_lo != 0);
		munmap((void *)plug_lo, plug_hi - plug_lo);
		ret = fnt_enable(NULL);
		printf("first call: %s\n", fnt_strerror(ret));
		CHECK(ret == -EFAULT);
		CHECK(fnt_status(&st) == 0);
		printf("status: disabled=%d report=%s\n", st.disabled, st.report);
		CHECK(st.disabled == 1 && strstr(st.report, "not mapped") != NULL);
		CHECK(fnt_enable(NULL) == -ENODEV);
		for (int i = 0; i < 1000; i++)
			sum += other(i);
		CHECK(sum == 1000L * 999 / 2 * 5 + 2000);
		printf("OK\n");
		fflush(stdout);
		/* The plugin's destructors went with its text: skip them. */
		_exit(0);
	}
	if (enabled_mode) {
		static const uint8_t nop5[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };

		CHECK(fnt_enable(NULL) == 0);
		CHECK(s[0] == 0xe8);
		poke(s, nop5, 5);
		ret = fnt_disable(NULL);
	} else {
		uint8_t b = (uint8_t)(s[4] ^ 1);	/* nopl 0x9(...): still a NOP */

		poke(s + 4, &b, 1);
		ret = fnt_enable(NULL);
	}
	printf("first call: %s\n", fnt_strerror(ret));
	CHECK(ret == -EINVAL);
	CHECK(fnt_status(&st) == 0);
	printf("status: disabled=%d report=%s\n", st.disabled, st.report);
	CHECK(st.disabled == 1);
	CHECK(strstr(st.report, "victim") != NULL);
	CHECK(strstr(st.report, enabled_mode ? "before disable" : "before enable") != NULL);
	CHECK(fnt_enable(NULL) == -ENODEV);
	CHECK(fnt_disable(NULL) == -ENODEV);
	CHECK(fnt_register_ops(&ops) == -ENODEV);
	CHECK(fnt_set_builtin_tracer(on_entry, NULL, NULL) == -ENODEV);
	/* The trampolines are no-ops now: no callback, correct results. */
	hits = 0;
	for (int i = 0; i < 1000; i++)
		sum += other(i);
	CHECK(sum == 1000L * 999 / 2 * 5 + 2000);
	CHECK(hits == 0);
	printf("OK\n");
	return 0;
}
