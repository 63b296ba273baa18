/*
 * cmd_record.c - 'fntrace record': runs a program with the runtime injected
 * and drains its rings into a trace file.
 *
 * The fntrace process creates the shared region (ring/shm.h), starts the
 * program with LD_PRELOAD and LD_AUDIT naming libfntrace.so and FNTRACE_*
 * naming the region and the filters, and then loops:
 *
 *   reap children -> copy new images/objects (with their symbol tables)
 *   -> copy committed words of every ring -> sleep on the kick futex
 *
 * The drain itself is src/cli/consumer.c, shared with the other commands
 * that record.  fntrace is a child subreaper, so every descendant ends up
 * reaped here and the recording ends when the last traced process is gone.  Rings of a process
 * that died (even by SIGKILL) are still drained: the words are in the
 * shared file, not in the dead process.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/consumer.h"
#include "cli/region.h"
#include "cli/tracefile.h"
#include "core/filter.h"
#include "ring/clock.h"
#include "ring/ring.h"
#include "runtime/recorder.h"

#define DEFAULT_BUFSIZE (1u << 20)
/* --drain-timeout: how long a lossless writer waits for a drain before its
 * process stops recording (a recorder stopped by SIGSTOP, or hung). */
#define DEFAULT_STALL_MS 10000

void fnt__record_usage(const char *cmd, FILE *f)
{
	static const char live_demangle_help[] =
		"  --demangle STYLE          C++ names: simple (default: scopes and names,\n"
		"                            as in ns::Cls::method), full (as c++filt)\n"
		"                            or no (mangled)\n";

	fprintf(f,
		"usage: fntrace %s [options] [--] PROG [ARGS...]\n"
		"       fntrace %s [options] -p PID[,PID...] [-d DURATION]\n"
		"%s\n"
		"  -o PATH                   trace file (default fntrace.data)\n"
		"  --tracer function|function_graph\n"
		"                            entries only, or entries and returns (default)\n"
		"  -F, --filter GLOB         trace only matching functions (repeatable)\n"
		"  -N, --notrace GLOB        do not trace matching functions (repeatable)\n"
		"  -D, --depth N             function_graph: at most N nested levels\n"
		"  -t, --time-threshold DUR  function_graph: keep calls at least DUR long (e.g. 5us)\n"
		"  --buffer-size SIZE        ring size per thread (default 1M)\n"
		"  --mode lossless|overwrite|drop\n"
		"                            when a ring is full: wait for the drain (default),\n"
		"                            keep the newest events, or keep the oldest\n"
		"  --no-follow-fork          do not trace children and the programs they exec\n"
		"  --follow-daemons          once PROG has exited, keep recording the processes\n"
		"                            it left in other sessions (daemons) until they end\n"
		"  -p, --pid PID[,PID...]    record running processes that have the runtime\n"
		"                            (fntrace run, fntrace record, LD_PRELOAD); their\n"
		"                            sites are patched now and NOPs again at the end\n"
		"  -d, --duration DUR        with -p: stop after DUR (else at Ctrl-C or when\n"
		"                            the processes end)\n"
		"  --drain-timeout DUR       lossless: a process waits at most DUR for fntrace\n"
		"                            to drain its buffers, then goes on untraced\n"
		"                            (default 10s; 0: as long as fntrace lives)\n"
		"%s"
		"GLOB follows ftrace's set_ftrace_filter: 'a*,b?', '!x', 'f:mod:libfoo*'.\n"
		"A GLOB not starting with _Z also matches C++ names demangled, in the simple\n"
		"form ('Lexer::*') and the full one ('Lexer::Read(int)').\n"
		"The exit status is PROG's own, or 128+signal if it was killed; 130 if Ctrl-C\n"
		"(SIGINT) stopped the recording before PROG ended (PROG goes on, untraced).\n",
		cmd, cmd,
		strcmp(cmd, "live") == 0 ? "Runs PROG, records its function calls, then replays them."
					 : "Runs PROG and records its function calls into a trace file.",
		strcmp(cmd, "live") == 0 ? live_demangle_help : "");
}

static int append_glob(char *dst, size_t cap, const char *g)
{
	size_t l = strlen(dst);

	if (l + strlen(g) + 2 > cap)
		return -1;
	if (l)
		dst[l++] = ',';
	strcpy(dst + l, g);
	return 0;
}

static int parse_pids(const char *cmd, const char *arg, struct fnt_rec_opts *o)
{
	const char *p = arg;

	while (*p) {
		char *end;
		long v;

		errno = 0;
		v = strtol(p, &end, 10);
		if (errno || end == p || v <= 0 || v > 0x3fffffff || (*end && *end != ','))
			return fnt__usage_error(cmd, "bad pid list '%s' (PID[,PID...])", arg), -1;
		for (int i = 0; i < o->npids; i++)
			if (o->pids[i] == (int)v)
				return fnt__usage_error(cmd, "pid %ld given twice", v), -1;
		if (o->npids == (int)(sizeof(o->pids) / sizeof(o->pids[0])))
			return fnt__usage_error(cmd, "too many pids (at most 64)"), -1;
		o->pids[o->npids++] = (int)v;
		if (*end == ',' && !end[1])
			return fnt__usage_error(cmd, "bad pid list '%s' (PID[,PID...])", arg), -1;
		p = *end ? end + 1 : end;
	}
	if (!o->npids)
		return fnt__usage_error(cmd, "bad pid list '%s' (PID[,PID...])", arg), -1;
	return 0;
}

int fnt__record_parse(const char *cmd, int argc, char **argv, struct fnt_rec_opts *o, int *help)
{
	enum { O_TRACER = 256, O_BUF, O_MODE, O_NOFORK, O_DAEMONS, O_DRAIN, O_DEMANGLE };
	static const struct option lopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "tracer", required_argument, NULL, O_TRACER },
		{ "filter", required_argument, NULL, 'F' },
		{ "notrace", required_argument, NULL, 'N' },
		{ "depth", required_argument, NULL, 'D' },
		{ "time-threshold", required_argument, NULL, 't' },
		{ "buffer-size", required_argument, NULL, O_BUF },
		{ "mode", required_argument, NULL, O_MODE },
		{ "no-follow-fork", no_argument, NULL, O_NOFORK },
		{ "follow-daemons", no_argument, NULL, O_DAEMONS },
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "drain-timeout", required_argument, NULL, O_DRAIN },
		{ "demangle", required_argument, NULL, O_DEMANGLE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->out = "fntrace.data";
	o->tracer = FNT_TRACER_GRAPH;
	o->bufsize = DEFAULT_BUFSIZE;
	o->mode = FNT_MODE_LOSSLESS;
	o->follow_fork = 1;
	o->stall_ms = DEFAULT_STALL_MS;
	*help = 0;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+o:F:N:D:t:p:d:h", lopts, NULL)) != -1) {
		char *end;
		unsigned long v;

		switch (c) {
		case 'o':
			o->out = optarg;
			break;
		case O_TRACER:
			if (strcmp(optarg, "function") == 0)
				o->tracer = FNT_TRACER_FUNCTION;
			else if (strcmp(optarg, "function_graph") == 0)
				o->tracer = FNT_TRACER_GRAPH;
			else
				return fnt__usage_error(cmd, "unknown tracer '%s' (function or function_graph)", optarg), -1;
			break;
		case 'F':
			if (append_glob(o->filter, sizeof(o->filter), optarg) < 0)
				return fnt__usage_error(cmd, "filter too long"), -1;
			break;
		case 'N':
			if (append_glob(o->notrace, sizeof(o->notrace), optarg) < 0)
				return fnt__usage_error(cmd, "notrace filter too long"), -1;
			break;
		case 'D':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || v == 0 || v > 100000)
				return fnt__usage_error(cmd, "bad depth '%s' (a number from 1)", optarg), -1;
			o->depth = (uint32_t)v;
			break;
		case 't':
			if (fnt__parse_duration(optarg, &o->thresh_ns) < 0)
				return fnt__usage_error(cmd, "bad duration '%s' (e.g. 5us, 2ms)", optarg), -1;
			break;
		case O_BUF:
			if (fnt__parse_size(optarg, &o->bufsize) < 0 || o->bufsize < 16384 ||
			    o->bufsize > (1ull << 30))
				return fnt__usage_error(cmd, "bad buffer size '%s' (16K to 1G)", optarg), -1;
			break;
		case O_MODE:
			if (strcmp(optarg, "lossless") == 0)
				o->mode = FNT_MODE_LOSSLESS;
			else if (strcmp(optarg, "overwrite") == 0)
				o->mode = FNT_MODE_OVERWRITE;
			else if (strcmp(optarg, "drop") == 0)
				o->mode = FNT_MODE_DROP;
			else
				return fnt__usage_error(cmd, "unknown mode '%s' (lossless, overwrite or drop)", optarg), -1;
			break;
		case O_NOFORK:
			o->follow_fork = 0;
			break;
		case O_DAEMONS:
			o->follow_daemons = 1;
			break;
		case 'p':
			if (parse_pids(cmd, optarg, o) < 0)
				return -1;
			break;
		case 'd':
			if (fnt__parse_duration(optarg, &o->duration_ns) < 0 || !o->duration_ns)
				return fnt__usage_error(cmd, "bad duration '%s' (e.g. 10s, 500ms)", optarg), -1;
			break;
		case O_DEMANGLE:	/* how live prints names; record prints none */
			if (strcmp(cmd, "live") != 0)
				return fnt__usage_error(cmd, "--demangle is an option of the commands "
							"that print names (live, replay, report...)"), -1;
			if (fnt__opt_demangle(cmd, optarg))
				return -1;
			break;
		case O_DRAIN: {
			uint64_t ns;

			if (fnt__parse_duration(optarg, &ns) < 0 || ns / 1000000 > UINT32_MAX ||
			    (ns && ns < 1000000))
				return fnt__usage_error(cmd, "bad drain timeout '%s' (e.g. 10s; 0: none)", optarg), -1;
			o->stall_ms = (uint32_t)(ns / 1000000);
			break;
		}
		case 'h':
			*help = 1;
			return optind;
		default:
			return fnt__bad_option(cmd, argv, optind, optopt), -1;
		}
	}
	/* Checked here, once, rather than by every traced process. */
	for (int k = 0; k < 2; k++) {
		const char *f = k ? o->notrace : o->filter;
		struct fnt_filter flt;
		char err[256];

		if (!f[0])
			continue;
		if (fnt_filter_parse(&flt, f, err, sizeof(err)) < 0)
			return fnt__usage_error(cmd, "%s", err), -1;
		fnt_filter_free(&flt);
	}
	if (o->npids && optind < argc)
		return fnt__usage_error(cmd, "give either -p PID or a program, not both"), -1;
	if (o->npids && o->follow_daemons)
		return fnt__usage_error(cmd, "--follow-daemons is for a program started by fntrace"), -1;
	if (!o->npids && o->duration_ns)
		return fnt__usage_error(cmd, "-d is for -p PID (a program is recorded until it ends)"), -1;
	if (!o->npids && optind >= argc)
		return fnt__usage_error(cmd, "no program given"), -1;
	return optind;
}

/*
 * Finding things.
 */
int fnt__find_lib(char *out, size_t len)
{
	char self[PATH_MAX - 64], *slash;
	const char *env = getenv("FNTRACE_LIB");
	ssize_t n;

	if (env && *env) {
		snprintf(out, len, "%s", env);
		return access(out, R_OK) == 0 ? 0 : -ENOENT;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -ENOENT;
	self[n] = 0;
	slash = strrchr(self, '/');
	*slash = 0;
	snprintf(out, len, "%s/libfntrace.so", self);
	if (access(out, R_OK) == 0)
		return 0;
	snprintf(out, len, "%s/../lib/libfntrace.so", self);
	if (access(out, R_OK) == 0) {
		char real[PATH_MAX];

		if (realpath(out, real))
			snprintf(out, len, "%s", real);
		return 0;
	}
	return -ENOENT;
}

/* Resolves prog like execvp would.  Returns 0 or -errno. */
int fnt__find_prog(const char *prog, char *out, size_t len)
{
	const char *path = getenv("PATH");
	struct stat st;

	if (strchr(prog, '/')) {
		if (stat(prog, &st) < 0)
			return -errno;
		if (!S_ISREG(st.st_mode))
			return -EACCES;
		if (access(prog, X_OK) < 0)
			return -errno;
		snprintf(out, len, "%s", prog);
		return 0;
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path;; p++) {
		const char *e = strchr(p, ':');
		size_t dl = e ? (size_t)(e - p) : strlen(p);

		snprintf(out, len, "%.*s%s%s", (int)dl, p, dl ? "/" : "", prog);
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return 0;
		if (!e)
			break;
		p = e;
	}
	return -ENOENT;
}


/*
 * Running the program.
 */

/* A program that gains privileges at exec (set-user-ID or set-group-ID to
 * someone else, file capabilities) runs in secure-execution mode: the
 * dynamic linker ignores LD_PRELOAD and LD_AUDIT paths, and the runtime, if
 * the program links it, ignores FNTRACE_* (util/env.h), so that the user
 * running it cannot make a privileged process write into a file of the
 * user's choosing.  Nothing of it is traced: say so rather than let the
 * user wonder.  Returns what makes it privileged, or NULL. */
const char *fnt__gains_privileges(const char *prog)
{
	struct stat st;

	if (stat(prog, &st) < 0)
		return NULL;
	if ((st.st_mode & S_ISUID) && st.st_uid != geteuid())
		return "set-user-ID";
	if ((st.st_mode & S_ISGID) && (st.st_mode & S_IXGRP) && st.st_gid != getegid())
		return "set-group-ID";
	if (getuid() != 0 && getxattr(prog, "security.capability", NULL, 0) > 0)
		return "given file capabilities";
	return NULL;
}
/* The runtime enters a program through the dynamic loader (LD_PRELOAD,
 * LD_AUDIT): a statically linked program has none and a 32-bit one would
 * need a 32-bit runtime, which does not exist.  Both run untraced; say why
 * rather than suggest the program was built without the flags.  Reads the
 * ELF header and program headers of prog; returns what is wrong, or NULL
 * (also for scripts and whatever is not ELF: the loader may find ELF
 * further on). */
static const char *not_traceable(const char *prog)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd = open(prog, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	const char *why = NULL;

	if (fd < 0)
		return NULL;
	if (pread(fd, &eh, sizeof(eh), 0) < EI_NIDENT || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
		goto out;
	if (eh.e_ident[EI_CLASS] != ELFCLASS64) {
		why = "a 32-bit program: only x86-64 programs can be traced";
		goto out;
	}
	if (eh.e_machine != EM_X86_64) {
		why = "not an x86-64 program: only x86-64 programs can be traced";
		goto out;
	}
	if (eh.e_phentsize != sizeof(ph) || eh.e_phnum > 4096)
		goto out;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * sizeof(ph))) !=
		    (ssize_t)sizeof(ph))
			goto out;
		if (ph.p_type == PT_INTERP)
			goto out;	/* dynamically linked */
	}
	why = "statically linked: without a dynamic loader the runtime cannot be loaded "
	      "(LD_PRELOAD is ignored)";
out:
	close(fd);
	return why;
}

static volatile sig_atomic_t child_pid, stop_sig;

static void forward(int sig)
{
	/* SIGINT ends the recording, as in perf record and strace: the
	 * trace is finished and the program left alone (a terminal's Ctrl-C
	 * reaches it on its own, through the process group; one sent to
	 * fntrace alone is not passed on).  It is installed with
	 * SA_RESETHAND: a second one kills fntrace. */
	if (sig == SIGINT) {
		stop_sig = sig;
		return;
	}
	/* SIGQUIT from a terminal reaches the program on its own; fntrace
	 * outlives it to write the file. */
	if (sig != SIGQUIT && child_pid > 0)
		kill(child_pid, sig);
}

/* Once the program has exited, fntrace (the subreaper) is the parent of
 * whatever it left behind.  Processes in fntrace's own session are waited
 * for (a pipeline's stragglers, a child still writing); those in another
 * session are daemons, which may run for ever: unless --follow-daemons,
 * the recording does not wait for them.  Returns how many children are
 * left in other sessions if none is left in ours (their pids, up to npids,
 * in pids), else -1. */
static int only_daemons_left(int *pids, int npids)
{
	pid_t self = getpid(), sid = getsid(0);
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char path[64], buf[512], *p;
		int ppid, psid, pid = atoi(de->d_name);
		char state;
		ssize_t len;
		int fd;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = 0;
		/* "pid (comm) state ppid pgrp session ...": comm may hold
		 * anything, so the fields are counted from its last ')'. */
		p = strrchr(buf, ')');
		if (!p || sscanf(p + 1, " %c %d %*d %d", &state, &ppid, &psid) != 3 || ppid != self)
			continue;
		/* A zombie has ended: reaped at the next round, not waited for
		 * (the middle process of a double fork is one for a moment). */
		if (state == 'Z')
			continue;
		if (psid == sid) {
			n = -1;
			break;
		}
		if (n < npids)
			pids[n] = pid;
		n++;
	}
	closedir(d);
	return n;
}

void fnt__set_runtime_env(const char *lib)
{
	char buf[PATH_MAX * 2 + 8];
	const char *old;

	old = getenv("LD_PRELOAD");
	snprintf(buf, sizeof(buf), "%s%s%s", lib, old && *old ? ":" : "", old ? old : "");
	setenv("LD_PRELOAD", buf, 1);
	old = getenv("LD_AUDIT");
	snprintf(buf, sizeof(buf), "%s%s%s", lib, old && *old ? ":" : "", old ? old : "");
	setenv("LD_AUDIT", buf, 1);
	unsetenv(FNT_ENV_SHM);
	unsetenv(FNT_ENV_FILTER);
	unsetenv(FNT_ENV_NOTRACE);
}

static void set_env(const char *lib, const struct fnt_rec_opts *o, const char *shm)
{
	fnt__set_runtime_env(lib);
	setenv(FNT_ENV_SHM, shm, 1);
	if (o->filter[0])
		setenv(FNT_ENV_FILTER, o->filter, 1);
	if (o->notrace[0])
		setenv(FNT_ENV_NOTRACE, o->notrace, 1);
}

int fnt__record_run(const struct fnt_rec_opts *o, char **argv, int *ran)
{
	char lib[PATH_MAX], prog[PATH_MAX], *shm_path, cmdline[8192];
	struct fnt_region rg;
	struct fnt_shm_hdr *h = NULL;
	struct fnt_tf_writer w;
	struct fnt_tf_clock ck;
	struct fnt_tf_end end;
	struct fnt_consumer d;
	const char *why;
	struct sigaction sa;
	int err, pipefd[2], status = 0, have_status = 0, ret = 1, daemons[8], ndaemons = 0;
	uint64_t stop_at = 0, last_scan = 0;
	pid_t pid;
	ssize_t r;

	*ran = 0;
	if (fnt__find_lib(lib, sizeof(lib)) < 0) {
		fprintf(stderr, "fntrace: cannot find libfntrace.so next to the fntrace binary "
				"or in ../lib (set FNTRACE_LIB)\n");
		return 1;
	}
	err = fnt__find_prog(argv[0], prog, sizeof(prog));
	if (err < 0) {
		if (err == -ENOENT && !strchr(argv[0], '/'))
			fprintf(stderr, "fntrace: cannot run '%s': command not found\n", argv[0]);
		else
			fprintf(stderr, "fntrace: cannot run '%s': %s\n", argv[0], strerror(-err));
		return 127;
	}
	if ((why = fnt__gains_privileges(prog)))
		fprintf(stderr, "fntrace: warning: '%s' is %s: it runs with privileges of its own "
				"and is not traced\n", argv[0], why);
	else if ((why = not_traceable(prog)))
		fprintf(stderr, "fntrace: warning: '%s' is %s; it runs untraced\n", argv[0], why);

	if (fnt__region_create(o, getpid(), &rg) < 0)
		return 1;
	fnt__region_calibrate(&rg);
	h = rg.h;
	shm_path = rg.path;
	ck = rg.ck;
	err = fnt__tf_create(&w, o->out);
	if (err < 0) {
		fprintf(stderr, "fntrace: cannot create '%s': %s\n", o->out, strerror(-err));
		goto out_shm;
	}
	cmdline[0] = 0;
	for (size_t i = 0, n = 0; argv[i] && n < sizeof(cmdline) - 256; i++)
		n += snprintf(cmdline + n, sizeof(cmdline) - n, "%s%s", i ? " " : "", argv[i]);
	fnt__region_write_info(&w, o, cmdline, ck.kind, NULL);
	fnt__tf_write(&w, FNT_TF_CLOCK, (struct iovec[]){ { &ck, sizeof(ck) } }, 1);

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		fprintf(stderr, "fntrace: pipe: %s\n", strerror(errno));
		goto out_file;
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "fntrace: fork: %s\n", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		goto out_file;
	}
	if (pid == 0) {
		int e;

		close(pipefd[0]);
		/* Set before exec: the runtime's constructor compares it with
		 * its pid to tell the program from its children. */
		h->root_pid = getpid();
		set_env(lib, o, shm_path);
		execv(prog, argv);
		e = errno;
		if (write(pipefd[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	child_pid = pid;
	close(pipefd[1]);
	do
		r = read(pipefd[0], &err, sizeof(err));
	while (r < 0 && errno == EINTR);
	close(pipefd[0]);
	if (r == sizeof(err)) {
		fprintf(stderr, "fntrace: cannot run '%s': %s\n", argv[0], strerror(err));
		waitpid(pid, NULL, 0);
		ret = 127;
		fnt__tf_discard(&w);
		goto out_shm;
	}

	*ran = 1;
	/* The program runs: the file takes its place now, so that even a
	 * SIGKILL of fntrace leaves the records written until then at -o. */
	fnt__tf_publish(&w);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGQUIT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_flags |= SA_RESETHAND;
	sigaction(SIGINT, &sa, NULL);

	if (fnt__consumer_init(&d, h, &rg.lay, shm_path, &w) < 0) {
		fprintf(stderr, "fntrace: out of memory\n");
		exit(1);
	}
	for (;;) {
		uint32_t kick = __atomic_load_n(&h->kick, __ATOMIC_ACQUIRE);
		uint64_t now = fnt_clock_mono_ns();
		int st, children = 1;
		pid_t p;

		if (stop_sig && !stop_at)
			/* A terminal's Ctrl-C also reached the program: a moment
			 * to end and be recorded whole, exit status included. */
			stop_at = now + 300000000ull;
		if (stop_at && (have_status || now >= stop_at))
			break;

		while ((p = waitpid(-1, &st, WNOHANG)) != 0) {
			if (p < 0) {
				if (errno == EINTR)
					continue;
				children = 0;	/* ECHILD: every traced process is gone */
				break;
			}
			if (p == pid && (WIFEXITED(st) || WIFSIGNALED(st))) {
				status = st;
				have_status = 1;
			}
		}
		if (!children)
			break;
		if (have_status && !o->follow_daemons && now - last_scan >= 50000000ull) {
			last_scan = now;
			ndaemons = only_daemons_left(daemons, 8);
			if (ndaemons > 0)
				break;
		}
		if (fnt__consumer_drain(&d, 0) == 0) {
			struct timespec to = { 0, 2000000 };

			/* Woken by a writer past half a ring, else every 2 ms. */
			syscall(SYS_futex, &h->kick, FUTEX_WAIT, kick, &to, NULL, 0);
		}
	}
	fnt__consumer_drain(&d, 1);

	fnt__clock_sample(ck.kind, &ck.b);
	fnt__tf_write(&w, FNT_TF_CLOCK, (struct iovec[]){ { &ck, sizeof(ck) } }, 1);
	memset(&end, 0, sizeof(end));
	/* Counters in shared memory may hold anything: the sums saturate. */
	end.lost_noslot = h->lost_noslot + h->lost_noreader;
	if (end.lost_noslot < h->lost_noslot)
		end.lost_noslot = UINT64_MAX;
	if (end.lost_noslot + h->lost_nomem < end.lost_noslot)
		end.lost_noslot = UINT64_MAX;
	else
		end.lost_noslot += h->lost_nomem;
	end.events = d.events;
	end.lost = d.lost + end.lost_noslot;
	if (end.lost < d.lost)
		end.lost = UINT64_MAX;
	end.damaged = d.damaged;
	end.lost_unwritten = d.unwritten;
	end.duration_ns = ck.b.ns - ck.a.ns;
	end.status = status;
	end.nprocs = d.images_seen;
	if (stop_at && !have_status)
		end.stopped_by = SIGINT;
	fnt__tf_write(&w, FNT_TF_END, (struct iovec[]){ { &end, sizeof(end) } }, 1);
	if (w.err && !d.write_failed)
		fprintf(stderr, "fntrace: writing '%s' failed: %s\n", o->out, strerror(-w.err));
	if (d.damaged) {
		char pids[128] = "";
		size_t n = 0;

		for (unsigned k = 0; k < d.ndamaged_pids && n < sizeof(pids) - 16; k++)
			n += snprintf(pids + n, sizeof(pids) - n, "%s%d", k ? ", " : "",
				      d.damaged_pids[k]);
		fprintf(stderr, "fntrace: the shared recording buffers were overwritten by a traced "
				"process (%llu finding%s; data of pid %s): the trace is damaged\n",
			(unsigned long long)d.damaged, d.damaged == 1 ? "" : "s",
			d.ndamaged_pids && n ? pids : "unknown");
	}
	if (!end.events && !end.lost && !why)
		fprintf(stderr, "fntrace: no traced call recorded: was '%s' built with the flags of "
				"'fntrace cflags', and does the filter match?\n", argv[0]);
	if (h->nomem_threads)
		fprintf(stderr, "fntrace: /dev/shm (%llu KB) had no room for the rings of %u "
				"threads (%llu KB each): their %llu events are lost; use a smaller "
				"--buffer-size or enlarge /dev/shm\n",
			(unsigned long long)(fnt__shm_bytes(1) / 1024), h->nomem_threads,
			(unsigned long long)(h->ring_words * 8 / 1024),
			(unsigned long long)h->lost_nomem);
	if (end.lost)
		fprintf(stderr, "fntrace: %llu events lost (of %llu); see 'fntrace info -i %s'\n",
			(unsigned long long)end.lost, (unsigned long long)(end.lost + end.events),
			o->out);
	if (end.stopped_by)
		fprintf(stderr, "fntrace: recording stopped by SIGINT; '%s' (pid %d) goes on untraced\n",
			argv[0], (int)pid);
	if (ndaemons > 0) {
		char pids[128] = "";
		size_t n = 0;

		for (int k = 0; k < ndaemons && k < 8 && n < sizeof(pids) - 16; k++)
			n += snprintf(pids + n, sizeof(pids) - n, "%s%d", k ? ", " : "", daemons[k]);
		fprintf(stderr, "fntrace: '%s' exited; %d process%s it left in another session "
				"(pid %s%s) %s not recorded further (--follow-daemons waits for them)\n",
			argv[0], ndaemons, ndaemons == 1 ? "" : "es", pids, ndaemons > 8 ? ", ..." : "",
			ndaemons == 1 ? "is" : "are");
	}
	fnt__consumer_fini(&d);
	if (end.stopped_by)
		ret = 128 + SIGINT;
	else if (!have_status)
		ret = 1;
	else if (WIFEXITED(status))
		ret = WEXITSTATUS(status);
	else
		ret = 128 + WTERMSIG(status);
	if (fnt__tf_finish(&w) < 0 && ret == 0)
		ret = 1;
	goto out_shm;

out_file:
	fnt__tf_discard(&w);
out_shm:
	fnt__region_destroy(&rg);
	return ret;
}

int fnt__cmd_record(int argc, char **argv)
{
	struct fnt_rec_opts o;
	int help, i = fnt__record_parse("record", argc, argv, &o, &help);

	if (help) {
		fnt__record_usage("record", stdout);
		return 0;
	}
	if (i < 0)
		return 2;
	if (o.npids)
		return fnt__record_pids(&o, NULL);
	return fnt__record_run(&o, argv + i, &help);
}
