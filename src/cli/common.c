/*
 * common.c - helpers shared by the fntrace subcommands: option errors,
 * durations and sizes, and a fast output buffer.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

int fnt__usage_error(const char *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "fntrace: %s: %s (see 'fntrace %s --help')\n", cmd, msg, cmd);
	return 2;
}

int fnt__bad_option(const char *cmd, char **argv, int optind_, int optopt_)
{
	const char *arg = argv[optind_ - 1];

	/* getopt leaves optind past the faulty word only sometimes: a short
	 * option inside a group keeps it; optopt names the letter then. */
	if (optopt_ && (!arg || arg[0] != '-' || arg[1] == '-' || !strchr(arg, optopt_)))
		arg = NULL;
	if (arg && arg[0] == '-' && arg[1] == '-') {
		const char *eq = strchr(arg, '=');
		int n = eq ? (int)(eq - arg) : (int)strlen(arg);

		return fnt__usage_error(cmd, "unknown option or missing argument '%.*s'", n, arg);
	}
	if (optopt_)
		return fnt__usage_error(cmd, "unknown option or missing argument '-%c'", optopt_);
	return fnt__usage_error(cmd, "unknown option '%s'", arg ? arg : "?");
}

int fnt__parse_duration(const char *s, uint64_t *ns)
{
	char *end;
	double v;
	double mul = 1000;	/* bare numbers are microseconds, like tracing_thresh */

	if (!s || !*s || !(isdigit((unsigned char)*s) || *s == '.'))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || v < 0)
		return -EINVAL;
	if (*end == 0 || strcmp(end, "us") == 0 || strcmp(end, "usec") == 0)
		mul = 1e3;
	else if (strcmp(end, "ns") == 0 || strcmp(end, "nsec") == 0)
		mul = 1;
	else if (strcmp(end, "ms") == 0 || strcmp(end, "msec") == 0)
		mul = 1e6;
	else if (strcmp(end, "s") == 0 || strcmp(end, "sec") == 0)
		mul = 1e9;
	else
		return -EINVAL;
	if (v * mul > 1e18)
		return -EINVAL;
	*ns = (uint64_t)(v * mul + 0.5);
	return 0;
}

int fnt__parse_size(const char *s, uint64_t *bytes)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 0: break;
	case 'k': case 'K': mul = 1ull << 10; end++; break;
	case 'm': case 'M': mul = 1ull << 20; end++; break;
	case 'g': case 'G': mul = 1ull << 30; end++; break;
	default: return -EINVAL;
	}
	if (*end == 'i')
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || v > (1ull << 40) / mul)
		return -EINVAL;
	*bytes = v * mul;
	return 0;
}

/* Writes v as exactly w digits (zero-padded) or right-aligned (space-padded). */
static char *put_num(char *p, uint64_t v, int w, char pad)
{
	for (int i = w - 1; i >= 0; i--) {
		p[i] = (i == w - 1 || v) ? (char)('0' + v % 10) : pad;
		v /= 10;
	}
	return p + w;
}

void fnt__fmt_dur(char *buf, uint64_t ns)
{
	/* Fixed point, by hand: replay prints millions of these.  Always 10
	 * characters ("123.456 us") while the value fits. */
	static const char units[3][3] = { "us", "ms", " s" };
	uint64_t scale = 1000;
	int u = 0;
	char *p = buf;

	while (u < 2 && ns >= scale * 1000) {
		scale *= 1000;
		u++;
	}
	if (ns / scale > 999) {
		snprintf(buf, 32, "%7llu %s", (unsigned long long)(ns / scale), units[u]);
		return;
	}
	p = put_num(p, ns / scale, 3, ' ');
	*p++ = '.';
	p = put_num(p, (ns % scale) * 1000 / scale, 3, '0');
	*p++ = ' ';
	*p++ = units[u][0];
	*p++ = units[u][1];
	*p = 0;
}

void fnt__out_init(struct fnt_out *o, int fd)
{
	o->cap = 1 << 20;
	o->buf = malloc(o->cap);
	if (!o->buf) {
		fprintf(stderr, "fntrace: out of memory\n");
		exit(1);
	}
	o->len = 0;
	o->fd = fd;
	o->err = 0;
}

void fnt__out_flush(struct fnt_out *o)
{
	size_t w = 0;

	while (w < o->len && !o->err) {
		ssize_t r = write(o->fd, o->buf + w, o->len - w);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			o->err = 1;	/* e.g. EPIPE from "| head": stop quietly */
		else
			w += r;
	}
	o->len = 0;
}

void fnt__out_close(struct fnt_out *o)
{
	fnt__out_flush(o);
	free(o->buf);
	o->buf = NULL;
}

void fnt__out_u64(struct fnt_out *o, uint64_t v, int width)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (width > n)
		fnt_out_spaces(o, width - n);
	fnt_out_mem(o, tmp + sizeof(tmp) - n, n);
}
