/*
 * livefeed.c - printing a recording as it goes (see livefeed.h).
 *
 * The lines are replay's (cmd_replay.c): the same columns, the same names
 * (sites named from the FILE records as tracefile.c names them, C++ names
 * demangled), the same nesting and closing comments.  What replay knows
 * from the whole file, this printer learns record by record:
 *
 *  - INFO gives the tracer, the first CLOCK the tick calibration (its b is
 *    taken 10 ms after a: the last CLOCK, which replay uses, comes only at
 *    the end), FILE and OBJECT the names, STREAM a thread's TID and image;
 *  - each stream has its own decoder, restarted by a RESYNC chunk, and
 *    its own stack of open calls: at most LF_MAX_FRAMES are kept (the
 *    runtime's shadow stack is no deeper), deeper levels are only counted;
 *  - a function_graph entry is held back (one per stream) until the
 *    stream's next event: its own exit makes one "func();" line, anything
 *    else prints it as "func() {".  A flush prints what is held back;
 *  - the function tracer prints "TIMESTAMP [TID] | func <- caller", the
 *    caller named from the objects (a cache of recent callers), and the
 *    entries of a recording switched from function_graph as "func <- ?".
 *
 * Records come from the writer of this very process, but they carry what
 * traced processes wrote into shared memory: every length, count and index
 * is checked before use, as tracefile.c's reader does, and a record that
 * fails a check is ignored.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/livefeed.h"
#include "cli/tracefile.h"
#include "ring/clock.h"
#include "ring/event.h"
#include "ring/ring.h"

#define LF_MAX_INDENT 64	/* as replay: past it the level is printed */
#define LF_MAX_FRAMES 1024	/* open calls kept per stream (FNT_MAX_DEPTH) */
#define LF_SEARCH 16		/* frames an exit looks back for its entry, as replay */
#define LF_OUT_CAP (256u << 10)
#define LF_CALLERS 256		/* caller names cached (function tracer) */
#define LF_NONE 0xffffffffu

struct lf_frame {
	uint32_t obj, idx;
	uint64_t ns;
};

struct lf_file {
	uint8_t *data;		/* the FILE payload, copied */
	const struct fnt_tf_file *h;
	const uint64_t *sites;
	const struct fnt_tf_seg *segs;
	const struct fnt_tf_sym *syms;
	const char *strs;
	const char **names;	/* per site, filled lazily; owned unless in strs */
};

struct lf_obj {
	uint32_t image, obj_id;
	uint32_t file;		/* index in files, or FNT_TF_NOFILE */
	uint32_t next;		/* the image's previous object, or LF_NONE */
	uint64_t bias;
	char *path;
};

struct lf_stream {
	uint32_t id, image;
	int32_t pid, tid;
	int dec_ready;		/* dec initialized (at the first chunk) */
	int pending;		/* pend is an entry not printed yet */
	int listed;		/* in the feed's list of streams to flush */
	struct fnt_ev_decoder dec;
	uint64_t last_ns;	/* time of the last event (for events without one) */
	struct lf_frame pend;
	struct lf_frame *stk;	/* open calls at depths [0, min(depth, cap)) */
	uint32_t cap;
	uint64_t depth;
	char tid_str[16];	/* " [  1234] | " */
	size_t tid_len;
};

/* Open addressing, linear probing, at most half full; val LF_NONE = free. */
struct lf_map {
	uint64_t *keys;
	uint32_t *vals;
	size_t cap, n;		/* cap: a power of two */
};

struct lf_caller {
	uint64_t addr;
	uint32_t image;
	int valid;
	char *name;		/* NULL: no object has addr */
};

struct fnt_livefeed {
	struct fnt_out out;
	int color;
	int graph;		/* function_graph (the default, as replay's) */
	int have_info, header_done;
	int have_clock, mult_ok;
	struct fnt_tf_clock clock;
	uint64_t mult;
	uint64_t events, lost;
	struct lf_file *files;
	size_t nfiles, files_cap;
	struct lf_obj *objs;
	size_t nobjs, objs_cap;
	struct lf_map obj_map;	/* (image, obj_id) -> objs */
	struct lf_map img_map;	/* image -> its newest object */
	struct lf_stream *streams;
	size_t nstreams, streams_cap;
	struct lf_map stream_map;	/* stream id -> streams */
	uint32_t *listed;	/* streams that may hold an entry back; streams_cap long */
	size_t nlisted;
	struct lf_caller callers[LF_CALLERS];
	char unknown[64];
	char where[320];
};

/*
 * Small containers.
 */
static size_t lf_hash(uint64_t key, size_t cap)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

static uint32_t lf_map_get(const struct lf_map *m, uint64_t key)
{
	if (!m->cap)
		return LF_NONE;
	for (size_t h = lf_hash(key, m->cap); m->vals[h] != LF_NONE; h = (h + 1) & (m->cap - 1))
		if (m->keys[h] == key)
			return m->vals[h];
	return LF_NONE;
}

/* Sets key to val (new or replaced).  Returns 0 or -ENOMEM. */
static int lf_map_put(struct lf_map *m, uint64_t key, uint32_t val)
{
	size_t h;

	if ((m->n + 1) * 2 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64;
		uint64_t *nk = malloc(ncap * sizeof(*nk));
		uint32_t *nv = malloc(ncap * sizeof(*nv));

		if (!nk || !nv) {
			free(nk);
			free(nv);
			return -ENOMEM;
		}
		memset(nv, 0xff, ncap * sizeof(*nv));
		for (size_t i = 0; i < m->cap; i++) {
			if (m->vals[i] == LF_NONE)
				continue;
			for (h = lf_hash(m->keys[i], ncap); nv[h] != LF_NONE; h = (h + 1) & (ncap - 1))
				;
			nk[h] = m->keys[i];
			nv[h] = m->vals[i];
		}
		free(m->keys);
		free(m->vals);
		m->keys = nk;
		m->vals = nv;
		m->cap = ncap;
	}
	for (h = lf_hash(key, m->cap); m->vals[h] != LF_NONE; h = (h + 1) & (m->cap - 1)) {
		if (m->keys[h] == key) {
			m->vals[h] = val;
			return 0;
		}
	}
	m->keys[h] = key;
	m->vals[h] = val;
	m->n++;
	return 0;
}

static void lf_map_free(struct lf_map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* Makes room for one more element of *p (n used of *cap).  Returns 0 or
 * -ENOMEM (nothing changed). */
static int lf_grow(void **p, size_t *cap, size_t n, size_t elem)
{
	size_t ncap;
	void *q;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap > UINT32_MAX - 1)
		return -ENOMEM;	/* indices are 32-bit */
	q = realloc(*p, ncap * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = ncap;
	return 0;
}

/* The payload, read through the iovecs in order. */
struct lf_src {
	const struct iovec *iov;
	int n, i;
	size_t off;
};

/* Copies len bytes into dst.  Returns 0, or -1 when fewer remain. */
static int lf_read(struct lf_src *s, void *dst, size_t len)
{
	uint8_t *d = dst;

	while (len > 0) {
		size_t k;

		if (s->i >= s->n)
			return -1;
		k = s->iov[s->i].iov_len - s->off;
		if (k > len)
			k = len;
		if (k)
			memcpy(d, (const uint8_t *)s->iov[s->i].iov_base + s->off, k);
		d += k;
		len -= k;
		s->off += k;
		if (s->off == s->iov[s->i].iov_len) {
			s->i++;
			s->off = 0;
		}
	}
	return 0;
}

/* A NUL-terminated string of exactly len bytes (NUL included) at p. */
static int lf_valid_str(const char *p, uint64_t len)
{
	return len > 0 && p[len - 1] == 0 && memchr(p, 0, len) == p + len - 1;
}

/*
 * Names.
 */

/* The symbol of file f containing link-time address v, or NULL (as
 * tracefile.c's sym_at: symbols sorted by address). */
static const struct fnt_tf_sym *lf_sym_at(const struct lf_file *f, uint64_t v)
{
	size_t lo = 0, hi = f->h->nsyms;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (f->syms[mid].vaddr <= v)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i-- > 0 && lo - i <= 8;) {
		const struct fnt_tf_sym *s = &f->syms[i];

		if (v >= s->vaddr && (v - s->vaddr < s->size || (s->size == 0 && v == s->vaddr)))
			return s;
	}
	return NULL;
}

static const struct lf_obj *lf_obj(const struct fnt_livefeed *f, uint32_t image, uint32_t obj)
{
	uint32_t i = lf_map_get(&f->obj_map, ((uint64_t)image << 32) | obj);

	return i == LF_NONE ? NULL : &f->objs[i];
}

static int lf_owned(const struct lf_file *fl, const char *n)
{
	return n < fl->strs || n >= fl->strs + fl->h->strs_len;
}

/* Name of a site; never NULL (a placeholder when unknown), as
 * fnt__tf_site_name. */
static const char *lf_site_name(struct fnt_livefeed *f, uint32_t image, uint32_t obj, uint32_t idx)
{
	const struct lf_obj *o = lf_obj(f, image, obj);
	struct lf_file *fl = o && o->file != FNT_TF_NOFILE && o->file < f->nfiles ?
			     &f->files[o->file] : NULL;

	if (fl && idx < fl->h->nsites) {
		const char *n;

		if (!fl->names) {
			fl->names = calloc(fl->h->nsites, sizeof(*fl->names));
			if (!fl->names)
				goto unknown;
		}
		n = fl->names[idx];
		if (!n) {
			const struct fnt_tf_sym *s = lf_sym_at(fl, fl->sites[idx]);

			if (s) {
				n = fnt__tf_demangle(fl->strs + s->name);
			} else {
				char *b = malloc(32);

				if (!b)
					goto unknown;
				snprintf(b, 32, "0x%llx", (unsigned long long)fl->sites[idx]);
				n = b;
			}
			fl->names[idx] = n;
		}
		return n;
	}
unknown:
	snprintf(f->unknown, sizeof(f->unknown), "site_%u_%u", obj, idx);
	return f->unknown;
}

/* Name of the function containing addr in image ("lib.so+0xoff" without a
 * symbol there), or NULL, as fnt__tf_addr_name; the newest object first. */
static const char *lf_addr_name(struct fnt_livefeed *f, uint32_t image, uint64_t addr)
{
	uint32_t i = lf_map_get(&f->img_map, image);

	for (size_t steps = 0; i != LF_NONE && steps < f->nobjs; i = f->objs[i].next, steps++) {
		const struct lf_obj *o = &f->objs[i];
		const struct lf_file *fl;
		uint64_t v = addr - o->bias;

		if (o->file == FNT_TF_NOFILE || o->file >= f->nfiles)
			continue;
		fl = &f->files[o->file];
		for (uint32_t k = 0; k < fl->h->nsegs; k++) {
			const struct fnt_tf_seg *sg = &fl->segs[k];
			const struct fnt_tf_sym *s;
			const char *base;

			if (v < sg->vaddr || v - sg->vaddr >= sg->memsz)
				continue;
			s = lf_sym_at(fl, v);
			if (s)
				return fl->strs + s->name;
			base = strrchr(o->path, '/');
			snprintf(f->where, sizeof(f->where), "%s+0x%llx", base ? base + 1 : o->path,
				 (unsigned long long)v);
			return f->where;
		}
	}
	return NULL;
}

static void lf_forget_callers(struct fnt_livefeed *f)
{
	for (int i = 0; i < LF_CALLERS; i++) {
		free(f->callers[i].name);
		memset(&f->callers[i], 0, sizeof(f->callers[i]));
	}
}

/* The demangled name of the caller at addr, or NULL. */
static const char *lf_caller_name(struct fnt_livefeed *f, uint32_t image, uint64_t addr)
{
	struct lf_caller *c = &f->callers[lf_hash(addr ^ ((uint64_t)image << 48), LF_CALLERS)];
	const char *n, *d;

	if (c->valid && c->addr == addr && c->image == image)
		return c->name;
	free(c->name);
	memset(c, 0, sizeof(*c));
	n = lf_addr_name(f, image, addr);
	if (!n)
		d = NULL;
	else if ((d = fnt__tf_demangle(n)) == n && !(d = strdup(n)))
		return n;	/* not cached */
	c->addr = addr;
	c->image = image;
	c->name = (char *)d;
	c->valid = 1;
	return d;
}

/*
 * Output, as replay's.
 */
static void lf_header(struct fnt_livefeed *f)
{
	if (f->header_done)
		return;
	f->header_done = 1;
	fnt_out_str(&f->out, f->graph ? "# DURATION     TID     FUNCTION\n"
				      : "#    TIMESTAMP      TID     FUNCTION\n");
}

/* The colour of a duration fnt__fmt_dur() wrote, as replay's: 1 ms or more
 * red, 100 us or more yellow; NULL: plain. */
static const char *lf_dur_color(const char *dur)
{
	if (dur[8] == 'm' || (dur[8] == ' ' && dur[9] == 's'))
		return "\033[31m";
	if (dur[8] == 'u' && dur[0] != ' ')
		return "\033[33m";
	return NULL;
}

/* The duration and thread columns (dur NULL: blank). */
static void lf_prefix(struct fnt_livefeed *f, const struct lf_stream *s, const char *dur)
{
	struct fnt_out *o = &f->out;
	const char *c = f->color && dur ? lf_dur_color(dur) : NULL;

	lf_header(f);
	if (c) {
		fnt_out_str(o, c);
		fnt_out_mem(o, dur, 10);
		fnt_out_str(o, "\033[0m");
	} else if (dur) {
		fnt_out_mem(o, dur, 10);
	} else {
		fnt_out_spaces(o, 10);
	}
	fnt_out_mem(o, s->tid_str, s->tid_len);
}

static void lf_indent(struct fnt_out *o, uint64_t levels)
{
	char buf[40];
	int n;

	if (levels <= LF_MAX_INDENT) {
		fnt_out_spaces(o, 2 * levels);
		return;
	}
	fnt_out_spaces(o, 2 * LF_MAX_INDENT);
	n = snprintf(buf, sizeof(buf), "[depth %llu] ", (unsigned long long)levels);
	fnt_out_mem(o, buf, (size_t)n);
}

static void lf_dur(char *buf, uint64_t from, uint64_t to)
{
	fnt__fmt_dur(buf, to >= from ? to - from : 0);
}

/* Timestamp and thread columns of the function tracer's lines. */
static void lf_func_prefix(struct fnt_livefeed *f, const struct lf_stream *s, uint64_t ns)
{
	char b[48];
	int n = snprintf(b, sizeof(b), "%6llu.%09llu [", (unsigned long long)(ns / 1000000000ull),
			 (unsigned long long)(ns % 1000000000ull));

	lf_header(f);
	fnt_out_mem(&f->out, b, (size_t)n);
	fnt__out_u64(&f->out, (uint64_t)(s->tid < 0 ? 0 : s->tid), 6);
	fnt_out_mem(&f->out, "] | ", 4);
}

static uint64_t lf_ns(const struct fnt_livefeed *f, uint64_t ticks)
{
	uint64_t ns;

	if (!f->have_clock)
		return ticks;
	if (f->mult_ok && ticks >= f->clock.a.ticks)
		return (uint64_t)(((unsigned __int128)(ticks - f->clock.a.ticks) * f->mult) >> 32);
	ns = fnt__clock_to_ns(&f->clock.a, &f->clock.b, ticks);
	return ns > f->clock.a.ns ? ns - f->clock.a.ns : 0;
}

/*
 * function_graph.
 */
static void lf_push(struct lf_stream *s, const struct lf_frame *fr)
{
	/* Frames are kept at depths below cap; the stack grows only by one
	 * level at its top, so every depth below cap holds its frame. */
	if (s->depth == s->cap && s->cap < LF_MAX_FRAMES) {
		uint32_t ncap = s->cap ? s->cap * 2 : 16;
		struct lf_frame *n = realloc(s->stk, ncap * sizeof(*n));

		if (n) {
			s->stk = n;
			s->cap = ncap;
		}
	}
	if (s->depth < s->cap)
		s->stk[s->depth] = *fr;
	s->depth++;
}

/* Prints the entry held back as an open call. */
static void lf_unhold(struct fnt_livefeed *f, struct lf_stream *s)
{
	if (!s->pending)
		return;
	s->pending = 0;
	lf_prefix(f, s, NULL);
	lf_indent(&f->out, s->depth);
	{
		const char *nm = lf_site_name(f, s->image, s->pend.obj, s->pend.idx);

		fnt_out_str(&f->out, nm);
		fnt_out_str(&f->out, fnt__tf_call_parens(nm));
		fnt_out_str(&f->out, " {\n");
	}
	lf_push(s, &s->pend);
}

static void lf_hold(struct fnt_livefeed *f, struct lf_stream *s, const struct fnt_ev *ev, uint64_t ns)
{
	s->pend = (struct lf_frame){ ev->obj, ev->idx, ns };
	s->pending = 1;
	if (!s->listed) {
		/* listed has streams_cap entries and a stream is listed once. */
		s->listed = 1;
		f->listed[f->nlisted++] = (uint32_t)(s - f->streams);
	}
}

static void lf_exit(struct fnt_livefeed *f, struct lf_stream *s, const struct fnt_ev *ev, uint64_t ns)
{
	struct fnt_out *o = &f->out;
	int unwound = ev->type == FNT_EV_UNWOUND, found = 0;
	const char *name;
	char dur[32];

	if (s->pending && s->pend.obj == ev->obj && s->pend.idx == ev->idx) {
		/* A call with nothing inside: one line. */
		s->pending = 0;
		name = lf_site_name(f, s->image, ev->obj, ev->idx);
		lf_dur(dur, s->pend.ns, ns);
		lf_prefix(f, s, dur);
		lf_indent(o, s->depth);
		fnt_out_str(o, name);
		fnt_out_str(o, fnt__tf_call_parens(name));
		fnt_out_str(o, unwound ? "; /* unwound */\n" : ";\n");
		return;
	}
	lf_unhold(f, s);
	name = lf_site_name(f, s->image, ev->obj, ev->idx);
	if (s->depth > s->cap) {
		/* Deeper than the frames kept: the entry cannot be checked. */
		s->depth--;
	} else {
		/* Find the frame; entries may be missing (lost, overwritten). */
		for (uint64_t k = s->depth; k > 0 && s->depth - k < LF_SEARCH;) {
			k--;
			if (s->stk[k].obj == ev->obj && s->stk[k].idx == ev->idx) {
				s->depth = k;
				lf_dur(dur, s->stk[k].ns, ns);
				found = 1;
				break;
			}
		}
	}
	lf_prefix(f, s, found ? dur : NULL);
	lf_indent(o, s->depth);
	fnt_out_mem(o, "} /* ", 5);
	fnt_out_str(o, name);
	fnt_out_str(o, unwound ? " (unwound) */\n" : " */\n");
}

static void lf_graph_event(struct fnt_livefeed *f, struct lf_stream *s, const struct fnt_ev *ev,
			   uint64_t ns)
{
	struct fnt_out *o = &f->out;
	char dur[32];

	switch (ev->type) {
	case FNT_EV_ENTRY:
		lf_unhold(f, s);
		lf_hold(f, s, ev, ns);
		return;
	case FNT_EV_EXIT:
	case FNT_EV_UNWOUND:
		lf_exit(f, s, ev, ns);
		return;
	}
	lf_unhold(f, s);
	switch (ev->type) {
	case FNT_EV_FUNC:
		/* function_graph past the runtime's shadow stack: no exit. */
		lf_prefix(f, s, NULL);
		lf_indent(o, s->depth);
		{
			const char *nm = lf_site_name(f, s->image, ev->obj, ev->idx);

			fnt_out_str(o, nm);
			fnt_out_str(o, fnt__tf_call_parens(nm));
			fnt_out_str(o, "; /* too deep: not timed */\n");
		}
		return;
	case FNT_EV_EXIT_DUR:
		/* --time-threshold: the runtime gives depth and duration. */
		lf_dur(dur, lf_ns(f, ev->ticks - ev->dur), lf_ns(f, ev->ticks));
		lf_prefix(f, s, dur);
		lf_indent(o, ev->depth);
		{
			const char *nm = lf_site_name(f, s->image, ev->obj, ev->idx);

			fnt_out_str(o, nm);
			fnt_out_str(o, fnt__tf_call_parens(nm));
			fnt_out_str(o, ";\n");
		}
		return;
	}
}

static void lf_func_event(struct fnt_livefeed *f, struct lf_stream *s, const struct fnt_ev *ev,
			  uint64_t ns)
{
	struct fnt_out *o = &f->out;
	const char *caller;

	/* A recording switched from function_graph (fntrace ctl --tracer):
	 * its entries are hits too, without a caller, its exits nothing. */
	if (ev->type != FNT_EV_FUNC && ev->type != FNT_EV_ENTRY)
		return;
	lf_func_prefix(f, s, ns);
	fnt_out_str(o, lf_site_name(f, s->image, ev->obj, ev->idx));
	fnt_out_mem(o, " <- ", 4);
	if (ev->type == FNT_EV_ENTRY) {
		fnt_out_mem(o, "?\n", 2);
		return;
	}
	caller = lf_caller_name(f, s->image, ev->caller);
	if (caller) {
		fnt_out_str(o, caller);
	} else {
		char b[24];

		snprintf(b, sizeof(b), "0x%llx", (unsigned long long)ev->caller);
		fnt_out_str(o, b);
	}
	fnt_out_ch(o, '\n');
}

static void lf_lost_event(struct fnt_livefeed *f, struct lf_stream *s, uint64_t lost, uint64_t ns)
{
	char b[64];

	lf_unhold(f, s);
	f->lost = f->lost + lost < f->lost ? UINT64_MAX : f->lost + lost;
	if (f->graph) {
		lf_prefix(f, s, NULL);
		lf_indent(&f->out, s->depth);
	} else {
		lf_func_prefix(f, s, ns);
	}
	snprintf(b, sizeof(b), "/* LOST %llu events */\n", (unsigned long long)lost);
	fnt_out_str(&f->out, b);
}

static void lf_event(struct fnt_livefeed *f, struct lf_stream *s, const struct fnt_ev *ev)
{
	uint64_t ns = ev->no_time ? s->last_ns : lf_ns(f, ev->ticks);

	s->last_ns = ns;
	if (ev->type == FNT_EV_EXT) {
		lf_lost_event(f, s, ev->lost, ns);
		return;
	}
	f->events++;
	if (f->graph)
		lf_graph_event(f, s, ev, ns);
	else
		lf_func_event(f, s, ev, ns);
}

/*
 * Records.
 */
static struct lf_stream *lf_stream_get(struct fnt_livefeed *f, uint32_t id)
{
	uint32_t i = lf_map_get(&f->stream_map, id);
	struct lf_stream *s;

	if (i != LF_NONE)
		return &f->streams[i];
	if (f->nstreams == f->streams_cap) {
		size_t cap = f->streams_cap;
		uint32_t *l;

		if (lf_grow((void **)&f->streams, &cap, f->nstreams, sizeof(*f->streams)) < 0)
			return NULL;
		l = realloc(f->listed, cap * sizeof(*l));
		if (!l)
			return NULL;	/* the streams array grew only: harmless */
		f->listed = l;
		f->streams_cap = cap;
	}
	if (lf_map_put(&f->stream_map, id, (uint32_t)f->nstreams) < 0)
		return NULL;
	s = &f->streams[f->nstreams++];
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->pid = s->tid = -1;
	s->tid_len = (size_t)snprintf(s->tid_str, sizeof(s->tid_str), " [%6d] | ", 0);
	return s;
}

static void lf_info(struct fnt_livefeed *f, const char *p, size_t len)
{
	static const char key[] = "tracer=";

	if (f->have_info)
		return;
	f->have_info = 1;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - (p + i)) : len - i;

		if (ll >= sizeof(key) - 1 && memcmp(p + i, key, sizeof(key) - 1) == 0) {
			/* Fixed by the first line printed, header included. */
			if (!f->header_done)
				f->graph = !(ll - (sizeof(key) - 1) == 8 &&
					     memcmp(p + i + sizeof(key) - 1, "function", 8) == 0);
			break;
		}
		i += ll + 1;
	}
	lf_header(f);
}

static void lf_clock(struct fnt_livefeed *f, const struct fnt_tf_clock *ck)
{
	uint64_t dt, dn;

	if (f->have_clock || (ck->kind != FNT_CLOCK_TSC && ck->kind != FNT_CLOCK_MONO))
		return;
	f->clock = *ck;
	f->have_clock = 1;
	dt = ck->b.ticks - ck->a.ticks;
	dn = ck->b.ns - ck->a.ns;
	if (ck->b.ticks > ck->a.ticks && dn / dt < (1ull << 30)) {
		f->mult = (uint64_t)(((unsigned __int128)dn << 32) / dt);
		f->mult_ok = 1;
	}
}

static void lf_file_free(struct lf_file *fl)
{
	for (uint32_t k = 0; fl->names && k < fl->h->nsites; k++)
		if (fl->names[k] && lf_owned(fl, fl->names[k]))
			free((char *)fl->names[k]);
	free(fl->names);
	free(fl->data);
	memset(fl, 0, sizeof(*fl));
}

/* A FILE record (payload copied into data, len bytes, taken over). */
static void lf_file(struct fnt_livefeed *f, uint8_t *data, uint64_t len)
{
	const struct fnt_tf_file *h = (const void *)data;
	struct lf_file nf, *fl;
	const uint8_t *p = data;
	uint64_t need;

	if (len < sizeof(*h))
		goto bad;
	need = sizeof(*h) + (uint64_t)h->nsites * 8 + (uint64_t)h->nsegs * sizeof(struct fnt_tf_seg) +
	       (uint64_t)h->nsyms * sizeof(struct fnt_tf_sym) + h->strs_len + h->path_len;
	/* Ids are given in order; a writer whose write failed gives the id
	 * again, and the later file is the one objects name. */
	if (need != len || h->build_id_len > sizeof(h->build_id) || h->id > f->nfiles)
		goto bad;
	memset(&nf, 0, sizeof(nf));
	nf.data = data;
	nf.h = h;
	p += sizeof(*h);
	nf.sites = (const void *)p;
	p += (uint64_t)h->nsites * 8;
	nf.segs = (const void *)p;
	p += (uint64_t)h->nsegs * sizeof(struct fnt_tf_seg);
	nf.syms = (const void *)p;
	p += (uint64_t)h->nsyms * sizeof(struct fnt_tf_sym);
	nf.strs = (const char *)p;
	p += h->strs_len;
	if (!lf_valid_str((const char *)p, h->path_len) ||
	    (h->strs_len && nf.strs[h->strs_len - 1] != 0))
		goto bad;
	for (uint32_t i = 0; i < h->nsyms; i++)
		if (nf.syms[i].name >= h->strs_len)
			goto bad;
	if (h->id == f->nfiles) {
		if (lf_grow((void **)&f->files, &f->files_cap, f->nfiles, sizeof(*f->files)) < 0)
			goto bad;
		f->nfiles++;
	} else {
		lf_file_free(&f->files[h->id]);
	}
	fl = &f->files[h->id];
	*fl = nf;
	lf_forget_callers(f);
	return;
bad:
	free(data);
}

static void lf_object(struct fnt_livefeed *f, const uint8_t *p, uint64_t len)
{
	const struct fnt_tf_object *o = (const void *)p;
	uint64_t key;
	uint32_t i, head;
	struct lf_obj *ro;
	char *path;

	if (len < sizeof(*o) || len != sizeof(*o) + (uint64_t)o->path_len ||
	    !lf_valid_str((const char *)(o + 1), o->path_len))
		return;
	if (o->file != FNT_TF_NOFILE && o->file >= f->nfiles)
		return;	/* FILE records come first */
	path = strdup((const char *)(o + 1));
	if (!path)
		return;
	key = ((uint64_t)o->image << 32) | o->obj_id;
	i = lf_map_get(&f->obj_map, key);
	if (i == LF_NONE) {
		/* A new object, first in its image's list (without the list
		 * if memory runs out for it: it still names its sites). */
		head = lf_map_get(&f->img_map, o->image);
		if (lf_grow((void **)&f->objs, &f->objs_cap, f->nobjs, sizeof(*f->objs)) < 0 ||
		    lf_map_put(&f->obj_map, key, (uint32_t)f->nobjs) < 0) {
			free(path);
			return;
		}
		i = (uint32_t)f->nobjs++;
		ro = &f->objs[i];
		memset(ro, 0, sizeof(*ro));
		ro->next = LF_NONE;
		if (lf_map_put(&f->img_map, o->image, i) == 0)
			ro->next = head;
	} else {
		/* Described again (the same id): the newest description wins. */
		ro = &f->objs[i];
		free(ro->path);
	}
	ro->image = o->image;
	ro->obj_id = o->obj_id;
	ro->file = o->file;
	ro->bias = o->bias;
	ro->path = path;
	lf_forget_callers(f);
}

static void lf_stream(struct fnt_livefeed *f, const struct fnt_tf_stream *sr)
{
	struct lf_stream *s = lf_stream_get(f, sr->stream);

	if (!s)
		return;
	s->pid = sr->pid;
	s->tid = sr->tid;
	s->image = sr->image;
	s->tid_len = (size_t)snprintf(s->tid_str, sizeof(s->tid_str), " [%6d] | ",
				      s->tid < 0 ? 0 : s->tid);
}

static void lf_chunk(struct fnt_livefeed *f, struct lf_src *src, uint64_t len)
{
	struct fnt_tf_chunk c;
	struct lf_stream *s;
	struct fnt_ev ev;
	uint64_t nwords, w;

	if (len < sizeof(c) || (len - sizeof(c)) % 8 || lf_read(src, &c, sizeof(c)) < 0)
		return;
	lf_header(f);	/* the tracer is known from here on */
	nwords = (len - sizeof(c)) / 8;
	s = lf_stream_get(f, c.stream);
	if (!s)
		return;
	if (!s->dec_ready || (c.flags & FNT_TF_CHUNK_RESYNC)) {
		fnt__ev_decoder_init(&s->dec, f->have_clock ? f->clock.a.ticks : 0);
		s->dec_ready = 1;
	}
	if (c.lost_before) {
		/* At the time of the chunk's first base, as tracefile.c's
		 * cursor places it. */
		uint64_t ticks = s->dec.base;
		int no_time = !s->dec.have_base;
		struct lf_src peek = *src;

		if (nwords && lf_read(&peek, &w, 8) == 0 && fnt_ev_type(w) == FNT_EV_EXT &&
		    fnt_ev_sub(w) == FNT_EXT_TIME_BASE) {
			struct fnt_ev_decoder d = s->dec;

			fnt__ev_decode(&d, w, &ev);
			ticks = d.base;
			no_time = 0;
		}
		s->last_ns = no_time ? s->last_ns : lf_ns(f, ticks);
		lf_lost_event(f, s, c.lost_before, s->last_ns);
	}
	for (uint64_t k = 0; k < nwords; k++) {
		if (lf_read(src, &w, 8) < 0)
			break;
		if (fnt__ev_decode(&s->dec, w, &ev))
			lf_event(f, s, &ev);
	}
}

/* Prints every entry held back. */
static void lf_unhold_all(struct fnt_livefeed *f)
{
	for (size_t i = 0; i < f->nlisted; i++) {
		struct lf_stream *s = &f->streams[f->listed[i]];

		lf_unhold(f, s);
		s->listed = 0;
	}
	f->nlisted = 0;
}

void fnt__livefeed_tap(void *arg, uint32_t type, const struct iovec *iov, int iovcnt)
{
	struct fnt_livefeed *f = arg;
	struct lf_src src = { iov, iovcnt, 0, 0 };
	uint64_t len = 0;
	uint8_t *buf;

	if (!f || iovcnt < 0 || (iovcnt > 0 && !iov))
		return;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len && !iov[i].iov_base)
			return;
		len += iov[i].iov_len;
		if (len > UINT32_MAX)
			return;	/* no record is that long */
	}
	switch (type) {
	case FNT_TF_CHUNK:
		lf_chunk(f, &src, len);
		return;
	case FNT_TF_STREAM: {
		struct fnt_tf_stream sr;

		if (len == sizeof(sr) && lf_read(&src, &sr, sizeof(sr)) == 0)
			lf_stream(f, &sr);
		return;
	}
	case FNT_TF_CLOCK: {
		struct fnt_tf_clock ck;

		if (len >= sizeof(ck) && lf_read(&src, &ck, sizeof(ck)) == 0)
			lf_clock(f, &ck);
		return;
	}
	case FNT_TF_END:
		if (len >= FNT_TF_END_MIN) {
			/* Nothing more comes: what is held back is printed. */
			lf_unhold_all(f);
			fnt__out_flush(&f->out);
		}
		return;
	case FNT_TF_INFO:
	case FNT_TF_FILE:
	case FNT_TF_OBJECT:
		break;
	default:
		return;	/* IMAGE (nothing needed from it), or a newer writer's */
	}
	if (type == FNT_TF_INFO && f->have_info)
		return;
	/* One contiguous copy, 8-aligned (malloc), for the structures in it. */
	buf = malloc(len ? len : 1);
	if (!buf || lf_read(&src, buf, len) < 0) {
		free(buf);
		return;
	}
	if (type == FNT_TF_FILE) {
		lf_file(f, buf, len);	/* keeps buf */
		return;
	}
	if (type == FNT_TF_INFO)
		lf_info(f, (const char *)buf, len);
	else
		lf_object(f, buf, len);
	free(buf);
}

struct fnt_livefeed *fnt__livefeed_new(int fd, int color)
{
	struct fnt_livefeed *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->out.buf = malloc(LF_OUT_CAP);
	if (!f->out.buf) {
		free(f);
		return NULL;
	}
	f->out.cap = LF_OUT_CAP;
	f->out.fd = fd;
	f->color = color;
	f->graph = 1;
	return f;
}

void fnt__livefeed_flush(struct fnt_livefeed *f)
{
	if (!f)
		return;
	lf_unhold_all(f);
	fnt__out_flush(&f->out);
}

uint64_t fnt__livefeed_events(const struct fnt_livefeed *f)
{
	return f ? f->events : 0;
}

uint64_t fnt__livefeed_lost(const struct fnt_livefeed *f)
{
	return f ? f->lost : 0;
}

int fnt__livefeed_error(const struct fnt_livefeed *f)
{
	return f ? f->out.err : 0;
}

void fnt__livefeed_free(struct fnt_livefeed *f)
{
	if (!f)
		return;
	fnt__livefeed_flush(f);
	free(f->out.buf);
	lf_forget_callers(f);
	for (size_t i = 0; i < f->nfiles; i++)
		lf_file_free(&f->files[i]);
	free(f->files);
	for (size_t i = 0; i < f->nobjs; i++)
		free(f->objs[i].path);
	free(f->objs);
	lf_map_free(&f->obj_map);
	lf_map_free(&f->img_map);
	for (size_t i = 0; i < f->nstreams; i++)
		free(f->streams[i].stk);
	free(f->streams);
	free(f->listed);
	lf_map_free(&f->stream_map);
	free(f);
}
