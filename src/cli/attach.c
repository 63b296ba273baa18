/*
 * attach.c - loading the runtime into a process started without fntrace.
 *
 * Everything that can refuse is checked first, and nothing in the process
 * changes unless it all passes: it is not traced by another tracer; it has
 * patch sites; it runs the GNU C library with dlopen and pthread_create in
 * libc.so.6 (glibc 2.34 and later); every thread can take a SIGTRAP; the
 * runtime is at the same path in its mount namespace.
 *
 * Then one thread of it (the hijacked thread, T) runs two raw system calls
 * through ptrace (arch/x86_64/inject/hijack.c): an mmap of the area that
 * inject.h lays out, which fntrace fills with the loader and its
 * parameters, and a clone of a raw thread (R) that starts the loader.  T
 * goes on as it was at once; R asks the program's libc for a real thread
 * (N), which dlopen()s the runtime, and ends; the runtime starts its agent
 * as in any process, and later frees the area once R and N are gone.
 * Every lock the loading takes is taken on N, which holds none: a lock
 * held by a thread we interrupted (malloc's, say) merely delays it.
 *
 * A process of one thread is special: its C library takes no lock at all
 * (malloc included) while it believes itself alone, so R and N must not
 * run while T is inside it.  T is then only hijacked where it cannot be in
 * the allocator: in the program's own code, or blocked in a system call
 * that malloc does not make.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "arch/x86_64/inject/hijack.h"
#include "arch/x86_64/inject/inject.h"
#include "cli/attach.h"
#include "cli/cli.h"
#include "cli/ctlclient.h"
#include "core/elf.h"

/* The loader, built by the Makefile from arch/x86_64/inject/loader.c. */
extern const unsigned char fnt__loader_blob[];
extern const size_t fnt__loader_blob_len;

#define MAX_OBJS 1024
#define ATTACH_TIMEOUT_MS 10000
#define SAFE_POINT_TRIES 2000

struct obj {
	char path[PATH_MAX];
	unsigned long base;		/* the mapping at file offset 0 */
	unsigned long x_lo, x_hi;	/* its executable mapping */
};

struct target {
	int pid;
	char root[64];			/* /proc/PID/root */
	struct obj *objs;
	int nobjs;
	int libc, ldso, self;		/* indices, or -1 */
};

static int say(char *err, size_t cap, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int say(char *err, size_t cap, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
	return -e;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* One line of /proc/PID/status, "Key:\tvalue", into val; 0 or -1. */
static int status_field(int pid, int tid, const char *key, char *val, size_t cap)
{
	char path[64], line[512];
	size_t kl = strlen(key);
	FILE *f;
	int ret = -1;

	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			char *v = line + kl + 1;

			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = 0;
			snprintf(val, cap, "%s", v);
			ret = 0;
			break;
		}
	fclose(f);
	return ret;
}

static int read_maps(struct target *t, char *err, size_t cap)
{
	char path[64], line[PATH_MAX + 128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", t->pid);
	f = fopen(path, "re");
	if (!f)
		return say(err, cap, errno, "cannot read the mappings of process %d: %s", t->pid,
			   strerror(errno));
	t->libc = t->ldso = t->self = -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, off;
		char perms[8];
		int at = 0, i;
		char *p;

		if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %n", &lo, &hi, perms, &off, &at) < 4 ||
		    !at)
			continue;
		p = line + at;
		p[strcspn(p, "\n")] = 0;
		if (p[0] != '/')
			continue;
		for (i = 0; i < t->nobjs && strcmp(t->objs[i].path, p); i++)
			;
		if (i == t->nobjs) {
			if (t->nobjs == MAX_OBJS || strlen(p) >= PATH_MAX)
				continue;
			memset(&t->objs[i], 0, sizeof(t->objs[i]));
			snprintf(t->objs[i].path, PATH_MAX, "%s", p);
			t->nobjs++;
			if (!strncmp(base_name(p), "libc.so", 7))
				t->libc = i;
			else if (!strncmp(base_name(p), "ld-linux", 8))
				t->ldso = i;
			else if (!strncmp(base_name(p), "libfntrace", 10))
				t->self = i;
		}
		if (off == 0 && !t->objs[i].base)
			t->objs[i].base = lo;
		if (perms[2] == 'x' && !t->objs[i].x_lo) {
			t->objs[i].x_lo = lo;
			t->objs[i].x_hi = hi;
		}
	}
	fclose(f);
	return 0;
}

/* The object's file as this process can open it. */
static void host_path(const struct target *t, const char *p, char *out, size_t cap)
{
	snprintf(out, cap, "%s%s", t->root, p);
}

/*
 * Counts the sites the attach could patch.  Sites in gcc's
 * -fpatchable-function-entry form (five 1-byte NOPs) are rewritten into
 * one NOP only before an object runs, so they do not count: *pfe says how
 * many were seen (the first bytes of each object's first site tell).
 */
static int count_sites(const struct target *t, int memfd, size_t *n, size_t *pfe)
{
	static const uint8_t nop1x5[5] = { 0x90, 0x90, 0x90, 0x90, 0x90 };

	*n = *pfe = 0;
	for (int i = 0; i < t->nobjs; i++) {
		char hp[PATH_MAX + 64], why[160];
		uint64_t lo = ~0ull, bias = 0;
		uint8_t b[5];
		struct fnt_elf e;

		if (i == t->libc || i == t->ldso || !t->objs[i].x_lo)
			continue;
		host_path(t, t->objs[i].path, hp, sizeof(hp));
		if (fnt_elf_open_sites(&e, hp, why, sizeof(why)) < 0)
			continue;
		for (int k = 0; k < e.nsegs; k++)
			if (e.segs[k].vaddr < lo)
				lo = e.segs[k].vaddr;
		if (e.is_dyn && lo != ~0ull)
			bias = t->objs[i].base - (lo & ~0xfffull);
		if (e.nsites && pread(memfd, b, 5, (off_t)(bias + e.sites[0])) == 5 &&
		    !memcmp(b, nop1x5, 5))
			*pfe += e.nsites;
		else
			*n += e.nsites;
		fnt_elf_close(&e);
	}
	return 0;
}

/* The address in the target of libc's function name (every version of it
 * must be the same function), or 0. */
static uint64_t libc_func(const struct fnt_elf *e, uint64_t bias, const char *name)
{
	uint64_t at = 0;

	for (size_t i = 0; i < e->nsyms; i++)
		if (!strcmp(e->strs + e->syms[i].name, name)) {
			if (at && at != e->syms[i].vaddr)
				return 0;
			at = e->syms[i].vaddr;
		}
	return at ? at + bias : 0;
}

static long find_bytes(const uint8_t *hay, size_t n, const uint8_t *pat, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (hay[i] == pat[0] && !memcmp(hay + i, pat, m))
			return (long)i;
	return -1;
}

/* Which threads block SIGTRAP?  An int3 kills such a thread's process. */
static int check_masks(int pid, char *err, size_t cap)
{
	char dir[64], val[64];
	struct dirent *d;
	DIR *dp;
	int bad = 0;

	snprintf(dir, sizeof(dir), "/proc/%d/task", pid);
	dp = opendir(dir);
	if (!dp)
		return say(err, cap, errno, "cannot list the threads of process %d: %s", pid,
			   strerror(errno));
	while ((d = readdir(dp)) && !bad) {
		int tid = atoi(d->d_name);
		unsigned long long blk;

		if (tid <= 0 || status_field(pid, tid, "SigBlk", val, sizeof(val)) < 0)
			continue;
		blk = strtoull(val, NULL, 16);
		if (blk & (1ull << (SIGTRAP - 1))) {
			char name[64] = "?";

			status_field(pid, tid, "Name", name, sizeof(name));
			bad = say(err, cap, EDEADLK,
				  "thread %d (%s) of process %d blocks SIGTRAP, so a trap of the "
				  "live patching would kill the process: not attaching", tid, name,
				  pid);
		}
	}
	closedir(dp);
	return bad;
}

/* The thread to hijack: the main one, unless it has ended (a program whose
 * main thread called pthread_exit keeps a zombie there). */
static int pick_thread(int pid)
{
	char dir[64], val[64];
	struct dirent *d;
	DIR *dp;
	int tid = 0;

	if (status_field(pid, pid, "State", val, sizeof(val)) == 0 && val[0] != 'Z' &&
	    val[0] != 'X')
		return pid;
	snprintf(dir, sizeof(dir), "/proc/%d/task", pid);
	dp = opendir(dir);
	if (!dp)
		return pid;
	while (!tid && (d = readdir(dp))) {
		int t = atoi(d->d_name);

		if (t > 0 && t != pid && status_field(pid, t, "State", val, sizeof(val)) == 0 &&
		    val[0] != 'Z' && val[0] != 'X')
			tid = t;
	}
	closedir(dp);
	return tid ? tid : pid;
}

/* Has pid ended: gone, or a zombie (not a leader that ended before its
 * other threads, which run on)? */
static int ended(int pid)
{
	char val[64], n[16];

	if (status_field(pid, 0, "State", val, sizeof(val)) < 0)
		return 1;
	return (val[0] == 'Z' || val[0] == 'X') &&
	       (status_field(pid, 0, "Threads", n, sizeof(n)) < 0 || atoi(n) <= 1);
}

/* Has pid ended or begun to?  A process on its way out loses its root
 * before /proc shows it ended, and its files seen through that root go with
 * it: a root that cannot be read is an ending, not a missing file. */
static int gone(const struct target *t, int pid)
{
	struct stat st;

	return ended(pid) || stat(t->root, &st) < 0;
}

static int nthreads(int pid)
{
	char val[32];

	return status_field(pid, 0, "Threads", val, sizeof(val)) < 0 ? -1 : atoi(val);
}

/* Why ptrace was refused, in words that say what to do. */
static int explain_eperm(int pid, char *err, size_t cap)
{
	char buf[16] = "";
	FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
	int scope = 0;
	long uid = fnt__proc_uid(pid);

	if (f) {
		if (fgets(buf, sizeof(buf), f))
			scope = atoi(buf);
		fclose(f);
	}
	if (uid >= 0 && uid != (long)geteuid() && geteuid() != 0)
		return say(err, cap, EPERM,
			   "process %d belongs to uid %ld: attach as that user, or as root", pid,
			   uid);
	if (scope == 3)
		return say(err, cap, EPERM,
			   "kernel.yama.ptrace_scope is 3: no process may be attached to until the "
			   "next boot");
	if (scope == 2 && geteuid() != 0)
		return say(err, cap, EPERM,
			   "kernel.yama.ptrace_scope is 2: only root (CAP_SYS_PTRACE) may attach; "
			   "run as root");
	if (scope == 1 && geteuid() != 0)
		return say(err, cap, EPERM,
			   "kernel.yama.ptrace_scope is 1: only a parent may attach to process %d; "
			   "run as root, or 'sysctl kernel.yama.ptrace_scope=0' to allow it", pid);
	return say(err, cap, EPERM, "ptrace of process %d is not permitted (%s)", pid,
		   "a seccomp filter, a container's policy, or a dumpable flag cleared");
}

/*
 * May the loader run while T is stopped where it is?  Only a process of
 * one thread needs asking (see the file comment): T must not be in the C
 * library or the dynamic linker unless it is blocked in a system call
 * that malloc never makes.
 */
static int safe_point(const struct target *t, const struct fnt_hijack *h)
{
	uint64_t ip = fnt__hijack_ip(h);
	long nr = fnt__hijack_in_syscall(h);
	int i;

	if (nr >= 0)
		return nr != SYS_brk && nr != SYS_mmap && nr != SYS_munmap && nr != SYS_mremap &&
		       nr != SYS_madvise && nr != SYS_mprotect && nr != SYS_futex;
	for (i = 0; i < t->nobjs; i++)
		if (ip >= t->objs[i].x_lo && ip < t->objs[i].x_hi)
			return i != t->libc && i != t->ldso;
	return 0;	/* the vDSO, a JIT: not known to be safe */
}

static int hijack_call(struct fnt_hijack *h, long nr, long a0, long a1, long a2, long a3,
		       long a4, long a5, long *ret, char *err, size_t cap)
{
	const long args[6] = { a0, a1, a2, a3, a4, a5 };

	return fnt__hijack_syscall(h, nr, args, ret, err, cap);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The area's parameters and what goes into the area. */
static int fill_area(struct fnt_hijack *h, uint64_t area, const struct fnt_inj_params *pin,
		     char *err, size_t cap)
{
	struct fnt_inj_params p = *pin;
	uint64_t tcb = area + FNT_INJ_TCB, words[7], entry = area + FNT_INJ_CODE;
	uint64_t sp = area + FNT_INJ_TLS - 64;
	int r;

	p.area = area;
	p.area_len = FNT_INJ_END;
	p.code_len = fnt__loader_blob_len;
	/* The TCB's ABI header: itself (twice), the DTV of T (read only by
	 * TLS accesses R never makes), "more than one thread", and T's stack
	 * and pointer guards, which the libc code R calls checks. */
	words[0] = tcb;
	words[2] = tcb;
	words[3] = 1;
	words[4] = 0;
	r = fnt__hijack_read(h, h->orig.fs_base + 8, &words[1], 8);
	if (!r)
		r = fnt__hijack_read(h, h->orig.fs_base + 0x28, &words[5], 16);
	if (!r)
		r = fnt__hijack_write(h, tcb, words, sizeof(words));
	if (!r)
		r = fnt__hijack_write(h, area + FNT_INJ_CODE, fnt__loader_blob,
				      fnt__loader_blob_len);
	if (!r)
		r = fnt__hijack_write(h, sp, &entry, 8);
	if (!r)
		r = fnt__hijack_write(h, area, &p, sizeof(p));
	if (r < 0)
		return say(err, cap, -r, "cannot fill the area in process %d: %s", h->pid,
			   strerror(-r));
	return 0;
}

/*
 * A process of one thread gets a second one (N), made by R, which is not T:
 * pthread_create marks the process as threaded (its global flag) and the
 * calling thread (R), but not T, whose own flag would still let its libc
 * skip every lock.  So T, still stopped where it cannot be in the C
 * library, gets its flag set, and stays stopped until R has made N.
 */
static void alone_no_more(struct fnt_hijack *h, uint64_t area)
{
	uint32_t one = 1, state = 0;
	long end = now_ms() + ATTACH_TIMEOUT_MS;

	fnt__hijack_write(h, h->orig.fs_base + 0x18, &one, 4);
	while (now_ms() < end &&
	       fnt__hijack_read(h, area + offsetof(struct fnt_inj_params, state), &state, 4) == 0 &&
	       state < FNT_INJ_CREATED)
		usleep(200);
}

static int inject(struct target *t, int tid, const struct fnt_inj_params *p, uint64_t gadget,
		  uint64_t restorer, uint64_t *area_out, char *err, size_t cap)
{
	struct fnt_hijack h;
	long area = 0, rtid = 0;
	int r, one = nthreads(t->pid) == 1;

	r = fnt__hijack_begin(&h, t->pid, tid, gadget, restorer, err, cap);
	if (r == -EPERM)
		r = explain_eperm(t->pid, err, cap);
	if (r < 0)
		goto out;
	/* Where T stopped must do: a stack to write the way back on, and
	 * for a process of one thread a safe point (see the file comment). */
	for (int i = 0; !fnt__hijack_has_stack(&h) || (one && !safe_point(t, &h)); i++) {
		if (i == SAFE_POINT_TRIES) {
			r = say(err, cap, EBUSY,
				fnt__hijack_has_stack(&h)
					? "process %d (one thread) stayed in its C library for 2 s: "
					  "try again"
					: "the main thread of process %d has no usable stack pointer "
					  "for 2 s: try again", t->pid);
			goto out;
		}
		r = fnt__hijack_reseat(&h, 1000, err, cap);
		if (r < 0)
			goto out;
	}
	r = hijack_call(&h, SYS_mmap, 0, FNT_INJ_END, PROT_READ | PROT_WRITE | PROT_EXEC,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, &area, err, cap);
	if (r < 0)
		goto out;
	if (area < 0 && area > -4096) {
		r = say(err, cap, (int)-area, "mmap in process %d failed: %s", t->pid,
			strerror((int)-area));
		goto out;
	}
	*area_out = (uint64_t)area;
	r = fill_area(&h, (uint64_t)area, p, err, cap);
	if (r < 0)
		goto unmap;
	r = hijack_call(&h, SYS_clone,
			CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
				CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID |
				CLONE_CHILD_CLEARTID,
			area + FNT_INJ_TLS - 64, area + offsetof(struct fnt_inj_params, r_tid),
			area + offsetof(struct fnt_inj_params, r_tid), area + FNT_INJ_TCB, area,
			&rtid, err, cap);
	if (r < 0)
		goto unmap;
	if (rtid <= 0) {
		r = say(err, cap, (int)-rtid, "clone in process %d failed: %s", t->pid,
			strerror((int)-rtid));
		goto unmap;
	}
	if (one)
		alone_no_more(&h, (uint64_t)area);
	goto out;
unmap:
	/* Nothing runs in the area yet: it goes. */
	if (h.seized)
		hijack_call(&h, SYS_munmap, area, FNT_INJ_END, 0, 0, 0, 0, &rtid, err + strlen(err),
			    0);
	*area_out = 0;
out:
	fnt__hijack_end(&h);
	return r;
}

/* Waits for the loader: DONE, FAILED, or the agent's socket (the runtime
 * may have freed the area by then). */
static int wait_loaded(int pid, uint64_t area, char *err, size_t cap)
{
	char path[64];
	long end = now_ms() + ATTACH_TIMEOUT_MS;
	int fd, ret = -ETIMEDOUT;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	while (now_ms() < end) {
		struct fnt_inj_params p;

		if (ended(pid)) {
			ret = say(err, cap, ESRCH, "process %d ended during the attach", pid);
			break;
		}
		if (fd >= 0 && pread(fd, &p, sizeof(p), (off_t)area) == (ssize_t)sizeof(p) &&
		    p.magic == FNT_INJ_MAGIC) {
			if (p.state == FNT_INJ_FAILED) {
				p.err[sizeof(p.err) - 1] = 0;
				ret = say(err, cap, EIO, "process %d could not load the runtime: %s",
					  pid, p.err);
				break;
			}
			if (p.state == FNT_INJ_DONE) {
				ret = 0;
				break;
			}
		} else if (fnt__proc_has_runtime(pid) > 0) {
			ret = 0;	/* the runtime took the area and freed it */
			break;
		}
		usleep(2000);
	}
	if (ret == -ETIMEDOUT)
		say(err, cap, ETIMEDOUT, "process %d did not load the runtime within %d s", pid,
		    ATTACH_TIMEOUT_MS / 1000);
	if (fd >= 0)
		close(fd);
	return ret;
}

int fnt__attach(int pid, char *err, size_t cap)
{
	struct target t = { .pid = pid };
	struct fnt_inj_params p = { .magic = FNT_INJ_MAGIC };
	char lib[PATH_MAX], hp[PATH_MAX + 64], val[64];
	struct stat mine, theirs;
	struct fnt_elf libc;
	uint8_t *text = NULL;
	uint64_t bias, gadget, restorer, area = 0;
	static const uint8_t syscall_ret[] = { 0x0f, 0x05, 0xc3 };
	static const uint8_t restore_rt[] = { 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05 };
	size_t nsites, pfe, tlen;
	long at;
	int r, fd;

	if (status_field(pid, 0, "TracerPid", val, sizeof(val)) < 0)
		return say(err, cap, ESRCH, "no process %d", pid);
	if (atoi(val) != 0) {
		char name[64] = "?";

		status_field(atoi(val), 0, "Name", name, sizeof(name));
		return say(err, cap, EBUSY,
			   "process %d is already traced by process %s (%s): detach that tracer "
			   "first (gdb: 'detach'; strace: stop it)", pid, val, name);
	}
	if (fnt__find_lib(lib, sizeof(lib)) < 0)
		return say(err, cap, ENOENT, "cannot find libfntrace.so (set FNTRACE_LIB)");
	snprintf(t.root, sizeof(t.root), "/proc/%d/root", pid);
	t.objs = calloc(MAX_OBJS, sizeof(*t.objs));
	if (!t.objs)
		return say(err, cap, ENOMEM, "out of memory");
	r = read_maps(&t, err, cap);
	if (r < 0)
		goto out;
	if (t.self >= 0) {
		r = say(err, cap, EEXIST, "process %d already has the fntrace runtime", pid);
		goto out;
	}
	if (gone(&t, pid) || !t.nobjs) {
		r = say(err, cap, ESRCH, "process %d ended", pid);
		goto out;
	}
	if (t.ldso < 0 || t.libc < 0) {
		r = say(err, cap, ENOEXEC,
			"process %d runs a statically linked program (or not one of the GNU C "
			"library): it cannot take the runtime", pid);
		goto out;
	}
	snprintf(hp, sizeof(hp), "/proc/%d/mem", pid);
	fd = open(hp, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = errno == EACCES || errno == EPERM ? explain_eperm(pid, err, cap)
						      : say(err, cap, errno, "cannot open %s: %s", hp,
							    strerror(errno));
		goto out;
	}
	count_sites(&t, fd, &nsites, &pfe);
	close(fd);
	if (!nsites && gone(&t, pid)) {
		r = say(err, cap, ESRCH, "process %d ended", pid);
		goto out;
	}
	if (!nsites && pfe) {
		r = say(err, cap, ENOEXEC,
			"process %d has only sites of gcc's -fpatchable-function-entry (five 1-byte "
			"NOPs), which can be rewritten only before a program runs: start it with "
			"'fntrace run', or build it with clang, or gcc -pg -mfentry -mrecord-mcount "
			"-mnop-mcount (non-PIE); nothing was changed", pid);
		goto out;
	}
	if (!nsites) {
		r = say(err, cap, ENOEXEC,
			"process %d has no patch sites: none of its objects was built with the "
			"flags of 'fntrace cflags'; nothing was changed", pid);
		goto out;
	}
	host_path(&t, lib, hp, sizeof(hp));
	if (stat(lib, &mine) < 0 || stat(hp, &theirs) < 0 || mine.st_dev != theirs.st_dev ||
	    mine.st_ino != theirs.st_ino) {
		r = gone(&t, pid) ? say(err, cap, ESRCH, "process %d ended", pid) : say(err, cap, ENOENT,
			"%s is not at the same path in the mount namespace of process %d: not "
			"attaching", lib, pid);
		goto out;
	}
	if (strlen(lib) >= sizeof(p.path)) {
		r = say(err, cap, ENAMETOOLONG, "the path of the runtime is too long");
		goto out;
	}
	snprintf(p.path, sizeof(p.path), "%s", lib);
	r = check_masks(pid, err, cap);
	if (r < 0)
		goto out;
	host_path(&t, t.objs[t.libc].path, hp, sizeof(hp));
	if (fnt_elf_open(&libc, hp, err, cap) < 0) {
		r = -ENOEXEC;
		goto out;
	}
	bias = libc.is_dyn ? t.objs[t.libc].base : 0;
	p.pthread_create = libc_func(&libc, bias, "pthread_create");
	p.dlopen = libc_func(&libc, bias, "dlopen");
	p.dlerror = libc_func(&libc, bias, "dlerror");
	p.dlsym = libc_func(&libc, bias, "dlsym");
	fnt_elf_close(&libc);
	if (!p.pthread_create || !p.dlopen || !p.dlerror || !p.dlsym) {
		r = say(err, cap, ENOTSUP,
			"the C library of process %d has no dlopen and pthread_create of its own "
			"(glibc 2.34 or later is needed)", pid);
		goto out;
	}
	/* The two pieces of code T runs: found in the C library's text as it
	 * is in memory, where T will run them. */
	tlen = t.objs[t.libc].x_hi - t.objs[t.libc].x_lo;
	text = malloc(tlen);
	snprintf(hp, sizeof(hp), "/proc/%d/mem", pid);
	fd = open(hp, O_RDONLY | O_CLOEXEC);
	if (!text || fd < 0 || pread(fd, text, tlen, (off_t)t.objs[t.libc].x_lo) != (ssize_t)tlen) {
		r = fd < 0 && errno == EACCES ? explain_eperm(pid, err, cap)
					      : say(err, cap, EIO,
						    "cannot read the C library of process %d", pid);
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	at = find_bytes(text, tlen, syscall_ret, sizeof(syscall_ret));
	gadget = at < 0 ? 0 : t.objs[t.libc].x_lo + (uint64_t)at;
	at = find_bytes(text, tlen, restore_rt, sizeof(restore_rt));
	restorer = at < 0 ? 0 : t.objs[t.libc].x_lo + (uint64_t)at;
	if (!gadget || !restorer) {
		r = say(err, cap, ENOTSUP, "the C library of process %d is not one fntrace knows",
			pid);
		goto out;
	}
	r = inject(&t, pick_thread(pid), &p, gadget, restorer, &area, err, cap);
	if (r < 0)
		goto out;
	r = wait_loaded(pid, area, err, cap);
out:
	free(text);
	free(t.objs);
	return r;
}

/*
 * One attach at a time per process: two fntrace commands (a 'record -p'
 * and a 'ctl -p' started together) would both find no runtime, and the
 * second one's ptrace would fail against the first's.  The lock is an
 * abstract socket name, which the kernel frees when its holder dies.
 * Returns the socket (close it to unlock), or -errno.
 */
static int attach_lock(int pid)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	long end = now_ms() + ATTACH_TIMEOUT_MS;
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			  (size_t)snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1,
					   "fntrace-attach-%d", pid));
	while (bind(fd, (struct sockaddr *)&a, len) < 0) {
		if (errno != EADDRINUSE || now_ms() > end) {
			int e = errno == EADDRINUSE ? ETIMEDOUT : errno;

			close(fd);
			return -e;
		}
		usleep(5000);
	}
	return fd;
}

static int hex5(const char *s, uint8_t out[5])
{
	for (int i = 0; i < 5; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return s[10] == 0 || s[10] == ' ' ? 0 : -1;
}

/*
 * The runtime of an attach hears of objects loaded and unloaded later
 * through the dynamic linker's debugger hook, once five bytes there are a
 * call (see src/arch/x86_64/rbrk.c).  It checked them and says which in
 * HELLO; they are written with every other thread stopped (the agent's
 * excepted: it never runs the hook), then the runtime is told.  Without
 * it the attach still holds, and later objects go untraced: said once.
 */
static void arm_rbrk(struct fnt_ctl_conn *c, int pid)
{
	char err[256], a[24], o[16], n[16];
	const char *body;
	uint8_t old[5], new_[5];
	uint64_t addr;
	uint32_t len;
	int r;

	if (!c->rbrk[0] || !strcmp(c->rbrk, "armed"))
		return;
	if (sscanf(c->rbrk, "%23s %15s %15s", a, o, n) != 3 || hex5(o, old) || hex5(n, new_)) {
		fprintf(stderr, "fntrace: process %d: a bad rbrk in its HELLO: objects it loads "
			"from now on are not traced\n", pid);
		return;
	}
	addr = strtoull(a, NULL, 16);
	r = fnt__poke_stopped(pid, "fntrace-agent", addr, old, new_, 5, err, sizeof(err));
	if (r == 0)
		r = fnt__ctl_call(c, FNT_CTL_ARM, "", 0, -1, 5000, &body, &len, err, sizeof(err));
	if (r < 0 && ended(pid))
		fprintf(stderr, "fntrace: process %d ended\n", pid);
	else if (r < 0)
		fprintf(stderr, "fntrace: process %d: %s: objects it loads from now on are not "
			"traced\n", pid, err);
}

int fnt__ctl_open_attach(struct fnt_ctl_conn *c, int pid, char *err, size_t cap)
{
	long end;
	int r = fnt__ctl_open(c, pid, err, cap), lock;

	if (r == 0 && c->rbrk[0] && strcmp(c->rbrk, "armed")) {
		/* Attached before, and the hook is not written yet. */
		lock = attach_lock(pid);
		if (lock >= 0) {
			arm_rbrk(c, pid);
			close(lock);
		}
		return 0;
	}
	if (r != -ENOENT || fnt__proc_has_runtime(pid) != 0)
		return r;
	lock = attach_lock(pid);
	if (lock < 0)
		return say(err, cap, -lock, "another attach to process %d does not finish", pid);
	/* Another fntrace may have attached while we waited. */
	r = fnt__proc_has_runtime(pid) == 0 ? fnt__attach(pid, err, cap) : 0;
	close(lock);
	if (r < 0)
		return r;
	/* The agent makes its socket as it starts. */
	end = now_ms() + ATTACH_TIMEOUT_MS;
	do {
		r = fnt__ctl_open(c, pid, err, cap);
		if (r != -ENOENT)
			break;
		usleep(2000);
	} while (now_ms() < end);
	if (r == 0)
		arm_rbrk(c, pid);
	return r;
}
