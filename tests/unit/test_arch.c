/*
 * test_arch.c - the x86-64 arch layer over code buffers this test owns.
 *
 * The runtime decides from a site's bytes alone whether it may patch it,
 * so classification must accept exactly the documented entry forms and
 * refuse everything else with a reason; conversion, the old/new bytes of
 * a change and the verified writes must never write over bytes other than
 * the expected ones.  Cases that trip the kill switch run in a forked
 * child so that fnt__killed does not leak into the next case.  Last, the
 * live int3 protocol runs for real on a site another thread executes in a
 * loop, so the SIGTRAP handler's lookup and emulation are exercised.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "arch/x86_64/x86.h"
#include "core/core.h"

static const uint8_t NOP5[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };
static const uint8_t NOP5C[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x08 };
static const uint8_t NOP1X5[5] = { 0x90, 0x90, 0x90, 0x90, 0x90 };
static const uint8_t ENDBR[4] = { 0xf3, 0x0f, 0x1e, 0xfa };

static uint8_t *buf;		/* 64 KiB RWX, near this program's text */
#define BUFSZ 65536

static struct fnt_object obj;
static struct fnt_site sites[1];
static struct fnt_elf elf;

/* A fake object whose "link-time" addresses are run-time ones (bias 0). */
static void reset_obj(uintptr_t site)
{
	memset(&obj, 0, sizeof(obj));
	memset(sites, 0, sizeof(sites));
	memset(&elf, 0, sizeof(elf));
	obj.path = "/fake/object";
	obj.strs = "site0";
	obj.sites = sites;
	obj.nsites = 1;
	obj.xsegs[0] = (struct fnt_xseg){ (uintptr_t)buf, (uintptr_t)buf + BUFSZ,
					  PROT_READ | PROT_WRITE | PROT_EXEC };
	obj.nxsegs = 1;
	sites[0].addr = site;
}

/* Classifies bytes b placed at buf+off; returns classify's result. */
static int classify_at(size_t off, const void *b, size_t n, char *why)
{
	memset(buf + off, 0xcc, 16);
	memcpy(buf + off, b, n);
	reset_obj((uintptr_t)buf + off);
	why[0] = 0;
	return fnt__x86_classify(&obj, &elf, &sites[0], why, 160);
}

static void test_encode(void)
{
	uint8_t out[5];

	fnt__x86_encode_call(0x1000, 0x2000, out);
	CHECK_MEM(out, "\xe8\xfb\x0f\x00\x00", 5);
	/* Backwards: rel32 = 0x1000 - 0x2005 = -0x1005. */
	fnt__x86_encode_call(0x2000, 0x1000, out);
	CHECK_MEM(out, "\xe8\xfb\xef\xff\xff", 5);
	/* A call to the next instruction is rel32 0. */
	fnt__x86_encode_call(0x7f0000001000, 0x7f0000001005, out);
	CHECK_MEM(out, "\xe8\x00\x00\x00\x00", 5);
}

static void test_classify(void)
{
	char why[160];
	uint8_t b[16];
	int32_t rel;

	/* The three NOP forms, with and without endbr64. */
	for (int cet = 0; cet < 2; cet++) {
		const uint8_t *forms[3] = { NOP5, NOP5C, NOP1X5 };
		const int want[3] = { X86_NOP5, X86_NOP5_CLANG, X86_NOP1X5 };

		for (int i = 0; i < 3; i++) {
			size_t k = 0;

			if (cet) {
				memcpy(b, ENDBR, 4);
				k = 4;
			}
			memcpy(b + k, forms[i], 5);
			CHECK_EQ(classify_at(0x100, b, k + 5, why), 0);
			CHECK_EQ(sites[0].form, want[i]);
			CHECK_EQ(sites[0].len, 5);
			/* The site follows endbr64. */
			CHECK_EQ(sites[0].addr, (uintptr_t)buf + 0x100 + k);
		}
	}
	CHECK_EQ(fnt__x86_needs_convert(&(struct fnt_site){ .form = X86_NOP5 }), 0);
	CHECK_EQ(fnt__x86_needs_convert(&(struct fnt_site){ .form = X86_NOP5_CLANG }), 0);
	CHECK_EQ(fnt__x86_needs_convert(&(struct fnt_site){ .form = X86_NOP1X5 }), 1);
	CHECK_EQ(fnt__x86_needs_convert(&(struct fnt_site){ .form = X86_CALL_FENTRY }), 1);
	CHECK_EQ(fnt__x86_needs_convert(&(struct fnt_site){ .form = X86_CALL_FENTRY_GOT }), 1);

	/* e8 rel32 to the object's own __fentry__ (a static executable). */
	b[0] = 0xe8;
	rel = 0x1000 - (0x200 + 5);
	memcpy(b + 1, &rel, 4);
	memset(&elf, 0, sizeof(elf));
	{
		int r;

		memcpy(buf + 0x200, b, 5);
		reset_obj((uintptr_t)buf + 0x200);
		elf.fentry_sym = (uintptr_t)buf + 0x1000;
		r = fnt__x86_classify(&obj, &elf, &sites[0], why, sizeof(why));
		CHECK_EQ(r, 0);
		CHECK_EQ(sites[0].form, X86_CALL_FENTRY);
		CHECK_EQ(sites[0].len, 5);

		/* Through a PLT entry (.plt or .plt.sec). */
		reset_obj((uintptr_t)buf + 0x200);
		elf.plt_lo = (uintptr_t)buf + 0xff0;
		elf.plt_hi = (uintptr_t)buf + 0x1010;
		CHECK_EQ(fnt__x86_classify(&obj, &elf, &sites[0], why, sizeof(why)), 0);
		CHECK_EQ(sites[0].form, X86_CALL_FENTRY);
		reset_obj((uintptr_t)buf + 0x200);
		elf.plt2_lo = (uintptr_t)buf + 0x1000;
		elf.plt2_hi = (uintptr_t)buf + 0x1001;
		CHECK_EQ(fnt__x86_classify(&obj, &elf, &sites[0], why, sizeof(why)), 0);

		/* A call anywhere else is some other function: refused. */
		reset_obj((uintptr_t)buf + 0x200);
		CHECK_EQ(fnt__x86_classify(&obj, &elf, &sites[0], why, sizeof(why)), -EINVAL);
		CHECK_HAS(why, "neither __fentry__ nor a PLT entry");

		/* The bias is applied: link-time addresses are run-time - bias. */
		reset_obj((uintptr_t)buf + 0x200);
		obj.bias = 0x10000;
		elf.fentry_sym = (uintptr_t)buf + 0x1000 - 0x10000;
		CHECK_EQ(fnt__x86_classify(&obj, &elf, &sites[0], why, sizeof(why)), 0);
		CHECK_EQ(sites[0].form, X86_CALL_FENTRY);
	}

	/* ff 15 disp32: call through __fentry__'s GOT slot, 6 bytes. */
	{
		uint8_t g[10];
		int32_t disp = 0x2000 - (0x300 + 6);

		memcpy(g, ENDBR, 4);
		g[4] = 0xff;
		g[5] = 0x15;
		memcpy(g + 6, &disp, 4);
		/* No GOT slot known: refused, naming the slot. */
		CHECK_EQ(classify_at(0x2fc, g, 10, why), -EINVAL);
		CHECK_HAS(why, "not __fentry__'s GOT slot");
		memcpy(buf + 0x2fc, g, 10);
		reset_obj((uintptr_t)buf + 0x2fc);
		elf.fentry_got = (uintptr_t)buf + 0x2000;
		CHECK_EQ(fnt__x86_classify(&obj, &elf, &sites[0], why, sizeof(why)), 0);
		CHECK_EQ(sites[0].form, X86_CALL_FENTRY_GOT);
		CHECK_EQ(sites[0].len, 6);
		CHECK_EQ(sites[0].addr, (uintptr_t)buf + 0x300);
		/* Another slot: refused. */
		reset_obj((uintptr_t)buf + 0x2fc);
		elf.fentry_got = (uintptr_t)buf + 0x2008;
		CHECK_EQ(fnt__x86_classify(&obj, &elf, &sites[0], why, sizeof(why)), -EINVAL);
	}

	/* Garbage: an ordinary prologue, refused with its bytes. */
	CHECK_EQ(classify_at(0x400, "\x55\x48\x89\xe5\x8d", 5, why), -EINVAL);
	CHECK_STR(why, "unknown entry bytes 55 48 89 e5 8d");
	/* After endbr64, the bytes reported are the ones after it. */
	CHECK_EQ(classify_at(0x400, "\xf3\x0f\x1e\xfa\x55\x48\x89\xe5\x8d", 9, why), -EINVAL);
	CHECK_STR(why, "unknown entry bytes 55 48 89 e5 8d");
	/* Near misses of each NOP form. */
	CHECK_EQ(classify_at(0x400, "\x0f\x1f\x44\x00\x01", 5, why), -EINVAL);
	CHECK_EQ(classify_at(0x400, "\x0f\x1f\x40\x00\x00", 5, why), -EINVAL);
	CHECK_EQ(classify_at(0x400, "\x90\x90\x90\x90\xc3", 5, why), -EINVAL);
	CHECK_EQ(classify_at(0x400, "\x66\x0f\x1f\x44\x00", 5, why), -EINVAL);
	/* Two endbr64s: only one is skipped. */
	CHECK_EQ(classify_at(0x400, "\xf3\x0f\x1e\xfa\xf3\x0f\x1e\xfa\x0f\x1f\x44\x00\x00", 13,
			     why), -EINVAL);
	/* An int3 left in a site is not a form either. */
	CHECK_EQ(classify_at(0x400, "\xcc\x1f\x44\x00\x00", 5, why), -EINVAL);
	CHECK_HAS(why, "unknown entry bytes cc 1f 44 00 00");
}

/* Classifies then converts bytes at buf+off; returns convert's result. */
static int convert_at(size_t off, const void *b, size_t n, int got)
{
	char why[160];
	int r;

	memset(buf + off, 0xcc, 16);
	memcpy(buf + off, b, n);
	reset_obj((uintptr_t)buf + off);
	elf.fentry_got = got;
	elf.fentry_sym = (uintptr_t)buf + 0x1000;
	r = fnt__x86_classify(&obj, &elf, &sites[0], why, sizeof(why));
	if (r) {
		fprintf(stderr, "classify: %s\n", why);
		return r;
	}
	return fnt__x86_convert(&obj, &sites[0]);
}

static void test_convert(void)
{
	uint8_t b[16];
	int32_t rel = 0x1000 - (0x500 + 5), disp = 0x2000 - (0x600 + 6);

	CHECK_EQ(convert_at(0x500, NOP1X5, 5, 0), 0);
	CHECK_MEM(buf + 0x500, NOP5, 5);
	CHECK_EQ(buf[0x505], 0xcc);		/* nothing past the site */
	CHECK_EQ(sites[0].form, X86_NOP5);

	b[0] = 0xe8;
	memcpy(b + 1, &rel, 4);
	CHECK_EQ(convert_at(0x500, b, 5, 0), 0);
	CHECK_MEM(buf + 0x500, NOP5, 5);
	CHECK_EQ(buf[0x505], 0xcc);

	/* 6 bytes: NOP5 then a 1-byte NOP the enabled call returns onto. */
	b[0] = 0xff;
	b[1] = 0x15;
	memcpy(b + 2, &disp, 4);
	{
		char why[160];

		memcpy(buf + 0x600, b, 6);
		buf[0x606] = 0xcc;
		reset_obj((uintptr_t)buf + 0x600);
		elf.fentry_got = (uintptr_t)buf + 0x2000;
		CHECK_EQ(fnt__x86_classify(&obj, &elf, &sites[0], why, sizeof(why)), 0);
		CHECK_EQ(fnt__x86_convert(&obj, &sites[0]), 0);
		CHECK_MEM(buf + 0x600, "\x0f\x1f\x44\x00\x00\x90\xcc", 7);
		CHECK_EQ(sites[0].len, 6);
	}
}

/* Runs fn in a child (it trips the kill switch); returns the child's exit
 * status, 100 + the number of failed checks inside it. */
static int in_child(void (*fn)(void))
{
	int st;
	pid_t pid = fork();

	if (!pid) {
		check_failures = 0;
		fn();
		_exit(100 + check_failures);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Convert re-verifies: the bytes changed between classify and convert. */
static void child_convert_changed(void)
{
	char why[160];

	memcpy(buf + 0x700, NOP1X5, 5);
	reset_obj((uintptr_t)buf + 0x700);
	CHECK_EQ(fnt__x86_classify(&obj, &elf, &sites[0], why, sizeof(why)), 0);
	buf[0x702] = 0x55;	/* someone else wrote here */
	CHECK_EQ(fnt__x86_convert(&obj, &sites[0]), -EINVAL);
	CHECK_EQ(buf[0x700], 0x90);	/* nothing written */
	CHECK_EQ(buf[0x702], 0x55);
	CHECK_EQ(fnt__killed, 1);
	CHECK_HAS(fnt__report, "site bug");
	CHECK_HAS(fnt__report, "site0");
	CHECK_HAS(fnt__report, "/fake/object");
	CHECK_HAS(fnt__report, "expected [90 90 90 90 90], found [90 90 55 90 90]");
	CHECK_HAS(fnt__report, "converting the entry form");
}

/* A change for the fake object at buf+off, its trampoline mapped. */
static struct fnt_change change_at(size_t off, const uint8_t *bytes, int enable)
{
	struct fnt_change c;

	memcpy(buf + off, bytes, 5);
	reset_obj((uintptr_t)buf + off);
	sites[0].form = X86_NOP5;
	sites[0].len = 5;
	c = (struct fnt_change){ .addr = (uintptr_t)buf + off, .enable = (uint8_t)enable,
				 .obj = &obj, .site = &sites[0] };
	return c;
}

static void test_prepare(void)
{
	uint8_t call[5];
	struct fnt_change c = change_at(0x800, NOP5, 1);

	CHECK_EQ(fnt__x86_object_init(&obj), 0);
	CHECK(obj.arch != NULL);
	fnt__x86_prepare(&c);
	CHECK_EQ(c.len, 5);
	CHECK_EQ(c.target, fnt__x86_near_entry(&obj));
	/* The near page is within rel32 reach of the site. */
	CHECK(c.target - c.addr < 0x7fff0000ul || c.addr - c.target < 0x7fff0000ul);
	fnt__x86_encode_call(c.addr, c.target, call);
	CHECK_MEM(c.old, NOP5, 5);
	CHECK_MEM(c.new, call, 5);
	c.enable = 0;
	fnt__x86_prepare(&c);
	CHECK_MEM(c.old, call, 5);
	CHECK_MEM(c.new, NOP5, 5);
	/* clang's NOP is restored as clang's NOP (the file's bytes). */
	sites[0].form = X86_NOP5_CLANG;
	c.enable = 1;
	fnt__x86_prepare(&c);
	CHECK_MEM(c.old, NOP5C, 5);
	c.enable = 0;
	fnt__x86_prepare(&c);
	CHECK_MEM(c.new, NOP5C, 5);

	/* Quiescent apply: verified, then written. */
	c.enable = 1;
	sites[0].form = X86_NOP5;
	fnt__x86_prepare(&c);
	CHECK_EQ(fnt__x86_apply_quiescent(&c, 1), 0);
	CHECK_MEM(buf + 0x800, call, 5);
	c.enable = 0;
	fnt__x86_prepare(&c);
	CHECK_EQ(fnt__x86_apply_quiescent(&c, 1), 0);
	CHECK_MEM(buf + 0x800, NOP5, 5);
	fnt__x86_object_fini(&obj);
	CHECK(obj.arch == NULL);
}

/* Quiescent apply over unexpected bytes refuses, writes nothing, kills. */
static void child_apply_unexpected(void)
{
	static const uint8_t junk[5] = { 0x55, 0x48, 0x89, 0xe5, 0x90 };
	struct fnt_change c[2];

	c[0] = change_at(0x900, NOP5, 1);
	CHECK_EQ(fnt__x86_object_init(&obj), 0);
	fnt__x86_prepare(&c[0]);
	memcpy(buf + 0x900, junk, 5);
	CHECK_EQ(fnt__x86_apply_quiescent(c, 1), -EINVAL);
	CHECK_MEM(buf + 0x900, junk, 5);
	CHECK_EQ(fnt__killed, 1);
	CHECK_HAS(fnt__report, "expected [0f 1f 44 00 00], found [55 48 89 e5 90]");
	CHECK_HAS(fnt__report, "verifying before enable");
}

/* The second change of a batch is wrong: the first was written (it was
 * right), the second not, and the report names the second. */
static void child_apply_second_bad(void)
{
	struct fnt_change c[2];
	uint8_t call[5];

	c[0] = change_at(0xa00, NOP5, 1);
	CHECK_EQ(fnt__x86_object_init(&obj), 0);
	fnt__x86_prepare(&c[0]);
	memcpy(call, c[0].new, 5);
	c[1] = c[0];
	c[1].addr = (uintptr_t)buf + 0xa10;
	fnt__x86_prepare(&c[1]);
	memcpy(buf + 0xa10, "\x0f\x1f\x44\x00\x08", 5);	/* clang's, not ours */
	CHECK_EQ(fnt__x86_apply_quiescent(c, 2), -EINVAL);
	CHECK_MEM(buf + 0xa00, call, 5);
	CHECK_MEM(buf + 0xa10, NOP5C, 5);
	CHECK_HAS(fnt__report, "found [0f 1f 44 00 08]");
}

/* The live protocol verifies every site before its first int3: a wrong
 * second site means no byte of the batch is written at all. */
static void child_live_unexpected(void)
{
	struct fnt_change c[2];

	CHECK_EQ(fnt__arch.init(), 0);
	c[0] = change_at(0xf000, NOP5, 1);
	obj.arch = buf + 0xd000;
	fnt__x86_prepare(&c[0]);
	c[1] = c[0];
	c[1].addr = (uintptr_t)buf + 0xf010;
	fnt__x86_prepare(&c[1]);
	memcpy(buf + 0xf010, "\x90\x90\x90\x90\x90", 5);
	CHECK_EQ(fnt__x86_apply_live(c, 2), -EINVAL);
	CHECK_MEM(buf + 0xf000, NOP5, 5);
	CHECK_MEM(buf + 0xf010, NOP1X5, 5);
	CHECK_EQ(fnt__killed, 1);
	CHECK_HAS(fnt__report, "found [90 90 90 90 90]");
}

/*
 * The handler's decisions with no batch in flight, on a fake context: a
 * SIGTRAP not from an int3 (kill, raise) is never ours; an int3 that is
 * still there with no batch is not ours; a trap whose int3 is already
 * gone (a late handler) resumes AT the site, which holds a whole
 * instruction again.
 */
static void test_trap_direct(void)
{
	siginfo_t si;
	ucontext_t uc;
	uint64_t t0 = fnt__stats.traps;

	memset(&si, 0, sizeof(si));
	memset(&uc, 0, sizeof(uc));
	memcpy(buf + 0xe000, NOP5, 5);
	buf[0xe010] = 0xcc;

	si.si_code = SI_TKILL;
	uc.uc_mcontext.gregs[REG_RIP] = (greg_t)(buf + 0xe001);
	CHECK_EQ(fnt__x86_trap(&si, &uc), 0);
	CHECK_EQ(uc.uc_mcontext.gregs[REG_RIP], (greg_t)(buf + 0xe001));

	si.si_code = SI_KERNEL;
	CHECK_EQ(fnt__x86_trap(&si, &uc), 1);
	CHECK_EQ(uc.uc_mcontext.gregs[REG_RIP], (greg_t)(buf + 0xe000));
	CHECK_EQ(fnt__stats.traps - t0, 1);

	uc.uc_mcontext.gregs[REG_RIP] = (greg_t)(buf + 0xe011);
	CHECK_EQ(fnt__x86_trap(&si, &uc), 0);
	CHECK_EQ(uc.uc_mcontext.gregs[REG_RIP], (greg_t)(buf + 0xe011));
	CHECK_EQ(fnt__stats.traps - t0, 1);
}

/* Classifies an exit site: NOP5 then the bytes b at buf+off. */
static int classify_exit_at(size_t off, const void *b, size_t n, uintptr_t *to, char *why)
{
	memset(buf + off, 0xcc, 24);
	memcpy(buf + off, NOP5, 5);
	memcpy(buf + off + 5, b, n);
	reset_obj((uintptr_t)buf + off);
	why[0] = 0;
	return fnt__x86_classify_exit(&obj, &sites[0], to, why, 160);
}

/*
 * Exit sites: a NOP5 right before what leaves the function.  A ret is an
 * exit; a jmp (direct, with its target, or indirect) a tail exit; any
 * other next instruction, or other NOP bytes, is refused with the reason.
 * Enabled, each calls its own entry of the near page.
 */
static void test_exit_forms(void)
{
	struct {
		const char *next;
		size_t n;
		int form;
		long to;	/* the jump's target, from the site; 0: none */
	} cases[] = {
		{ "\xc3", 1, X86_EXIT_NOP5, 0 },
		{ "\xf3\xc3", 2, X86_EXIT_NOP5, 0 },
		{ "\xc2\x08\x00", 3, X86_EXIT_NOP5, 0 },
		{ "\xe9\x10\x00\x00\x00", 5, X86_EXIT_TAIL, 10 + 0x10 },
		{ "\xe9\xf0\xff\xff\xff", 5, X86_EXIT_TAIL, 10 - 0x10 },
		{ "\xeb\x05", 2, X86_EXIT_TAIL, 7 + 5 },
		{ "\xff\x25\x00\x01\x00\x00", 6, X86_EXIT_TAIL, 0 },	/* jmp *rip */
		{ "\xff\xe0", 2, X86_EXIT_TAIL, 0 },			/* jmp *%rax */
		{ "\x41\xff\xe3", 3, X86_EXIT_TAIL, 0 },			/* jmp *%r11 */
		{ "\x3e\xff\xe1", 3, X86_EXIT_TAIL, 0 },			/* notrack */
	};
	/* mov, call *%rax, call rel32, nop: the function goes on. */
	static const char bad[][5] = { "\x48\x89\xc7", "\xff\xd0", "\xe8\x00\x00\x00\x00",
				       "\x90" };
	uint8_t call[5];
	char why[160];
	uintptr_t to;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_EQ(classify_exit_at(0x9000, cases[i].next, cases[i].n, &to, why), 0);
		CHECK_EQ(sites[0].form, cases[i].form);
		CHECK_EQ(sites[0].len, 5);
		CHECK_EQ(fnt__x86_exit_is_tail(&sites[0]), cases[i].form == X86_EXIT_TAIL);
		CHECK_EQ(to, cases[i].to ? (uintptr_t)buf + 0x9000 + cases[i].to : 0);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(classify_exit_at(0x9000, bad[i], 5, &to, why), -EINVAL);
		CHECK_HAS(why, "not followed by a return or a jump");
	}
	/* clang's NOP is an entry form, never an exit site. */
	memcpy(buf + 0x9000, NOP5C, 5);
	buf[0x9005] = 0xc3;
	reset_obj((uintptr_t)buf + 0x9000);
	CHECK_EQ(fnt__x86_classify_exit(&obj, &sites[0], &to, why, sizeof(why)), -EINVAL);
	CHECK_HAS(why, "unknown exit bytes 0f 1f 44 00 08");

	/* The near page has an entry per kind; each site calls its own. */
	for (int tail = 0; tail < 2; tail++) {
		struct fnt_change c;

		CHECK_EQ(classify_exit_at(0x9100, tail ? "\xff\xe0" : "\xc3", 2, &to, why), 0);
		c = (struct fnt_change){ .addr = sites[0].addr, .enable = 1, .obj = &obj,
					 .site = &sites[0] };
		CHECK_EQ(fnt__x86_object_init(&obj), 0);
		fnt__x86_prepare(&c);
		CHECK_EQ(c.target, tail ? fnt__x86_near_tail(&obj) : fnt__x86_near_exit(&obj));
		CHECK_EQ(c.target, fnt__x86_near_entry(&obj) + (tail ? 64 : 32));
		fnt__x86_encode_call(c.addr, c.target, call);
		CHECK_MEM(c.old, NOP5, 5);
		CHECK_MEM(c.new, call, 5);
		/* The stub loads the object and jumps on. */
		CHECK_EQ(((uint8_t *)c.target)[0], 0x49);
		CHECK_EQ(((uint8_t *)c.target)[1], 0xbb);
		c.enable = 0;
		fnt__x86_prepare(&c);
		CHECK_MEM(c.old, call, 5);
		CHECK_MEM(c.new, NOP5, 5);
		fnt__x86_object_fini(&obj);
	}
}

/*
 * The live protocol for real: F = "NOP5; ret" at buf+0xc000 runs in a loop
 * on another thread while this one enables and disables its site with
 * fnt__x86_apply_live.  Enabled, the site calls S, which counts (lock inc)
 * and returns.  The runtime's SIGTRAP handler (installed by its
 * constructor, linked in from the archive) must claim every int3 the
 * other thread hits and emulate the instruction being written; a trap it
 * does not claim reaches our handler, which is a failure here.
 */
static _Atomic long calls, stray_traps;
static volatile long counter;
static _Atomic int stop;

static void on_foreign_trap(int sig, siginfo_t *si, void *uc)
{
	stray_traps++;
}

static void *caller(void *arg)
{
	void (*f)(void) = (void (*)(void))(buf + 0xc000);

	while (!stop) {
		f();
		calls++;
	}
	return arg;
}

/* exit: the same site as an exit site (a NOP before a ret, which F is),
 * whose call goes to the near page's second entry. */
static void test_live(int exit)
{
	static const uint8_t ret = 0xc3;
	struct sigaction sa = { .sa_sigaction = on_foreign_trap, .sa_flags = SA_SIGINFO };
	uint8_t *S = buf + 0xd000;
	uint64_t cnt = (uintptr_t)&counter;
	struct fnt_change c;
	uint64_t traps0 = fnt__stats.traps;
	pthread_t th;
	long before, c0;
	int rounds = 3000;

	sigaction(SIGTRAP, &sa, NULL);
	/* A foreign int3 ("int3; ret") and a kill(2) SIGTRAP: not ours, so
	 * the program's handler gets them, exactly as without fntrace. */
	memcpy(buf + 0xb000, "\xcc\xc3", 2);
	((void (*)(void))(buf + 0xb000))();
	CHECK_EQ(stray_traps, 1);
	raise(SIGTRAP);
	CHECK_EQ(stray_traps, 2);
	stray_traps = 0;

	/* S: movabs $&counter, %rax; lock incq (%rax); ret */
	memcpy(S, "\x48\xb8", 2);
	memcpy(S + 2, &cnt, 8);
	memcpy(S + 10, "\xf0\x48\xff\x00\xc3", 5);
	c = change_at(0xc000, NOP5, 1);
	memcpy(buf + 0xc005, &ret, 1);
	obj.arch = S;		/* the "near page" is S: prepare calls it */
	if (exit) {
		uintptr_t to = 1;
		char why[160];

		CHECK_EQ(fnt__x86_classify_exit(&obj, &sites[0], &to, why, sizeof(why)), 0);
		CHECK_EQ(sites[0].form, X86_EXIT_NOP5);
		CHECK_EQ(to, 0);
		obj.arch = S - 32;	/* its second entry is S */
	}
	stop = 0;
	calls = 0;
	CHECK_EQ(fnt__arch.init(), 0);
	fnt__x86_prepare(&c);
	CHECK_EQ(c.target, (uintptr_t)S);
	pthread_create(&th, NULL, caller, NULL);
	while (calls < 1000)
		;
	/*
	 * At least 3000 rounds, and more (up to 100 times as many) until the
	 * caller has hit an int3 in flight: on a loaded machine it may not
	 * run during the first batches at all.
	 */
	for (int r = 0; r < rounds; r++) {
		if (r == rounds - 2 && fnt__stats.traps == traps0 && rounds < 300000 &&
		    sysconf(_SC_NPROCESSORS_ONLN) > 1)
			rounds += 3000;
		c.enable = !(r & 1);
		fnt__x86_prepare(&c);
		if (fnt__x86_apply_live(&c, 1)) {
			CHECK(!"apply_live failed");
			break;
		}
		/* Enabled: every call from now on counts. */
		if (r == rounds - 2) {
			before = calls;
			c0 = counter;
			while (calls < before + 1000)
				;
			CHECK(counter - c0 >= 999);
		}
	}
	/* Disabled: no more counts, while the other thread goes on. */
	c0 = counter;
	before = calls;
	while (calls < before + 100000)
		;
	stop = 1;
	pthread_join(th, NULL);
	CHECK(counter - c0 <= 1);	/* at most the call in flight */
	CHECK(counter <= calls + 1);
	CHECK_MEM(buf + 0xc000, NOP5, 5);
	CHECK_EQ(stray_traps, 0);
	CHECK_EQ(fnt__killed, 0);
	/* Two CPUs: the caller hits int3s in flight.  Report either way. */
	printf("live%s: %d rounds, %ld calls, %ld counted, %lu traps emulated\n",
	       exit ? " (exit site)" : "", rounds,
	       (long)calls, (long)counter, (unsigned long)(fnt__stats.traps - traps0));
	if (sysconf(_SC_NPROCESSORS_ONLN) > 1)
		CHECK(fnt__stats.traps > traps0);
}

int main(void)
{
	buf = mmap(NULL, BUFSZ, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	if (buf == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	test_encode();
	test_classify();
	test_convert();
	test_prepare();
	CHECK_EQ(in_child(child_convert_changed), 100);
	CHECK_EQ(in_child(child_apply_unexpected), 100);
	CHECK_EQ(in_child(child_apply_second_bad), 100);
	CHECK_EQ(in_child(child_live_unexpected), 100);
	/* None of that leaked into this process. */
	CHECK_EQ(fnt__killed, 0);
	test_trap_direct();
	test_live(0);
	counter = 0;
	test_live(1);
	test_exit_forms();
	return check_done("test_arch");
}
