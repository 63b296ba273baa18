/*
 * cmd_report.c - 'fntrace report': per-function calls, total and self
 * time, average, min and max (ftrace's function profiler, uftrace report).
 *
 * Each stream is walked on its own with a stack of open calls; a call's
 * self time is its total minus the totals of the calls it made.  Functions
 * are keyed by name, so a function of a library shared by several
 * processes adds up.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/srcline.h"
#include "cli/tracefile.h"
#include "cli/walk.h"

struct func {
	const char *name;	/* the name table's */
	uint64_t calls;		/* entries: a call still running at the end counts */
	uint64_t done;		/* calls that returned: the times are theirs */
	uint64_t total, self, min, max;
	/* The first site seen of it: where --srcline looks it up. */
	uint32_t image, obj, idx;
};

/* Per function id of the name table: the functions' statistics. */
struct table {
	struct fnt_names names;
	struct func *f;
	size_t n, cap;
};

enum sort_key { BY_TOTAL, BY_SELF, BY_CALLS, BY_AVG };

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fntrace report [-i PATH] [--sort total|self|calls|avg] [--threads]\n"
		"                      [--srcline] [--demangle STYLE]\n"
		"Per function: calls, total time, self time, average, min and max.\n"
		"  -i, --input PATH   trace file (default fntrace.data)\n"
		"  -s, --sort KEY     order by total (default), self, calls or avg\n"
		"  --threads          one table per thread\n"
		"  --srcline          a Source column: the function's file:line, from the\n"
		"                     DWARF of its object (built with -g); '-' when none\n"
		FNT_DEMANGLE_HELP);
}

static void account(struct func *f, uint64_t total, uint64_t self)
{
	f->done++;
	f->total += total;
	f->self += self;
	if (total < f->min)
		f->min = total;
	if (total > f->max)
		f->max = total;
}

/* The statistics of a site's function, added when new. */
static uint32_t lookup(struct table *t, const struct fnt_tf *tf, uint32_t image, uint32_t obj,
		       uint32_t idx)
{
	uint32_t fid = fnt__names_site(&t->names, tf, image, obj, idx);

	while (t->n <= fid) {
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 256;
			t->f = fnt__xrealloc(t->f, t->cap * sizeof(*t->f));
		}
		t->f[t->n] = (struct func){ t->names.name[t->n], 0, 0, 0, 0, UINT64_MAX, 0,
					    image, obj, idx };
		t->n++;
	}
	return fid;
}

static void walk(struct table *t, const struct fnt_tf *tf, const struct fnt_tf_rstream *s,
		 uint64_t *lost)
{
	struct fnt_stack stk = { 0 };
	struct fnt_tf_cursor cur;
	struct fnt_ev ev;

	fnt__tf_cursor_init(&cur, tf, s);
	while (fnt__tf_next(&cur, &ev)) {
		uint64_t ns;

		switch (ev.type) {
		case FNT_EV_EXT:
			*lost += ev.lost;
			break;
		case FNT_EV_FUNC: {
			/* lookup() may grow t->f: index it afterwards. */
			uint32_t fid = lookup(t, tf, s->image, ev.obj, ev.idx);

			t->f[fid].calls++;
			break;
		}
		case FNT_EV_ENTRY: {
			uint32_t fid = lookup(t, tf, s->image, ev.obj, ev.idx);

			fnt__stack_push(&stk, ev.obj, ev.idx, fnt__tf_ns(tf, ev.ticks))->fid = fid;
			t->f[fid].calls++;
			break;
		}
		case FNT_EV_EXIT:
		case FNT_EV_UNWOUND: {
			long k = fnt__stack_find(&stk, ev.obj, ev.idx);
			struct fnt_call *c;

			if (k < 0)
				break;	/* its entry was lost */
			c = &stk.c[k];
			ns = fnt__tf_ns(tf, ev.ticks);
			{
				uint64_t total = ns > c->ns ? ns - c->ns : 0;
				uint64_t self = total > c->child ? total - c->child : 0;

				account(&t->f[c->fid], total, self);
				stk.depth = (size_t)k;
				if (stk.depth)
					stk.c[stk.depth - 1].child += total;
			}
			break;
		}
		case FNT_EV_EXIT_DUR: {
			uint64_t end = fnt__tf_ns(tf, ev.ticks);
			uint64_t total = end - fnt__tf_ns(tf, ev.ticks - ev.dur);
			uint32_t fid = lookup(t, tf, s->image, ev.obj, ev.idx);

			t->f[fid].calls++;
			account(&t->f[fid], total, total);
			break;
		}
		}
	}
	fnt__stack_free(&stk);
}

static enum sort_key g_key;

static int cmp(const void *a, const void *b)
{
	const struct func *x = a, *y = b;
	uint64_t vx, vy;

	switch (g_key) {
	case BY_SELF: vx = x->self; vy = y->self; break;
	case BY_CALLS: vx = x->calls; vy = y->calls; break;
	case BY_AVG:
		vx = x->done ? x->total / x->done : 0;
		vy = y->done ? y->total / y->done : 0;
		break;
	default: vx = x->total; vy = y->total; break;
	}
	if (vx != vy)
		return vx < vy ? 1 : -1;
	if (x->calls != y->calls)
		return x->calls < y->calls ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* The Source column of a function: "file:line", "-" when unknown, ""
 * without --srcline. */
static const char *source(struct fnt_srcline *sl, const struct func *f)
{
	const char *s;

	if (!sl)
		return "";
	s = fnt__srcline_site(sl, f->image, f->obj, f->idx);
	return s ? s : "-";
}

/* The underline of the Source column (w wide, none without it) and of
 * Function. */
static void rule(int w, const struct fnt_srcline *sl)
{
	for (int i = 0; i < w; i++)
		putchar('=');
	printf("%s====================\n", sl ? "  " : "");
}

static void print_table(struct table *t, int graph, enum sort_key key, struct fnt_srcline *sl)
{
	char a[32], b[32], c[32], d[32], e[32];
	int w = 0;

	g_key = key;
	/* qsort() of a NULL array is undefined even for 0 elements, and a
	 * trace without calls has an empty table. */
	if (t->n)
		qsort(t->f, t->n, sizeof(*t->f), cmp);
	if (sl) {
		w = 20;
		for (size_t i = 0; i < t->n; i++) {
			int n = (int)strlen(source(sl, &t->f[i]));

			w = n > w ? n : w;
		}
	}
	if (!graph) {
		printf("  %10s  %-*s%sFunction\n  ==========  ", "Calls", w, sl ? "Source" : "",
		       sl ? "  " : "");
		rule(w, sl);
		for (size_t i = 0; i < t->n; i++)
			printf("  %10llu  %-*s%s%s\n", (unsigned long long)t->f[i].calls, w,
			       source(sl, &t->f[i]), sl ? "  " : "", t->f[i].name);
		return;
	}
	printf("  %10s  %10s  %10s  %10s  %10s  %10s  %-*s%s%s\n", "Total time", "Self time",
	       "Calls", "Average", "Min", "Max", w, sl ? "Source" : "", sl ? "  " : "", "Function");
	printf("  ==========  ==========  ==========  ==========  ==========  ==========  ");
	rule(w, sl);
	for (size_t i = 0; i < t->n; i++) {
		struct func *f = &t->f[i];

		fnt__fmt_dur(a, f->total);
		fnt__fmt_dur(b, f->self);
		fnt__fmt_dur(c, f->done ? f->total / f->done : 0);
		fnt__fmt_dur(d, f->done ? f->min : 0);
		fnt__fmt_dur(e, f->max);
		printf("  %s  %s  %10llu  %s  %s  %s  %-*s%s%s\n", a, b, (unsigned long long)f->calls,
		       c, d, e, w, source(sl, f), sl ? "  " : "", f->name);
	}
}

static void free_table(struct table *t)
{
	fnt__names_free(&t->names);
	free(t->f);
	memset(t, 0, sizeof(*t));
}

static int tid_cmp(const void *a, const void *b)
{
	const struct fnt_tf_rstream *const *x = a, *const *y = b;

	if ((*x)->tid != (*y)->tid)
		return (*x)->tid < (*y)->tid ? -1 : 1;
	return (*x)->id < (*y)->id ? -1 : (*x)->id > (*y)->id;
}

int fnt__cmd_report(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "sort", required_argument, NULL, 's' },
		{ "threads", no_argument, NULL, 'T' },
		{ "srcline", no_argument, NULL, 'S' },
		{ "demangle", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = "fntrace.data";
	enum sort_key key = BY_TOTAL;
	int threads = 0, srcline = 0, c, graph;
	struct fnt_srcline *sl = NULL;
	char tracer[64];
	struct fnt_tf tf;
	struct table t;
	uint64_t lost = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+i:s:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			path = optarg;
			break;
		case 's':
			if (strcmp(optarg, "total") == 0)
				key = BY_TOTAL;
			else if (strcmp(optarg, "self") == 0)
				key = BY_SELF;
			else if (strcmp(optarg, "calls") == 0)
				key = BY_CALLS;
			else if (strcmp(optarg, "avg") == 0)
				key = BY_AVG;
			else
				return fnt__usage_error("report", "unknown sort key '%s' (total, self, calls or avg)", optarg);
			break;
		case 'T':
			threads = 1;
			break;
		case 'S':
			srcline = 1;
			break;
		case 'M':
			if (fnt__opt_demangle("report", optarg))
				return 2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return fnt__bad_option("report", argv, optind, optopt);
		}
	}
	if (optind < argc)
		return fnt__usage_error("report", "unexpected argument '%s'", argv[optind]);
	if (fnt__tf_open_or_complain(&tf, path) < 0)
		return 1;
	graph = !(fnt__tf_info(&tf, "tracer", tracer, sizeof(tracer)) &&
		  strcmp(tracer, "function") == 0);
	memset(&t, 0, sizeof(t));
	if (srcline)
		sl = fnt__srcline_new(&tf);
	if (!threads) {
		for (size_t i = 0; i < tf.nstreams; i++)
			walk(&t, &tf, &tf.streams[i], &lost);
		print_table(&t, graph, key, sl);
		free_table(&t);
	} else {
		const struct fnt_tf_rstream **v = calloc(tf.nstreams + 1, sizeof(*v));

		if (!v) {
			fprintf(stderr, "fntrace: out of memory\n");
			exit(1);
		}
		for (size_t i = 0; i < tf.nstreams; i++)
			v[i] = &tf.streams[i];
		qsort(v, tf.nstreams, sizeof(*v), tid_cmp);
		for (size_t i = 0; i < tf.nstreams;) {
			size_t j = i;

			while (j < tf.nstreams && v[j]->tid == v[i]->tid)
				walk(&t, &tf, v[j++], &lost);
			printf("%s# thread %d (pid %d)\n", i ? "\n" : "", v[i]->tid, v[i]->pid);
			print_table(&t, graph, key, sl);
			free_table(&t);
			i = j;
		}
		free(v);
	}
	if (lost || (tf.have_end && tf.end.lost_noslot))
		printf("\n# %llu events lost\n",
		       (unsigned long long)(lost + (tf.have_end ? tf.end.lost_noslot : 0)));
	fflush(stdout);
	fnt__srcline_free(sl);
	fnt__tf_close(&tf);
	return 0;
}
