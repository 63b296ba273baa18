/*
 * walk.c - the event walk the reading commands share (see walk.h): the
 * streams merged by time in a binary heap, the stack of open calls, and
 * the function-name table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/walk.h"

void *fnt__xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		fprintf(stderr, "fntrace: out of memory\n");
		exit(1);
	}
	return p;
}

void fnt__stack_grow(struct fnt_stack *s)
{
	s->cap = s->cap ? s->cap * 2 : 64;
	s->c = fnt__xrealloc(s->c, s->cap * sizeof(*s->c));
}

long fnt__stack_find(const struct fnt_stack *s, uint32_t obj, uint32_t idx)
{
	size_t k = s->depth;

	while (k > 0 && s->depth - k < 16) {
		k--;
		if (s->c[k].obj == obj && s->c[k].idx == idx)
			return (long)k;
	}
	return -1;
}

void fnt__stack_free(struct fnt_stack *s)
{
	free(s->c);
	memset(s, 0, sizeof(*s));
}

/* Reads the stream's next event; an event without a time of its own (no
 * time base seen yet) takes the last known one, so the merge stays in
 * order. */
static void advance(struct fnt_walk *w, struct fnt_wstream *s)
{
	s->have = fnt__tf_next(&s->cur, &s->ev);
	if (s->have) {
		s->ns = s->ev.no_time ? s->last_ns : fnt__tf_ns(w->tf, s->ev.ticks);
		s->last_ns = s->ns;
	}
}

static int before(const struct fnt_wstream *a, const struct fnt_wstream *b)
{
	return a->ns < b->ns || (a->ns == b->ns && a->s->id < b->s->id);
}

static void sift_down(struct fnt_walk *w, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		struct fnt_wstream *t;

		if (l < w->nheap && before(w->heap[l], w->heap[m]))
			m = l;
		if (l + 1 < w->nheap && before(w->heap[l + 1], w->heap[m]))
			m = l + 1;
		if (m == i)
			return;
		t = w->heap[i];
		w->heap[i] = w->heap[m];
		w->heap[m] = t;
		i = m;
	}
}

static void sift_up(struct fnt_walk *w, size_t i)
{
	while (i > 0 && before(w->heap[i], w->heap[(i - 1) / 2])) {
		struct fnt_wstream *t = w->heap[i];

		w->heap[i] = w->heap[(i - 1) / 2];
		w->heap[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

int fnt__walk_init(struct fnt_walk *w, const struct fnt_tf *tf)
{
	memset(w, 0, sizeof(*w));
	w->tf = tf;
	w->heap = calloc(tf->nstreams + 1, sizeof(*w->heap));
	return w->heap ? 0 : -ENOMEM;
}

void fnt__walk_add(struct fnt_walk *w, struct fnt_wstream *ws, const struct fnt_tf_rstream *rs)
{
	memset(ws, 0, sizeof(*ws));
	ws->s = rs;
	fnt__tf_cursor_init(&ws->cur, w->tf, rs);
	advance(w, ws);
	if (!ws->have)
		return;
	w->heap[w->nheap++] = ws;
	sift_up(w, w->nheap - 1);
}

/* Puts the stream returned last back in its place (or out, if it has no
 * event left): it stays at the top until then, so that fnt__walk_skip()
 * can move it on without breaking the heap. */
static void settle(struct fnt_walk *w)
{
	if (!w->popped)
		return;
	w->popped = NULL;
	if (!w->heap[0]->have)
		w->heap[0] = w->heap[--w->nheap];
	sift_down(w, 0);
}

struct fnt_wstream *fnt__walk_next(struct fnt_walk *w, struct fnt_ev *ev, uint64_t *ns)
{
	struct fnt_wstream *s;

	settle(w);
	if (!w->nheap)
		return NULL;
	s = w->heap[0];
	*ev = s->ev;
	*ns = s->ns;
	advance(w, s);
	w->popped = s;
	return s;
}

void fnt__walk_skip(struct fnt_walk *w, struct fnt_wstream *ws)
{
	if (ws == w->popped && ws->have)
		advance(w, ws);
}

void fnt__walk_drop(struct fnt_walk *w, struct fnt_wstream *ws)
{
	if (ws == w->popped)
		ws->have = 0;	/* settle() removes it */
}

void fnt__walk_free(struct fnt_walk *w)
{
	free(w->heap);
	memset(w, 0, sizeof(*w));
}

int fnt__opt_tid(const char *cmd, long *tids, int *ntids, const char *arg)
{
	char *end;

	if (*ntids == 64)
		return fnt__usage_error(cmd, "too many --tid");
	tids[*ntids] = strtol(arg, &end, 10);
	if (*end || !*arg || tids[*ntids] < 0)
		return fnt__usage_error(cmd, "bad thread id '%s'", arg);
	(*ntids)++;
	return 0;
}

int fnt__opt_glob(const char *cmd, char *list, const char *arg)
{
	if (strlen(list) + strlen(arg) + 2 > 4096)
		return fnt__usage_error(cmd, "filter too long");
	if (list[0])
		strcat(list, ",");
	strcat(list, arg);
	return 0;
}

int fnt__tid_selected(const long *tids, int ntids, int32_t tid)
{
	for (int k = 0; k < ntids; k++)
		if (tids[k] == tid)
			return 1;
	return ntids == 0;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

uint32_t fnt__names_id(struct fnt_names *t, const char *name)
{
	return fnt__names_id_raw(t, name, NULL);
}

uint32_t fnt__names_id_raw(struct fnt_names *t, const char *name, const char *raw)
{
	size_t i;

	if (t->n * 2 >= t->hcap) {
		size_t ncap = t->hcap ? t->hcap * 2 : 1024;

		free(t->hash);
		t->hash = calloc(ncap, sizeof(*t->hash));
		if (!t->hash) {
			fprintf(stderr, "fntrace: out of memory\n");
			exit(1);
		}
		t->hcap = ncap;
		for (size_t k = 0; k < t->n; k++) {
			i = hash_str(t->name[k]) & (ncap - 1);
			while (t->hash[i])
				i = (i + 1) & (ncap - 1);
			t->hash[i] = (uint32_t)k + 1;
		}
	}
	for (i = hash_str(name) & (t->hcap - 1); t->hash[i]; i = (i + 1) & (t->hcap - 1))
		if (strcmp(t->name[t->hash[i] - 1], name) == 0)
			return t->hash[i] - 1;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->name = fnt__xrealloc(t->name, t->cap * sizeof(*t->name));
		t->raw = fnt__xrealloc(t->raw, t->cap * sizeof(*t->raw));
	}
	/* a raw equal to the name may be a reused buffer (an unnamed site) */
	t->raw[t->n] = raw && strcmp(raw, name) ? raw : NULL;
	t->name[t->n] = strdup(name);
	if (!t->name[t->n]) {
		fprintf(stderr, "fntrace: out of memory\n");
		exit(1);
	}
	t->hash[i] = (uint32_t)t->n + 1;
	return (uint32_t)t->n++;
}

/* Last-site cache: most consecutive events hit the same few sites. */
struct fnt_names_cache {
	uint32_t image, obj, idx, fid;
	int valid;
};

uint32_t fnt__names_site(struct fnt_names *t, const struct fnt_tf *tf, uint32_t image,
			 uint32_t obj, uint32_t idx)
{
	struct fnt_names_cache *e;

	if (!t->cache) {
		t->cache = calloc(1024, sizeof(*t->cache));
		if (!t->cache) {
			fprintf(stderr, "fntrace: out of memory\n");
			exit(1);
		}
	}
	e = &t->cache[(obj * 31 + idx) & 1023];
	if (e->valid && e->image == image && e->obj == obj && e->idx == idx)
		return e->fid;
	e->valid = 1;
	e->image = image;
	e->obj = obj;
	e->idx = idx;
	e->fid = fnt__names_id_raw(t, fnt__tf_site_name(tf, image, obj, idx),
				   fnt__tf_site_raw(tf, image, obj, idx));
	return e->fid;
}

void fnt__names_free(struct fnt_names *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->name[i]);
	free(t->name);
	free((void *)t->raw);
	free(t->hash);
	free(t->cache);
	memset(t, 0, sizeof(*t));
}
