/*
 * cmd_ctl.c - 'fntrace ctl -p PID': the state of a process's recording, and
 * changes to it while it runs (filters, depth, time threshold) or its end.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/attach.h"
#include "cli/cli.h"
#include "cli/ctlclient.h"
#include "core/filter.h"
#include "ring/clock.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fntrace ctl -p PID [options]\n"
		"Shows the state of a process's recording; with options, changes it while it\n"
		"runs (the change is one batch: a site in the old and new sets keeps tracing).\n"
		"  -p, --pid PID              the process (it must have the fntrace runtime)\n"
		"  -F, --filter GLOB          trace only matching functions (repeatable; replaces\n"
		"                             the filter; -F '*' traces all)\n"
		"  -N, --notrace GLOB         do not trace matching functions (repeatable;\n"
		"                             replaces the list; -N '' empties it)\n"
		"  -D, --depth N              function_graph: at most N levels (0: no limit)\n"
		"  -t, --time-threshold DUR   function_graph: keep calls at least DUR long (0: all)\n"
		"  --tracer function|function_graph\n"
		"                             switch tracers (calls in flight at the switch to\n"
		"                             function are counted without a duration)\n"
		"  --stop                     end the recording: every site is a NOP again\n");
}

static int append(char *dst, size_t cap, const char *g)
{
	size_t l = strlen(dst);

	if (l + strlen(g) + 2 > cap)
		return -1;
	if (l && g[0])
		dst[l++] = ',';
	strcpy(dst + l, g);
	return 0;
}

/* Ticks of the process's clock in ns nanoseconds (a 10 ms calibration). */
static uint64_t to_ticks(int kind, uint64_t ns)
{
	struct fnt_clock_sample a, b;
	uint64_t dt, dn, t;

	if (!ns)
		return 0;
	fnt__clock_sample(kind, &a);
	nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	fnt__clock_sample(kind, &b);
	dt = b.ticks - a.ticks;
	dn = b.ns - a.ns;
	t = dn ? (uint64_t)((unsigned __int128)ns * dt / dn) : ns;
	return t ? t : 1;
}

static void print_reply(const char *b, uint32_t len)
{
	uint32_t i = 0;

	while (i < len) {
		uint32_t s = i;

		while (i < len && b[i] != '\n')
			i++;
		for (uint32_t k = s; k < i; k++)
			if (b[k] == '=') {
				printf("%-14.*s %.*s\n", (int)(k - s), b + s, (int)(i - k - 1), b + k + 1);
				break;
			}
		i++;
	}
}

int fnt__cmd_ctl(int argc, char **argv)
{
	enum { O_STOP = 256, O_TRACER };
	static const struct option lopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "filter", required_argument, NULL, 'F' },
		{ "notrace", required_argument, NULL, 'N' },
		{ "depth", required_argument, NULL, 'D' },
		{ "time-threshold", required_argument, NULL, 't' },
		{ "stop", no_argument, NULL, O_STOP },
		{ "tracer", required_argument, NULL, O_TRACER },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char filter[4096], notrace[4096], body[FNT_CTL_MAX];
	int c, pid = 0, hf = 0, hn = 0, hd = 0, ht = 0, stop = 0, ret;
	const char *tracer = NULL;
	unsigned long depth = 0;
	uint64_t thresh_ns = 0;
	struct fnt_ctl_conn cn;
	char err[600], v[32];
	const char *rb;
	uint32_t len = 0, rlen;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+p:F:N:D:t:h", lopts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'p': {
			long n;

			errno = 0;
			n = strtol(optarg, &end, 10);
			/* As record -p: a long cut to an int named another process. */
			if (errno || *end || n <= 0 || n > 0x3fffffff)
				return fnt__usage_error("ctl", "bad pid '%s'", optarg);
			pid = (int)n;
			break;
		}
		case 'F':
			hf = 1;
			if (append(filter, sizeof(filter), strcmp(optarg, "*") ? optarg : "") < 0)
				return fnt__usage_error("ctl", "filter too long");
			break;
		case 'N':
			hn = 1;
			if (append(notrace, sizeof(notrace), optarg) < 0)
				return fnt__usage_error("ctl", "notrace filter too long");
			break;
		case 'D':
			errno = 0;
			depth = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || depth > 100000)
				return fnt__usage_error("ctl", "bad depth '%s' (0 to 100000)", optarg);
			hd = 1;
			break;
		case 't':
			if (strcmp(optarg, "0") && fnt__parse_duration(optarg, &thresh_ns) < 0)
				return fnt__usage_error("ctl", "bad duration '%s' (e.g. 5us; 0: none)", optarg);
			ht = 1;
			break;
		case O_STOP:
			stop = 1;
			break;
		case O_TRACER:
			if (strcmp(optarg, "function") && strcmp(optarg, "function_graph"))
				return fnt__usage_error("ctl", "unknown tracer '%s' (function or function_graph)", optarg);
			tracer = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return fnt__bad_option("ctl", argv, optind, optopt);
		}
	}
	if (optind < argc)
		return fnt__usage_error("ctl", "unexpected argument '%s'", argv[optind]);
	if (!pid)
		return fnt__usage_error("ctl", "no process given (-p PID)");
	for (int k = 0; k < 2; k++) {
		const char *f = k ? notrace : filter;
		struct fnt_filter flt;
		char ferr[256];

		if (f[0] && fnt_filter_parse(&flt, f, ferr, sizeof(ferr)) < 0)
			return fnt__usage_error("ctl", "%s", ferr);
		if (f[0])
			fnt_filter_free(&flt);
	}
	if (stop && (hf || hn || hd || ht || tracer))
		return fnt__usage_error("ctl", "--stop takes no other change");
	if (fnt__ctl_open_attach(&cn, pid, err, sizeof(err)) < 0) {
		fprintf(stderr, "fntrace: %s\n", err);
		return 1;
	}
	if ((hf || hn || hd || ht || tracer || stop) && strcmp(cn.state, "recording") != 0) {
		fprintf(stderr, "fntrace: process %d is not being recorded (start with 'fntrace "
				"record -p %d')\n", pid, pid);
		fnt__ctl_close(&cn);
		return 1;
	}
	if (stop) {
		ret = fnt__ctl_call(&cn, FNT_CTL_STOP, "", 0, -1, 60000, &rb, &rlen, err, sizeof(err));
	} else if (hf || hn || hd || ht || tracer) {
		if (hf)
			fnt__ctl_put(body, sizeof(body), &len, "filter", filter);
		if (hn)
			fnt__ctl_put(body, sizeof(body), &len, "notrace", notrace);
		if (hd)
			fnt__ctl_put_u64(body, sizeof(body), &len, "depth", depth);
		if (tracer)
			fnt__ctl_put(body, sizeof(body), &len, "tracer", tracer);
		if (ht) {
			int kind = 0;

			ret = fnt__ctl_call(&cn, FNT_CTL_STATUS, "", 0, -1, 5000, &rb, &rlen, err,
					    sizeof(err));
			if (ret == 0 && fnt__ctl_get(rb, rlen, "clock", v, sizeof(v)) > 0)
				kind = atoi(v);
			if (kind != FNT_CLOCK_TSC && kind != FNT_CLOCK_MONO)
				kind = FNT_CLOCK_MONO;
			fnt__ctl_put_u64(body, sizeof(body), &len, "thresh_ticks", to_ticks(kind, thresh_ns));
		}
		ret = fnt__ctl_call(&cn, FNT_CTL_SET, body, len, -1, 60000, &rb, &rlen, err, sizeof(err));
	} else {
		ret = fnt__ctl_call(&cn, FNT_CTL_STATUS, "", 0, -1, 5000, &rb, &rlen, err, sizeof(err));
	}
	if (ret < 0) {
		fprintf(stderr, "fntrace: %s\n", err);
		fnt__ctl_close(&cn);
		return 1;
	}
	print_reply(rb, rlen);
	fnt__ctl_close(&cn);
	return 0;
}
