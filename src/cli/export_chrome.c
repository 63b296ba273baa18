/*
 * export_chrome.c - 'fntrace dump --chrome': Chrome's trace-event JSON
 * (the "JSON Object Format"), which Perfetto's UI, chrome://tracing and
 * speedscope open.
 *
 * Calls are B/E pairs on the thread's track ("pid", "tid"), so a call is
 * written when it begins and when it ends, never held back; calls given as
 * one event are X events.  Times are microseconds with the nanoseconds as
 * three decimals.  An E event carries in args why the call ended when it
 * did not return (unwound, exit lost, cut by the time range, still running
 * at the end); lost events are instant events where they were lost.  An
 * incomplete trace is said in otherData.partial, and the JSON stays whole.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/export.h"

/* Bytes an event repeats, made once: ,"pid":P,"tid":T of a thread, and
 * ,"name":"ESCAPED" of a function.  s has PIECE_PAD bytes more than n, so
 * a short piece is copied with one fixed-size move. */
#define PIECE_PAD 64
#define PH_AT 7			/* where a thread's piece has its event's ph */
struct piece {
	char *s;
	size_t n;
};

struct chrome {
	int first;		/* no event written yet: no comma before it */
	/* The whole microseconds of the last ts written, and their digits:
	 * events microseconds apart share them (dense traces, the ones that
	 * take time, have dozens of events per microsecond). */
	uint64_t last_us;
	char last_us_s[24];
	size_t last_us_n;
	/* Per thread id: {"ph":"?","pid":P,"tid":T,"ts": (ph at PH_AT). */
	struct piece *thr;
	struct piece *fn;	/* per function id (s NULL: not made yet) */
	size_t nfn;
};

/* Two decimal digits of 0..99. */
static const char digits2[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* v in decimal at q (up to 20 bytes); returns the end.  Written in
 * place from its last digit, two at a time. */
static char *put_u64(char *q, uint64_t v)
{
	static const uint64_t pow10[20] = {
		1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
		100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
		10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
		100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull,
	};
	/* Digits: log10 from the bit length (1233/4096 ~ log10(2)), then
	 * one comparison corrects it. */
	size_t n = (size_t)(((64 - __builtin_clzll(v | 1)) * 1233) >> 12);
	char *p;

	n += n < 20 && v >= pow10[n];
	n += !n;
	p = q + n;
	while (v >= 100) {
		unsigned r = (unsigned)(v % 100);

		v /= 100;
		p -= 2;
		memcpy(p, digits2 + 2 * r, 2);
	}
	if (v >= 10)
		memcpy(p - 2, digits2 + 2 * v, 2);
	else
		p[-1] = (char)('0' + v);
	return q + n;
}

/* Microseconds with three decimals at q: the nanoseconds, exactly. */
static inline __attribute__((always_inline)) char *put_ts(struct chrome *c, char *q, uint64_t ns)
{
	unsigned f = (unsigned)(ns % 1000);
	uint64_t us = ns / 1000;

	if (us != c->last_us || !c->last_us_n) {
		c->last_us = us;
		c->last_us_n = (size_t)(put_u64(c->last_us_s, us) - c->last_us_s);
	}
	memcpy(q, c->last_us_s, 20);	/* q has room: a fixed-size move */
	q += c->last_us_n;
	*q++ = '.';
	*q++ = (char)('0' + f / 100);
	memcpy(q, digits2 + 2 * (f % 100), 2);
	return q + 2;
}

size_t fnt__utf8_seq(const unsigned char *p)
{
	unsigned char ch = *p;
	size_t len = 0, k = 1;

	if (ch >= 0xc2 && ch <= 0xdf)
		len = 2;
	else if (ch >= 0xe0 && ch <= 0xef)
		len = 3;
	else if (ch >= 0xf0 && ch <= 0xf4)
		len = 4;
	if (!len)
		return 0;
	while (k < len && (p[k] & 0xc0) == 0x80)
		k++;
	if (k < len || (ch == 0xe0 && p[1] < 0xa0) || (ch == 0xed && p[1] >= 0xa0) ||
	    (ch == 0xf0 && p[1] < 0x90) || (ch == 0xf4 && p[1] >= 0x90))
		return 0;
	return len;
}

void fnt__json_str(struct fnt_out *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned char ch = *p;
		size_t len = 0;

		if (ch >= 0x20 && ch < 0x80 && ch != '"' && ch != '\\') {
			const unsigned char *q = p;

			while (*q >= 0x20 && *q < 0x80 && *q != '"' && *q != '\\')
				q++;
			fnt_out_mem(o, (const char *)p, (size_t)(q - p));
			p = q;
			continue;
		}
		if (ch == '"' || ch == '\\') {
			fnt_out_ch(o, '\\');
			fnt_out_ch(o, (char)ch);
			p++;
			continue;
		}
		/* A well-formed UTF-8 sequence is copied; any other byte is
		 * escaped. */
		len = fnt__utf8_seq(p);
		if (len) {
			fnt_out_mem(o, (const char *)p, len);
			p += len;
			continue;
		}
		fnt_out_mem(o, "\\u00", 4);
		fnt_out_ch(o, hex[ch >> 4]);
		fnt_out_ch(o, hex[ch & 15]);
		p++;
	}
}

static void sep(struct fnt_export *x)
{
	struct chrome *c = x->priv;

	if (c->first)
		c->first = 0;
	else
		fnt_out_mem(&x->out, ",\n", 2);
}

/* Microseconds with three decimals: the nanoseconds, exactly. */
static void ts(struct fnt_out *o, uint64_t ns)
{
	char frac[3] = { (char)('0' + ns / 100 % 10), (char)('0' + ns / 10 % 10),
			 (char)('0' + ns % 10) };

	fnt__out_u64(o, ns / 1000, 0);
	fnt_out_ch(o, '.');
	fnt_out_mem(o, frac, 3);
}

/* "ph":"?","pid":P,"tid":T: the start of every event of a thread. */
static void head(struct fnt_export *x, const struct fnt_xthread *t, char ph)
{
	struct fnt_out *o = &x->out;

	sep(x);
	fnt_out_mem(o, "{\"ph\":\"", 7);
	fnt_out_ch(o, ph);
	fnt_out_mem(o, "\",\"pid\":", 8);
	fnt__out_u64(o, (uint64_t)(t->s->pid < 0 ? 0 : t->s->pid), 0);
	fnt_out_mem(o, ",\"tid\":", 7);
	fnt__out_u64(o, (uint64_t)(t->s->tid < 0 ? 0 : t->s->tid), 0);
}

static void name(struct fnt_export *x, uint32_t fid)
{
	fnt_out_mem(&x->out, ",\"name\":\"", 9);
	fnt__json_str(&x->out, fnt_x_name(x, fid));
	fnt_out_ch(&x->out, '"');
}

/* ,"name":"..." of fid, escaped once: the first time it is written into
 * the output (with room for it, so no flush cuts it), then copied from
 * there.  NULL for a name too long for the buffer: name() writes it. */
static const struct piece *fn_piece(struct fnt_export *x, uint32_t fid)
{
	struct chrome *c = x->priv;
	struct fnt_out *o = &x->out;
	const char *nm;
	size_t start, worst;
	struct piece *pc;

	if (fid >= c->nfn) {
		size_t n = c->nfn ? c->nfn : 256;

		while (n <= fid)
			n *= 2;
		c->fn = fnt__xrealloc(c->fn, n * sizeof(*c->fn));
		memset(c->fn + c->nfn, 0, (n - c->nfn) * sizeof(*c->fn));
		c->nfn = n;
	}
	pc = &c->fn[fid];
	if (pc->s)
		return pc;
	nm = fnt_x_name(x, fid);
	worst = 6 * strlen(nm) + 16;	/* every byte as \u00XX */
	if (worst > o->cap / 2)
		return NULL;
	if (o->len + worst > o->cap)
		fnt__out_flush(o);
	start = o->len;
	name(x, fid);
	pc->n = o->len - start;
	pc->s = fnt__xrealloc(NULL, pc->n + PIECE_PAD);
	memcpy(pc->s, o->buf + start, pc->n);
	o->len = start;
	return pc;
}

/* The piece at q, which has room for PIECE_PAD bytes more. */
static inline void copy_piece(char *q, const struct piece *pc)
{
	if (pc->n <= PIECE_PAD)
		memcpy(q, pc->s, PIECE_PAD);
	else
		memcpy(q, pc->s, pc->n);
}

/* {"ph":"P","pid":P,"tid":T,"ts":TS[,"dur":D],"name":"N" of a slice, the
 * comma before it included, in one go; the caller closes it. */
static void slice_head(struct fnt_export *x, const struct fnt_xthread *t, char ph, uint64_t ns,
		       const uint64_t *dur, uint32_t fid)
{
	struct chrome *c = x->priv;
	struct fnt_out *o = &x->out;
	const struct piece *th = &c->thr[t->id], *fn = fn_piece(x, fid);
	size_t need = 2 + th->n + 24 + 7 + 24 + (fn ? fn->n : 0) + PIECE_PAD;
	char *q;

	if (o->len + need > o->cap)
		fnt__out_flush(o);
	q = o->buf + o->len;
	if (c->first) {
		c->first = 0;
	} else {
		*q++ = ',';
		*q++ = '\n';
	}
	copy_piece(q, th);
	q[PH_AT] = ph;
	q = put_ts(c, q + th->n, ns);
	if (dur) {
		memcpy(q, ",\"dur\":", 7);
		q = put_ts(c, q + 7, *dur);
	}
	if (fn) {
		copy_piece(q, fn);
		q += fn->n;
	}
	o->len = (size_t)(q - o->buf);
	if (!fn)
		name(x, fid);
}

static int chrome_open(struct fnt_export *x)
{
	struct chrome *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	c->first = 1;
	c->thr = calloc(x->nthreads + 1, sizeof(*c->thr));
	if (!c->thr) {
		free(c);
		return -1;
	}
	for (size_t i = 0; i < x->nthreads; i++) {
		const struct fnt_xthread *t = &x->threads[i];
		char b[64], *q = b;

		memcpy(q, "{\"ph\":\"?\",\"pid\":", 16);
		q = put_u64(q + 16, (uint64_t)(t->s->pid < 0 ? 0 : t->s->pid));
		memcpy(q, ",\"tid\":", 7);
		q = put_u64(q + 7, (uint64_t)(t->s->tid < 0 ? 0 : t->s->tid));
		memcpy(q, ",\"ts\":", 6);
		q += 6;
		c->thr[i].n = (size_t)(q - b);
		c->thr[i].s = fnt__xrealloc(NULL, c->thr[i].n + PIECE_PAD);
		memcpy(c->thr[i].s, b, c->thr[i].n);
	}
	x->priv = c;
	fnt_out_str(&x->out, "{\"traceEvents\":[\n");
	return 0;
}

static const char *base(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

static void chrome_thread(struct fnt_export *x, const struct fnt_xthread *t)
{
	struct fnt_out *o = &x->out;
	int seen = 0;

	/* One process_name per process: the threads before t are few
	 * (streams, not events), so a scan is enough. */
	for (const struct fnt_xthread *u = x->threads; u < t; u++)
		seen |= u->s->pid == t->s->pid;
	if (!seen) {
		head(x, t, 'M');
		fnt_out_str(o, ",\"name\":\"process_name\",\"args\":{\"name\":\"");
		fnt__json_str(o, t->exe);
		fnt_out_str(o, "\"}}");
	}
	head(x, t, 'M');
	fnt_out_str(o, ",\"name\":\"thread_name\",\"args\":{\"name\":\"");
	fnt__json_str(o, base(t->exe));
	if (t->s->tid != t->s->pid) {
		fnt_out_mem(o, " ", 1);
		fnt__out_u64(o, (uint64_t)(t->s->tid < 0 ? 0 : t->s->tid), 0);
	}
	fnt_out_str(o, "\"}}");
}

/* --srcline: "srcline":"file:line" in args (after what else it holds,
 * more says), if the function's is known.  Returns whether args is open. */
static int srcline(struct fnt_export *x, uint32_t fid, int more)
{
	const char *s = fnt__xsrcline(x, fid);

	if (!s)
		return more;
	fnt_out_str(&x->out, more ? ",\"srcline\":\"" : ",\"args\":{\"srcline\":\"");
	fnt__json_str(&x->out, s);
	fnt_out_ch(&x->out, '"');
	return 1;
}

static void chrome_begin(struct fnt_export *x, struct fnt_xthread *t, size_t depth)
{
	const struct fnt_call *c = &t->stk.c[depth];

	slice_head(x, t, 'B', c->ns, NULL, c->fid);
	if (x->srcline && srcline(x, c->fid, 0))
		fnt_out_ch(&x->out, '}');
	fnt_out_ch(&x->out, '}');
}

static void chrome_end(struct fnt_export *x, struct fnt_xthread *t, size_t depth, uint64_t ns,
		       enum fnt_xend how)
{
	static const char *const why[] = {
		[FNT_XEND_UNWOUND] = ",\"args\":{\"unwound\":true}",
		[FNT_XEND_LOST] = ",\"args\":{\"exit_lost\":true}",
		[FNT_XEND_CUT] = ",\"args\":{\"cut_by_time_range\":true}",
		[FNT_XEND_OPEN] = ",\"args\":{\"still_running\":true}",
	};

	/* The name too: viewers such as speedscope match an E to its B. */
	slice_head(x, t, 'E', ns, NULL, t->stk.c[depth].fid);
	if (how != FNT_XEND_RETURN)
		fnt_out_str(&x->out, why[how]);
	fnt_out_ch(&x->out, '}');
}

static void chrome_complete(struct fnt_export *x, struct fnt_xthread *t, uint32_t fid,
			    uint32_t obj, uint64_t start, uint64_t dur, int untimed)
{
	slice_head(x, t, 'X', start, &dur, fid);
	if (untimed)
		fnt_out_str(&x->out, ",\"args\":{\"untimed\":true");
	if ((x->srcline && srcline(x, fid, untimed)) || untimed)
		fnt_out_ch(&x->out, '}');
	fnt_out_ch(&x->out, '}');
}

static void chrome_lost(struct fnt_export *x, struct fnt_xthread *t, uint64_t ns, uint64_t n)
{
	head(x, t, 'i');
	fnt_out_mem(&x->out, ",\"ts\":", 6);
	ts(&x->out, ns);
	fnt_out_str(&x->out, ",\"s\":\"t\",\"name\":\"lost events\",\"args\":{\"lost\":");
	fnt__out_u64(&x->out, n, 0);
	fnt_out_str(&x->out, "}}");
}

static int chrome_close(struct fnt_export *x, const char *partial)
{
	struct chrome *c = x->priv;
	struct fnt_out *o = &x->out;

	fnt_out_str(o, "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{\"producer\":\"fntrace\"");
	if (partial) {
		fnt_out_str(o, ",\"partial\":\"");
		fnt__json_str(o, partial);
		fnt_out_ch(o, '"');
	}
	fnt_out_str(o, "}}\n");
	for (size_t i = 0; i < x->nthreads; i++)
		free(c->thr[i].s);
	for (size_t i = 0; i < c->nfn; i++)
		free(c->fn[i].s);
	free(c->thr);
	free(c->fn);
	free(x->priv);
	x->priv = NULL;
	return 0;
}

const struct fnt_export_ops fnt__export_chrome = {
	.open = chrome_open,
	.thread = chrome_thread,
	.begin = chrome_begin,
	.end = chrome_end,
	.complete = chrome_complete,
	.lost = chrome_lost,
	.close = chrome_close,
};
