/*
 * export_walk.c - the walk of the converting commands (dump, flamegraph,
 * graph; see export.h): every selected thread merged by time, the
 * selection applied (--tid, -F, -N, --time-range), and well-formed calls
 * handed to a writer.
 *
 * It keeps one stack of open calls per thread and nothing per event, so
 * memory does not grow with the trace; what a writer keeps is its own
 * affair, bounded by it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/export.h"
#include "core/filter.h"

struct dstream {
	struct fnt_wstream w;	/* first: the walk hands back &w */
	struct fnt_xthread *t;
	long show_from;		/* -F: depth of the matching call, or -1 */
};

struct dump {
	struct fnt_export x;
	const struct fnt_export_ops *ops;
	const struct fnt_xsel *sel;
	struct fnt_walk walk;
	struct fnt_filter only, skip;	/* -F, -N */
	int use_only, use_skip;
};

/* A time of --time-range: "1.25" is seconds (as replay prints times),
 * "300us" has its unit.  Returns 0 or -EINVAL. */
static int parse_time(const char *s, uint64_t *ns)
{
	const char *p = s;
	uint64_t sec = 0, frac = 0, scale = 1000000000ull;

	if (!*s)
		return -EINVAL;
	if (s[strspn(s, "0123456789.")] != 0)
		return fnt__parse_duration(s, ns);
	for (; *p >= '0' && *p <= '9'; p++) {
		if (sec > 1000000000ull)
			return -EINVAL;
		sec = sec * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*p - '0') * scale;
			}
	if (*p || p == s || (p == s + 1 && *s == '.'))
		return -EINVAL;
	*ns = sec * 1000000000ull + frac;
	return 0;
}

/* uftrace's START~END; END may be +DURATION after START. */
static int parse_range(struct fnt_xsel *d, const char *arg)
{
	const char *tilde = strchr(arg, '~');
	char start[64];
	size_t n;

	if (!tilde || (size_t)(tilde - arg) >= sizeof(start))
		return -EINVAL;
	n = (size_t)(tilde - arg);
	memcpy(start, arg, n);
	start[n] = 0;
	if (n && parse_time(start, &d->t0) < 0)
		return -EINVAL;
	if (!tilde[1])
		return 0;
	if (tilde[1] == '+') {
		uint64_t dur;

		if (parse_time(tilde + 2, &dur) < 0)
			return -EINVAL;
		d->t1 = d->t0 + dur;
	} else if (parse_time(tilde + 1, &d->t1) < 0) {
		return -EINVAL;
	}
	d->have_t1 = 1;
	return d->t1 > d->t0 ? 0 : -EINVAL;
}

static const char *obj_path(const struct dump *d, const struct fnt_xthread *t, uint32_t obj)
{
	const struct fnt_tf_robj *o = fnt__tf_obj(d->x.tf, t->s->image, obj);

	return o ? o->path : NULL;
}

/* With --srcline: notes fid's first site, where its line is looked up. */
static void note_site(struct dump *d, uint32_t fid, uint32_t image, uint32_t obj, uint32_t idx)
{
	struct fnt_export *x = &d->x;

	if (!x->srcline)
		return;
	if (fid >= x->nsites) {
		size_t n = x->nsites ? x->nsites : 256;

		while (n <= fid)
			n *= 2;
		x->sites = fnt__xrealloc(x->sites, n * sizeof(*x->sites));
		memset(x->sites + x->nsites, 0, (n - x->nsites) * sizeof(*x->sites));
		x->nsites = n;
	}
	if (!x->sites[fid].seen)
		x->sites[fid] = (struct fnt_xsite){ image, obj, idx, 1, 0, NULL };
}

const char *fnt__xsrcline(struct fnt_export *x, uint32_t fid)
{
	struct fnt_xsite *s;

	if (!x->srcline || fid >= x->nsites || !x->sites[fid].seen)
		return NULL;
	s = &x->sites[fid];
	if (!s->asked) {
		s->asked = 1;
		s->line = fnt__srcline_site(x->srcline, s->image, s->obj, s->idx);
	}
	return s->line;
}

static int visible(const struct fnt_xthread *t, size_t depth)
{
	return t->lo >= 0 && (long)depth >= t->lo && (t->hide < 0 || (long)depth < t->hide);
}

/* Would a call of fid at ns, made by the thread's innermost open call, be
 * shown?  Sets the -F and -N marks when the call is pushed (push). */
static inline int selects(struct dump *d, struct dstream *s, uint32_t fid, uint32_t obj,
			  uint64_t ns, int push)
{
	struct fnt_xthread *t = s->t;
	long depth;
	const char *name;
	int shown, hidden;

	if (!d->use_only && !d->use_skip)	/* no -F, no -N: every event asks */
		return t->hide < 0 && ns >= d->sel->t0;
	depth = (long)t->stk.depth - (push ? 1 : 0);
	name = fnt_x_raw(&d->x, fid);
	shown = !d->use_only || s->show_from >= 0;
	hidden = t->hide >= 0;

	if (!shown && fnt_filter_match(&d->only, name, obj_path(d, t, obj))) {
		shown = 1;
		if (push)
			s->show_from = depth;
	}
	if (!hidden && d->use_skip && fnt_filter_match(&d->skip, name, obj_path(d, t, obj))) {
		hidden = 1;
		if (push)
			t->hide = depth;
	}
	return shown && !hidden && ns >= d->sel->t0;
}

/* Pops the calls from the top down to depth k, each ending at ns.  k ends
 * as how says; when it returned or was unwound, those above it lost their
 * exits, else (cut, still running) they end as it does. */
static void pop_to(struct dump *d, struct dstream *s, size_t k, uint64_t ns, enum fnt_xend how)
{
	struct fnt_xthread *t = s->t;
	enum fnt_xend inner = how == FNT_XEND_RETURN || how == FNT_XEND_UNWOUND ? FNT_XEND_LOST : how;

	while (t->stk.depth > k) {
		size_t i = t->stk.depth - 1;
		struct fnt_call *c = &t->stk.c[i];
		uint64_t total = ns > c->ns ? ns - c->ns : 0;
		int vis = visible(t, i);

		if (vis)
			d->ops->end(&d->x, t, i, ns > c->ns ? ns : c->ns, i == k ? how : inner);
		/* A caller's self time excludes only what is shown of its
		 * callees: the time of a call hidden by -N stays its caller's. */
		if (i && vis)
			t->stk.c[i - 1].child += total;
		t->stk.depth = i;
	}
	if (t->lo >= (long)k)
		t->lo = -1;
	if (t->hide >= (long)k)
		t->hide = -1;
	if (s->show_from >= (long)k)
		s->show_from = -1;
}

static void event(struct dump *d, struct dstream *s, const struct fnt_ev *ev, uint64_t ns)
{
	struct fnt_xthread *t = s->t;
	const struct fnt_tf *tf = d->x.tf;

	switch (ev->type) {
	case FNT_EV_EXT:
		if (ns >= d->sel->t0)
			d->ops->lost(&d->x, t, ns, ev->lost);
		return;
	case FNT_EV_ENTRY: {
		uint32_t fid = fnt__names_site(d->x.names, tf, t->s->image, ev->obj, ev->idx);
		struct fnt_call *c = fnt__stack_push(&t->stk, ev->obj, ev->idx, ns);
		size_t depth = t->stk.depth - 1;

		c->fid = fid;
		note_site(d, fid, t->s->image, ev->obj, ev->idx);
		if (selects(d, s, fid, ev->obj, ns, 1)) {
			if (t->lo < 0)
				t->lo = (long)depth;
			d->ops->begin(&d->x, t, depth);
		}
		return;
	}
	case FNT_EV_EXIT:
	case FNT_EV_UNWOUND: {
		long k = fnt__stack_find(&t->stk, ev->obj, ev->idx);

		if (k >= 0)	/* else its entry was lost: nothing to close */
			pop_to(d, s, (size_t)k, ns,
			       ev->type == FNT_EV_UNWOUND ? FNT_XEND_UNWOUND : FNT_XEND_RETURN);
		return;
	}
	case FNT_EV_FUNC: {
		uint32_t fid = fnt__names_site(d->x.names, tf, t->s->image, ev->obj, ev->idx);

		note_site(d, fid, t->s->image, ev->obj, ev->idx);
		if (selects(d, s, fid, ev->obj, ns, 0))
			d->ops->complete(&d->x, t, fid, ev->obj, ns, 0, 1);
		return;
	}
	case FNT_EV_EXIT_DUR: {
		uint32_t fid = fnt__names_site(d->x.names, tf, t->s->image, ev->obj, ev->idx);
		uint64_t start = ev->no_time ? ns : fnt__tf_ns(tf, ev->ticks - ev->dur);
		uint64_t dur = ns > start ? ns - start : 0;

		note_site(d, fid, t->s->image, ev->obj, ev->idx);
		if (d->sel->have_t1 && start >= d->sel->t1)
			return;
		if (d->sel->have_t1 && start + dur > d->sel->t1)
			dur = d->sel->t1 - start;
		if (selects(d, s, fid, ev->obj, start, 0))
			d->ops->complete(&d->x, t, fid, ev->obj, start, dur, 0);
		return;
	}
	}
}

static int open_output(const char *cmd, const char *path)
{
	int fd;

	if (!path || !strcmp(path, "-"))
		return 1;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;

		fprintf(stderr, "fntrace: %s: cannot write '%s': %s\n", cmd, path, strerror(e));
		return -e;
	}
	return fd;
}

/* Walks every selected stream to its end (or to the end of the range). */
static void run(struct dump *d)
{
	for (;;) {
		struct fnt_ev ev;
		uint64_t ns;
		struct fnt_wstream *ws = fnt__walk_next(&d->walk, &ev, &ns);
		struct dstream *s = (struct dstream *)ws;

		if (!ws)
			break;
		if (d->sel->have_t1 && ns >= d->sel->t1) {
			/* The merge is by time: nothing of this stream
			 * follows in the range. */
			pop_to(d, s, 0, d->sel->t1, FNT_XEND_CUT);
			fnt__walk_drop(&d->walk, ws);
			continue;
		}
		event(d, s, &ev, ns);
		if (!ws->have)
			pop_to(d, s, 0, ns, FNT_XEND_OPEN);
		if (d->x.out.err)
			break;
	}
}


int fnt__xsel_opt(const char *cmd, struct fnt_xsel *s, int c, const char *arg)
{
	switch (c) {
	case 'i':
		s->path = arg;
		return 0;
	case 'T':
		return fnt__opt_tid(cmd, s->tids, &s->ntids, arg) ? 2 : 0;
	case 'F':
	case 'N':
		return fnt__opt_glob(cmd, c == 'F' ? s->only : s->skip, arg) ? 2 : 0;
	case 'M':
		return fnt__opt_demangle(cmd, arg);
	case 'R':
		if (parse_range(s, arg) < 0)
			return fnt__usage_error(cmd, "bad time range '%s' (START~END, e.g. 1.5~2 or "
						"10ms~+5ms)", arg);
		return 0;
	}
	return -1;
}

int fnt__xweight(const char *cmd, const char *arg, enum fnt_weight *w)
{
	if (!strcmp(arg, "self"))
		*w = FNT_WEIGHT_SELF;
	else if (!strcmp(arg, "total"))
		*w = FNT_WEIGHT_TOTAL;
	else if (!strcmp(arg, "calls"))
		*w = FNT_WEIGHT_CALLS;
	else
		return fnt__usage_error(cmd, "--weight takes self, total or calls, not '%s'", arg);
	return 0;
}

int fnt__export_run(const char *cmd, const struct fnt_xsel *sel, const struct fnt_export_ops *ops,
		    enum fnt_weight weight, const void *arg, const char *out)
{
	const char *path = sel->path ? sel->path : "fntrace.data";
	char err[256];
	int ret = 1, fd;
	struct dstream *all;
	struct fnt_names names = { 0 };
	struct fnt_tf tf;
	struct dump d;

	memset(&d, 0, sizeof(d));
	d.ops = ops;
	d.sel = sel;
	d.x.weight = weight;
	d.x.arg = arg;
	if (sel->only[0]) {
		if (fnt_filter_parse(&d.only, sel->only, err, sizeof(err)) < 0)
			return fnt__usage_error(cmd, "%s", err);
		d.use_only = 1;
	}
	if (sel->skip[0]) {
		if (fnt_filter_parse(&d.skip, sel->skip, err, sizeof(err)) < 0) {
			ret = fnt__usage_error(cmd, "%s", err);
			goto out_only;
		}
		d.use_skip = 1;
	}
	if (fnt__tf_open_or_complain(&tf, path) < 0)
		goto out_skip;
	fd = open_output(cmd, out);
	if (fd < 0)
		goto out_tf;
	all = calloc(tf.nstreams + 1, sizeof(*all));
	d.x.threads = calloc(tf.nstreams + 1, sizeof(*d.x.threads));
	if (!all || !d.x.threads || fnt__walk_init(&d.walk, &tf) < 0) {
		fprintf(stderr, "fntrace: out of memory\n");
		exit(1);
	}
	d.x.tf = &tf;
	d.x.names = &names;
	if (sel->srcline)
		d.x.srcline = fnt__srcline_new(&tf);
	fnt__out_init(&d.x.out, fd);
	for (size_t i = 0; i < tf.nstreams; i++) {
		const struct fnt_tf_rimage *im = fnt__tf_image(&tf, tf.streams[i].image);
		struct fnt_xthread *t = &d.x.threads[d.x.nthreads];

		if (!fnt__tid_selected(sel->tids, sel->ntids, tf.streams[i].tid))
			continue;
		t->s = &tf.streams[i];
		t->id = (uint32_t)d.x.nthreads++;
		t->exe = im && im->exe ? im->exe : "?";
		t->lo = t->hide = -1;
		all[i].t = t;
		all[i].show_from = -1;
	}
	if (d.ops->open(&d.x) < 0) {
		fprintf(stderr, "fntrace: %s: out of memory\n", cmd);
		goto out_all;
	}
	for (size_t i = 0; i < d.x.nthreads; i++)
		d.ops->thread(&d.x, &d.x.threads[i]);
	for (size_t i = 0; i < tf.nstreams; i++)
		if (all[i].t)
			fnt__walk_add(&d.walk, &all[i].w, all[i].t->s);
	run(&d);
	if (d.ops->close(&d.x, tf.truncated ? tf.trunc_msg : NULL) < 0)
		fprintf(stderr, "fntrace: %s: out of memory\n", cmd);
	else
		ret = 0;
out_all:
	fnt__out_flush(&d.x.out);
	if (d.x.out.err) {
		fprintf(stderr, "fntrace: %s: cannot write %s%s%s\n", cmd, out ? "'" : "",
			out ? out : "the standard output", out ? "'" : "");
		ret = 1;
	}
	fnt__out_close(&d.x.out);
	for (size_t i = 0; i < d.x.nthreads; i++)
		fnt__stack_free(&d.x.threads[i].stk);
	free(d.x.threads);
	free(all);
	fnt__walk_free(&d.walk);
	fnt__names_free(&names);
	fnt__srcline_free(d.x.srcline);
	free(d.x.sites);
	if (fd > 1 && close(fd) < 0 && !ret) {
		fprintf(stderr, "fntrace: %s: cannot write '%s': %s\n", cmd, out, strerror(errno));
		ret = 1;
	}
out_tf:
	fnt__tf_close(&tf);
out_skip:
	if (d.use_skip)
		fnt_filter_free(&d.skip);
out_only:
	if (d.use_only)
		fnt_filter_free(&d.only);
	return ret;
}
