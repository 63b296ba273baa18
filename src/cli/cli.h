/*
 * cli.h - the fntrace command's subcommands and what they share.
 *
 * Every subcommand returns the process exit status.  Errors are one line
 * on stderr, prefixed "fntrace: ".
 */
#ifndef FNT_CLI_CLI_H
#define FNT_CLI_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "core/demangle.h"

int fnt__cmd_record(int argc, char **argv);
int fnt__cmd_replay(int argc, char **argv);
int fnt__cmd_report(int argc, char **argv);
int fnt__cmd_live(int argc, char **argv);
int fnt__cmd_info(int argc, char **argv);
int fnt__cmd_run(int argc, char **argv);
int fnt__cmd_ctl(int argc, char **argv);
int fnt__cmd_ps(int argc, char **argv);
int fnt__cmd_dump(int argc, char **argv);
int fnt__cmd_flamegraph(int argc, char **argv);
int fnt__cmd_graph(int argc, char **argv);

/* cmd_record.c: finding and injecting the runtime. */
/* libfntrace.so next to the binary, in ../lib, or $FNTRACE_LIB.  0 or -ENOENT. */
int fnt__find_lib(char *out, size_t len);
/* Resolves prog as execvp would.  Returns 0 or -errno. */
int fnt__find_prog(const char *prog, char *out, size_t len);
/* "setuid" etc. if prog runs with privileges of its own, else NULL. */
const char *fnt__gains_privileges(const char *prog);
/* LD_PRELOAD and LD_AUDIT name lib (before what they named); no FNTRACE_*
 * recording variable is left: a dormant start. */
void fnt__set_runtime_env(const char *lib);

/* Record options, parsed by record and live.  Returns -1 and prints the
 * error, or the index of PROG in argv.  *help is set for --help. */
struct fnt_rec_opts {
	const char *out;
	int tracer;		/* enum fnt_tracer */
	char filter[4096], notrace[4096];
	uint32_t depth;
	uint64_t thresh_ns;
	uint64_t bufsize;
	int mode;		/* enum fnt_mode */
	int follow_fork;
	int follow_daemons;	/* wait for processes left in other sessions too */
	uint32_t stall_ms;	/* --drain-timeout */
	/* -p: running processes to record (their pids; npids 0: start PROG). */
	int pids[64];
	int npids;
	uint64_t duration_ns;	/* -d: 0 until the processes end or Ctrl-C */
};
int fnt__record_parse(const char *cmd, int argc, char **argv, struct fnt_rec_opts *o, int *help);
void fnt__record_usage(const char *cmd, FILE *f);
/* Runs argv[0..] under the recorder into o->out.  Returns the exit status
 * (the program's, 128+signal, or fntrace's own error status); *ran tells
 * whether the program ran (and a trace was written). */
int fnt__record_run(const struct fnt_rec_opts *o, char **argv, int *ran);
/* Records the running processes o->pids (remote.c) into o->out; feed, if
 * not NULL, also prints the events as they come ('live -p').  Returns the
 * exit status. */
struct fnt_livefeed;
int fnt__record_pids(const struct fnt_rec_opts *o, struct fnt_livefeed *feed);

#define FNT_DEMANGLE_HELP                                                                  \
	"  --demangle STYLE   C++ names: simple (default: scopes and names, as in\n"         \
	"                     ns::Cls::method), full (as c++filt) or no (mangled)\n"
/* Prints "fntrace: <cmd>: <msg>" and returns 2 (a usage error). */
int fnt__usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* --demangle simple|full|no: sets fnt__demangle_style (tracefile.c).
 * Returns 0, or 2 with the usage error printed. */
extern enum fnt_dem_style fnt__demangle_style;
static inline int fnt__opt_demangle(const char *cmd, const char *arg)
{
	if (fnt_dem_style_parse(arg, &fnt__demangle_style) < 0)
		return fnt__usage_error(cmd, "--demangle takes simple, full or no, not '%s'", arg);
	return 0;
}
/* The one line for an unrecognized option argv[optind - 1] (or optopt). */
int fnt__bad_option(const char *cmd, char **argv, int optind_, int optopt_);

/* "5us", "2ms", "1s", "300ns", "7" (microseconds).  Returns 0 or -EINVAL. */
int fnt__parse_duration(const char *s, uint64_t *ns);
/* "64K", "1M", "1048576".  Returns 0 or -EINVAL. */
int fnt__parse_size(const char *s, uint64_t *bytes);
/* "%7.3f us"-style duration into buf[32] (10 characters wide). */
void fnt__fmt_dur(char *buf, uint64_t ns);

/* A large buffered writer for output-heavy commands: stdio's per-call cost
 * dominates replay otherwise. */
struct fnt_out {
	char *buf;
	size_t len, cap;
	int fd;
	int err;
};

void fnt__out_init(struct fnt_out *o, int fd);
void fnt__out_flush(struct fnt_out *o);
void fnt__out_close(struct fnt_out *o);

static inline void fnt_out_mem(struct fnt_out *o, const char *s, size_t n)
{
	if (o->len + n > o->cap)
		fnt__out_flush(o);
	if (n > o->cap) {
		size_t w = 0;

		while (w < n && !o->err) {
			ssize_t r = write(o->fd, s + w, n - w);

			if (r <= 0)
				o->err = 1;
			else
				w += r;
		}
		return;
	}
	__builtin_memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static inline void fnt_out_str(struct fnt_out *o, const char *s)
{
	fnt_out_mem(o, s, __builtin_strlen(s));
}

static inline void fnt_out_ch(struct fnt_out *o, char c)
{
	if (o->len + 1 > o->cap)
		fnt__out_flush(o);
	o->buf[o->len++] = c;
}

static inline void fnt_out_spaces(struct fnt_out *o, size_t n)
{
	while (n > 0) {
		size_t k = n > 64 ? 64 : n;

		fnt_out_mem(o, "                                                                ", k);
		n -= k;
	}
}

/* Unsigned decimal right-aligned in width (0: no padding). */
void fnt__out_u64(struct fnt_out *o, uint64_t v, int width);

#endif
