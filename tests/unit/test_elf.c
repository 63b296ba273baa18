/*
 * test_elf.c - reading site tables, symbols, segments and build-ids from
 * binaries compiled here at test time (src/core/elf.c).
 *
 * Every site the runtime patches comes from this reader, so a wrong
 * address patches the wrong bytes: each table is checked against what
 * binutils (nm, readelf) says of the same file, for both tables
 * (__patchable_function_entries, __mcount_loc), PIE and non-PIE (in a
 * PIE the entries are relocations, RELA or packed RELR), shared objects,
 * static functions, __fentry__'s GOT slot and PLT, stripped files, files
 * without tables and files that are not ELF at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "core/elf.h"

static char dir[] = "/tmp/fnt-test-elf-XXXXXX";
static char path[512];

static const char *src =
	"#define N __attribute__((noinline))\n"
	"N int f_one(int x) { __asm__ volatile(\"\"); return x + 1; }\n"
	"N static int s_two(int x) { __asm__ volatile(\"\"); return f_one(x) * 2; }\n"
	"N int f_three(int x) { __asm__ volatile(\"\"); return s_two(x) - 3; }\n"
	"int main(int c, char **v) { return f_three(c) == 12345; }\n";

static const char *lib_src =
	"#define N __attribute__((noinline))\n"
	"N int l_one(int x) { __asm__ volatile(\"\"); return x + 1; }\n"
	"N static int l_static(int x) { __asm__ volatile(\"\"); return l_one(x) * 2; }\n"
	"int l_api(int x) { return l_static(x); }\n";

/* Compiles into dir/out; returns its path (static buffer) or NULL. */
static const char *build(const char *out, const char *cmd)
{
	char c[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, out);
	snprintf(c, sizeof(c), "cd %s && %s -o %s 2>>build.log", dir, cmd, out);
	if (system(c)) {
		fprintf(stderr, "FAIL: cannot build: %s\n", c);
		check_failures++;
		return NULL;
	}
	return path;
}

/* The path of an earlier build (static buffer of its own). */
static const char *path_of(const char *out)
{
	static char p[600];

	snprintf(p, sizeof(p), "%s/%s", dir, out);
	return p;
}

/* The address nm gives to symbol name in file p, or 0. */
static uint64_t nm_addr(const char *p, const char *name)
{
	char c[600], line[512], sym[256], type;
	unsigned long long a;
	uint64_t r = 0;
	FILE *f;

	snprintf(c, sizeof(c), "nm %s", p);
	f = popen(c, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %255s", &a, &type, sym) == 3 && !strcmp(sym, name))
			r = a;
	pclose(f);
	return r;
}

/* The file's site for function name: its address (after endbr64 or not). */
static int has_site(const struct fnt_elf *e, uint64_t fn)
{
	for (size_t i = 0; i < e->nsites; i++)
		if (e->sites[i] == fn)
			return 1;
	return 0;
}

static const char *sym_name(const struct fnt_elf *e, uint64_t v)
{
	const struct fnt_elf_sym *s = fnt_elf_sym_at(e, v);

	return s ? e->strs + s->name : NULL;
}

/* Up to n bytes of p at link-time address vaddr, as the runtime reads them
 * (fnt_elf_vaddr_off, then the file).  Returns the count read, or -1. */
static long read_vaddr(const char *p, const struct fnt_elf *e, uint64_t vaddr, void *b,
		       size_t n)
{
	uint64_t off, avail;
	long got;
	int fd;

	if (fnt_elf_vaddr_off(e, vaddr, &off, &avail) < 0)
		return -1;
	if (n > avail)
		n = avail;
	fd = open(p, O_RDONLY);
	if (fd < 0)
		return -1;
	got = pread(fd, b, n, (off_t)off);
	close(fd);
	return got;
}

/* The common checks of an executable built from src. */
static void check_exe(const char *p, int table, int is_dyn)
{
	struct fnt_elf e;
	char err[256];
	const char *fns[] = { "f_one", "s_two", "f_three", "main" };
	uint8_t b[5];

	if (!p)
		return;
	CHECK_EQ(fnt_elf_open(&e, p, err, sizeof(err)), 0);
	CHECK_EQ(e.is_dyn, is_dyn);
	/* Exactly our four functions (crt code has no table). */
	CHECK_EQ(e.nsites, 4);
	for (int i = 0; i < 4; i++) {
		uint64_t a = nm_addr(p, fns[i]);

		CHECK(a != 0);
		if (!has_site(&e, a))
			fprintf(stderr, "  (%s: %s at %#llx has no site)\n", p, fns[i],
				(unsigned long long)a);
		CHECK(has_site(&e, a));
		/* Named by the symbol table, static functions included. */
		CHECK_STR(sym_name(&e, a), fns[i]);
		/* Inside the function, too. */
		CHECK_STR(sym_name(&e, a + 1), fns[i]);
	}
	for (size_t i = 0; i < e.nsites; i++) {
		CHECK_EQ(e.site_table[i], table);
		if (i)
			CHECK(e.sites[i - 1] < e.sites[i]);
	}
	/* The file's bytes at a site, by link-time address. */
	if (e.nsites) {
		uint64_t off = 0, avail = 0;

		CHECK_EQ(read_vaddr(p, &e, e.sites[0], b, 5), 5);
		/* An address no segment holds in the file. */
		CHECK_EQ(fnt_elf_vaddr_off(&e, ~0ull - 16, &off, &avail), -ERANGE);
	}
	/* Sites lie in an executable segment. */
	for (size_t i = 0; i < e.nsites; i++) {
		int in = 0;

		for (int k = 0; k < e.nsegs; k++)
			if ((e.segs[k].flags & 1) && e.sites[i] >= e.segs[k].vaddr &&
			    e.sites[i] + 5 <= e.segs[k].vaddr + e.segs[k].memsz)
				in = 1;
		CHECK(in);
	}
	fnt_elf_close(&e);
}

/* The first bytes of function fn, read through the reader. */
static void check_bytes(const char *p, const char *fn, const void *want, size_t n)
{
	struct fnt_elf e;
	char err[256];
	uint8_t b[16];

	if (!p)
		return;
	CHECK_EQ(fnt_elf_open(&e, p, err, sizeof(err)), 0);
	CHECK_EQ(read_vaddr(p, &e, nm_addr(p, fn), b, n), (long)n);
	CHECK_MEM(b, want, n);
	fnt_elf_close(&e);
}

/* readelf's build-id of p, as bytes; returns the length. */
static size_t readelf_build_id(const char *p, uint8_t *out)
{
	char c[600], line[512], *h;
	size_t n = 0;
	FILE *f;

	snprintf(c, sizeof(c), "readelf -n %s", p);
	f = popen(c, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		h = strstr(line, "Build ID: ");
		if (!h)
			continue;
		for (h += 10; h[0] && h[1] && h[0] != '\n' && n < 64; h += 2) {
			unsigned int v;

			sscanf(h, "%2x", &v);
			out[n++] = (uint8_t)v;
		}
	}
	pclose(f);
	return n;
}

static void test_tables(void)
{
	char err[256];
	struct fnt_elf e;
	uint8_t id[64];
	size_t idlen;
	const char *p;
	char c[600];
	uint64_t ls;

	/* __patchable_function_entries: gcc and clang, PIE and not. */
	check_exe(build("gcc-pfe-pie", "gcc -O1 -fpatchable-function-entry=5 -fPIE -pie main.c"),
		  FNT_TABLE_PFE, 1);
	check_bytes(path, "f_one", "\x90\x90\x90\x90\x90", 5);
	check_exe(build("gcc-pfe-nopie",
			"gcc -O1 -fpatchable-function-entry=5 -fno-pie -no-pie main.c"),
		  FNT_TABLE_PFE, 0);
	check_exe(build("clang-pfe-pie",
			"clang -O2 -fpatchable-function-entry=5 -fPIE -pie main.c"), FNT_TABLE_PFE, 1);
	check_bytes(path, "s_two", "\x0f\x1f\x44\x00\x08", 5);
	/* Packed relative relocations (RELR): the addend is in the section. */
	check_exe(build("gcc-pfe-relr", "gcc -O1 -fpatchable-function-entry=5 -fPIE -pie "
				       "-Wl,-z,pack-relative-relocs main.c"),
		  FNT_TABLE_PFE, 1);
	/* __mcount_loc: nop-mcount (non-PIE only). */
	check_exe(build("gcc-nopmcount", "gcc -O1 -pg -mfentry -mrecord-mcount -mnop-mcount "
					"-fno-pie -c main.c -o m.o && gcc -no-pie m.o"),
		  FNT_TABLE_MCOUNT, 0);
	check_bytes(path, "s_two", "\x0f\x1f\x44\x00\x00", 5);

	/* __return_loc: exit sites, kept apart from the entries (whose
	 * indices name functions), each a NOP5 before a ret or a jmp, and
	 * as many as the table holds. */
	p = build("gcc-exits", "gcc -O1 -pg -mfentry -mrecord-mcount -mnop-mcount "
			       "-minstrument-return=nop5 -mrecord-return -fno-pie -c main.c -o x.o "
			       "&& gcc -no-pie x.o");
	check_exe(p, FNT_TABLE_MCOUNT, 0);
	if (p && !fnt_elf_open(&e, p, err, sizeof(err))) {
		unsigned long long size = 0;
		FILE *f;

		snprintf(c, sizeof(c), "readelf -SW %s | awk '$2 == \"__return_loc\" { print $6 }'",
			 p);
		f = popen(c, "r");
		CHECK(f && fscanf(f, "%llx", &size) == 1);
		if (f)
			pclose(f);
		CHECK(e.nexits > 0);
		CHECK_EQ(e.nexits, size / 8);
		for (size_t i = 0; i < e.nexits; i++) {
			uint8_t b[6];

			CHECK(!i || e.exits[i] > e.exits[i - 1]);
			CHECK(!has_site(&e, e.exits[i]));
			CHECK_EQ(read_vaddr(p, &e, e.exits[i], b, 6), 6);
			CHECK_MEM(b, "\x0f\x1f\x44\x00\x00", 5);
			CHECK(b[5] == 0xc3 || b[5] == 0xe9 || b[5] == 0xeb || b[5] == 0xff);
		}
		fnt_elf_close(&e);
	}
	/* Without the flags there is none. */
	if (!fnt_elf_open(&e, path_of("gcc-nopmcount"), err, sizeof(err))) {
		CHECK_EQ(e.nexits, 0);
		fnt_elf_close(&e);
	}

	/* PIE fentry: the site calls through __fentry__'s GOT slot. */
	p = build("gcc-fentry-pie", "gcc -O1 -pg -mfentry -mrecord-mcount -fPIE -c main.c "
				    "-o f.o && gcc -pie f.o fentry.so -Wl,-rpath,.");
	check_exe(p, FNT_TABLE_MCOUNT, 1);
	if (p && !fnt_elf_open(&e, p, err, sizeof(err))) {
		uint8_t b[6];
		int32_t disp;

		CHECK(e.fentry_got != 0);
		CHECK_EQ(read_vaddr(p, &e, e.sites[0], b, 6), 6);
		CHECK_MEM(b, "\xff\x15", 2);
		memcpy(&disp, b + 2, 4);
		CHECK_EQ(e.sites[0] + 6 + disp, e.fentry_got);
		fnt_elf_close(&e);
	}
	/* Non-PIE fentry: e8 to __fentry__'s PLT entry. */
	p = build("gcc-fentry-nopie", "gcc -O1 -pg -mfentry -mrecord-mcount -fno-pie -c main.c "
				      "-o g.o && gcc -no-pie g.o fentry.so -Wl,-rpath,.");
	check_exe(p, FNT_TABLE_MCOUNT, 0);
	if (p && !fnt_elf_open(&e, p, err, sizeof(err))) {
		uint8_t b[5];
		int32_t rel;
		uint64_t t;

		CHECK_EQ(read_vaddr(p, &e, e.sites[0], b, 5), 5);
		CHECK_EQ(b[0], 0xe8);
		memcpy(&rel, b + 1, 4);
		t = e.sites[0] + 5 + rel;
		CHECK((t >= e.plt_lo && t < e.plt_hi) || (t >= e.plt2_lo && t < e.plt2_hi));
		CHECK_EQ(e.fentry_sym, 0);
		fnt_elf_close(&e);
	}

	/* A shared object, with an explicit build-id. */
	p = build("lib.so", "clang -O2 -fPIC -shared -fpatchable-function-entry=5 "
			    "-Wl,--build-id=sha1 lib.c");
	if (p && !fnt_elf_open(&e, p, err, sizeof(err))) {
		CHECK_EQ(e.is_dyn, 1);
		CHECK_EQ(e.nsites, 3);
		CHECK(has_site(&e, nm_addr(p, "l_static")));
		CHECK_STR(sym_name(&e, nm_addr(p, "l_static")), "l_static");
		idlen = readelf_build_id(p, id);
		CHECK_EQ(idlen, 20);
		CHECK_EQ(e.build_id_len, idlen);
		CHECK_MEM(e.build_id, id, idlen);
		fnt_elf_close(&e);
	}
	/* Stripped: sites stay, exported names stay (.dynsym), and the static
	 * function is not misnamed after its neighbour: it has no name. */
	snprintf(c, sizeof(c), "%s/lib.so", dir);
	ls = nm_addr(c, "l_static");
	p = build("stripped.so", "cp lib.so stripped.so && strip --strip-all stripped.so && true");
	if (p && !fnt_elf_open(&e, p, err, sizeof(err))) {
		CHECK_EQ(e.nsites, 3);
		CHECK(has_site(&e, ls));
		CHECK(sym_name(&e, ls) == NULL);
		CHECK_STR(sym_name(&e, nm_addr(c, "l_one")), "l_one");
		fnt_elf_close(&e);
	}

	/* Duplicates and zeros (gc-sections leftovers) are dropped, once
	 * sorted; a site table may be written by hand, as here. */
	p = build("dup", "printf '%s' '.text\n.globl g1\n.type g1,@function\ng1: "
			 ".byte 0x0f,0x1f,0x44,0,0\nret\n.size g1,.-g1\n.section __mcount_loc,"
			 "\"a\"\n.quad g1\n.quad 0\n.quad g1\n.section .note.GNU-stack,\"\",@progbits\n'"
			 " > dup.S && gcc -no-pie dup.S main.c");
	if (p && !fnt_elf_open(&e, p, err, sizeof(err))) {
		uint64_t g1 = nm_addr(p, "g1");

		CHECK(g1 != 0);
		CHECK_EQ(e.nsites, 1);
		CHECK_EQ(e.nsites ? e.sites[0] : 0, g1);
		CHECK_STR(sym_name(&e, g1), "g1");
		fnt_elf_close(&e);
	}

	/* No table: the runtime's reader stops early, with nothing to free. */
	p = build("plain", "gcc -O1 main.c");
	if (p) {
		CHECK_EQ(fnt_elf_open_sites(&e, p, err, sizeof(err)), 0);
		CHECK_EQ(e.nsites, 0);
		fnt_elf_close(&e);
		/* The full reader still reads its symbols (for the CLI). */
		CHECK_EQ(fnt_elf_open(&e, p, err, sizeof(err)), 0);
		CHECK_EQ(e.nsites, 0);
		CHECK(e.nsyms > 0);
		CHECK_STR(sym_name(&e, nm_addr(p, "s_two")), "s_two");
		fnt_elf_close(&e);
	}

	/* Not ELF, and missing. */
	snprintf(path, sizeof(path), "%s/main.c", dir);
	err[0] = 0;
	CHECK_EQ(fnt_elf_open(&e, path, err, sizeof(err)), -ENOEXEC);
	CHECK_HAS(err, "main.c");
	snprintf(path, sizeof(path), "%s/missing", dir);
	err[0] = 0;
	CHECK_EQ(fnt_elf_open(&e, path, err, sizeof(err)), -ENOENT);
	CHECK_HAS(err, "missing");
}

int main(void)
{
	char c[600];
	FILE *f;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/main.c", dir);
	f = fopen(path, "w");
	fputs(src, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/lib.c", dir);
	f = fopen(path, "w");
	fputs(lib_src, f);
	fclose(f);
	/* A __fentry__ to link the -pg builds against, as libfntrace.so does. */
	build("fentry.so", "echo 'void __fentry__(void) {}' | gcc -x c -fPIC -shared -");
	test_tables();
	snprintf(c, sizeof(c), "rm -rf %s", dir);
	if (!check_failures && system(c))
		fprintf(stderr, "cannot remove %s\n", dir);
	return check_done("test_elf");
}
