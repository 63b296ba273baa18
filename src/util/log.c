/*
 * log.c - one write(2) per diagnostic line, to stderr, prefixed "fntrace: ".
 *
 * The runtime logs from inside hooks (a thread that finds no ring, a
 * broken shadow stack), where the traced function's vector arguments are
 * live in registers the trampoline does not save.  libc's formatting and
 * string routines use those registers (glibc picks AVX2 or AVX-512 copies
 * of strchrnul, memcpy and the like at load time), so the lines are
 * formatted here, with integer code only and no libc call but syscall().
 */
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/log.h"
#include "util/sys.h"

int fnt__verbose;

struct out {
	char *p;
	size_t n, cap;		/* cap includes the final NUL */
};

static void put(struct out *o, char c)
{
	if (o->n + 1 < o->cap)
		o->p[o->n] = c;
	o->n++;
}

/* s, at most prec characters (all if prec < 0), in width columns: on the
 * right, or on the left if left. */
static void put_str(struct out *o, const char *s, long prec, int width, int left)
{
	long len = 0;

	if (!s)
		s = "(null)";
	while (s[len] && (prec < 0 || len < prec))
		len++;
	if (!left)
		for (; width > len; width--)
			put(o, ' ');
	for (long i = 0; i < len; i++)
		put(o, s[i]);
	for (; width > len; width--)
		put(o, ' ');
}

/* Unsigned v in base 10 or 16, in width columns: padded with pad on the
 * left, or with spaces on the right if left. */
static void put_num(struct out *o, uint64_t v, unsigned base, int width, char pad, int left,
		    const char *prefix, int neg)
{
	char d[24];
	int k = 0, len;

	do {
		d[k++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	len = k + neg + (prefix ? 2 : 0);
	if (left)
		pad = 0;
	if (pad == ' ')
		for (; width > len; width--)
			put(o, ' ');
	if (neg)
		put(o, '-');
	if (prefix) {
		put(o, prefix[0]);
		put(o, prefix[1]);
	}
	if (pad == '0')
		for (; width > len; width--)
			put(o, '0');
	while (k)
		put(o, d[--k]);
	for (; width > len; width--)
		put(o, ' ');
}

int fnt__vformat(char *buf, size_t cap, const char *fmt, va_list ap)
{
	struct out o = { buf, 0, cap };

	for (const char *f = fmt; *f; f++) {
		int alt = 0, width = 0, lng = 0, left = 0;
		long prec = -1;
		char pad = ' ';
		uint64_t u;
		int64_t s;

		if (*f != '%') {
			put(&o, *f);
			continue;
		}
		f++;
		for (;; f++) {
			if (*f == '#')
				alt = 1;
			else if (*f == '0')
				pad = '0';
			else if (*f == '-')
				left = 1;
			else if (*f == '+' || *f == ' ')
				;	/* accepted, not honoured: no runtime line needs them */
			else
				break;
		}
		if (*f == '*') {
			width = va_arg(ap, int);
			if (width < 0) {
				left = 1;
				width = -width;
			}
			f++;
		}
		for (; *f >= '0' && *f <= '9'; f++)
			width = width * 10 + (*f - '0');
		if (*f == '.') {
			f++;
			prec = 0;
			if (*f == '*') {
				prec = va_arg(ap, int);
				f++;
			}
			for (; *f >= '0' && *f <= '9'; f++)
				prec = prec * 10 + (*f - '0');
		}
		for (;; f++) {
			if (*f == 'l')
				lng++;
			else if (*f == 'z' || *f == 'j' || *f == 't')
				lng = 2;
			else if (*f != 'h')
				break;
		}
		switch (*f) {
		case 'd':
		case 'i':
			s = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			u = s < 0 ? -(uint64_t)s : (uint64_t)s;
			put_num(&o, u, 10, width, pad, left, NULL, s < 0);
			break;
		case 'u':
		case 'x':
			u = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
			put_num(&o, u, *f == 'u' ? 10 : 16, width, pad, left,
				alt && *f == 'x' && u ? "0x" : NULL, 0);
			break;
		case 'p':
			put_num(&o, (uintptr_t)va_arg(ap, void *), 16, width, pad, left, "0x", 0);
			break;
		case 's':
			put_str(&o, va_arg(ap, const char *), prec, width, left);
			break;
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case '%':
			put(&o, '%');
			break;
		case 0:
			f--;	/* a lone '%' at the end */
			break;
		default:
			/* A conversion this formatter lacks: shown, not guessed. */
			put(&o, '%');
			put(&o, *f);
			break;
		}
	}
	if (cap)
		buf[o.n < cap ? o.n : cap - 1] = 0;
	return (int)(o.n < cap ? o.n : (cap ? cap - 1 : 0));
}

int fnt__format(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fnt__vformat(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}

void fnt__vlog(const char *fmt, va_list ap)
{
	static const char prefix[] = "fntrace: ";
	char buf[1536];
	int n = (int)sizeof(prefix) - 1;

	for (int i = 0; i < n; i++)
		buf[i] = prefix[i];
	n += fnt__vformat(buf + n, sizeof(buf) - n - 1, fmt, ap);
	if (buf[n - 1] != '\n')
		buf[n++] = '\n';
	/* A failed diagnostic is not worth failing for.  A raw syscall:
	 * libc's write() is a cancellation point, and a thread cancelled
	 * inside a hook would unwind through the trampoline. */
	if (fnt__sys(SYS_write, 2, buf, n) < 0)
		return;
}

void fnt__log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fnt__vlog(fmt, ap);
	va_end(ap);
}
