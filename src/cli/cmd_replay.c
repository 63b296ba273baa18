/*
 * cmd_replay.c - 'fntrace replay': prints the recorded calls.
 *
 * function_graph, uftrace/ftrace style, every thread merged by time:
 *
 *   # DURATION     TID     FUNCTION
 *               [  4242] | main() {
 *               [  4242] |   work() {
 *     0.123 us [  4242] |     leaf();
 *     1.234 us [  4242] |   } (closing comment naming work)
 *
 * A call whose exit directly follows its entry in its thread is one line.
 * The function tracer prints "TIMESTAMP [TID] | func <- caller".  Lost
 * events appear where they happened.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/tracefile.h"
#include "cli/walk.h"
#include "core/filter.h"

struct rs {
	struct fnt_wstream w;	/* w.ev: the next event, if w.have */
	struct fnt_stack stk;
	long show_from;		/* -F: depth of the matching frame, or -1 */
	char tid[16];		/* " [  1234] | ", formatted once */
	size_t tid_len;
};

struct replay {
	struct fnt_tf *tf;
	struct fnt_out out;
	struct fnt_filter filter;
	int use_filter;
	int graph;
	struct fnt_walk walk;
	uint64_t caller_addr;	/* one-entry cache for caller names */
	uint32_t caller_image;
	const char *caller_name;
	int caller_owned;	/* caller_name was allocated by the demangler */
	int color;		/* --color: long durations stand out */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fntrace replay [-i PATH] [--tid N] [-F GLOB] [--color WHEN] [--demangle STYLE]\n"
		"Prints the recorded calls: a nested call graph for function_graph traces,\n"
		"'TIMESTAMP [TID] | func <- caller' lines for function traces.\n"
		"  -i, --input PATH   trace file (default fntrace.data)\n"
		"  --tid N            only thread N (repeatable)\n"
		"  -F, --filter GLOB  only matching functions, and what they call\n"
		"  --color WHEN       auto (default: when the output is a terminal), always or\n"
		"                     never; durations of 1 ms or more in red, of 100 us or more\n"
		"                     in yellow\n"
		FNT_DEMANGLE_HELP);
}

/* The colour of a duration as fnt__fmt_dur() wrote it ("123.456 us"), as
 * uftrace marks long calls: the unit says ms or s, or the microseconds are
 * 100 or more.  NULL: plain. */
static const char *dur_color(const char *dur)
{
	if (dur[8] == 'm' || (dur[8] == ' ' && dur[9] == 's'))
		return "\033[31m";
	if (dur[8] == 'u' && dur[0] != ' ')
		return "\033[33m";
	return NULL;
}

static void prefix(struct replay *r, struct rs *s, const char *dur)
{
	struct fnt_out *o = &r->out;
	const char *c = r->color && dur ? dur_color(dur) : NULL;

	if (c) {
		fnt_out_str(o, c);
		fnt_out_mem(o, dur, 10);
		fnt_out_str(o, "\033[0m");
	} else if (dur)
		fnt_out_mem(o, dur, 10);
	else
		fnt_out_spaces(o, 10);
	fnt_out_mem(o, s->tid, s->tid_len);
}

/* Indentation stops growing past this many levels and the level is
 * printed instead, as uftrace does: otherwise N nested calls would cost
 * N * N bytes of output (a recursion or a crafted file 100000 deep would
 * print gigabytes of spaces). */
#define MAX_INDENT 64

static void indent_levels(struct fnt_out *o, size_t levels)
{
	char buf[40];
	int n;

	if (levels <= MAX_INDENT) {
		fnt_out_spaces(o, 2 * levels);
		return;
	}
	fnt_out_spaces(o, 2 * MAX_INDENT);
	n = snprintf(buf, sizeof(buf), "[depth %zu] ", levels);
	fnt_out_mem(o, buf, (size_t)n);
}

static void indent(struct replay *r, struct rs *s, size_t depth)
{
	size_t base = s->show_from >= 0 ? (size_t)s->show_from : 0;

	indent_levels(&r->out, depth > base ? depth - base : 0);
}

static int visible(struct replay *r, struct rs *s)
{
	return !r->use_filter || s->show_from >= 0;
}

static const char *site(struct replay *r, struct rs *s, uint32_t obj, uint32_t idx)
{
	return fnt__tf_site_name(r->tf, s->w.s->image, obj, idx);
}

/* What -F matches: the symbol, whose demangled forms the filter tries too. */
static const char *site_raw(struct replay *r, struct rs *s, uint32_t obj, uint32_t idx)
{
	return fnt__tf_site_raw(r->tf, s->w.s->image, obj, idx);
}

static void graph_event(struct replay *r, struct rs *s, const struct fnt_ev *ev, uint64_t ns)
{
	struct fnt_out *o = &r->out;
	char dur[32];

	switch (ev->type) {
	case FNT_EV_ENTRY: {
		const char *name = site(r, s, ev->obj, ev->idx);
		const struct fnt_ev *next = &s->w.ev;
		int leaf = s->w.have && (next->type == FNT_EV_EXIT || next->type == FNT_EV_UNWOUND) &&
			   next->obj == ev->obj && next->idx == ev->idx;

		if (r->use_filter && s->show_from < 0 &&
		    fnt_filter_match(&r->filter, site_raw(r, s, ev->obj, ev->idx), NULL))
			s->show_from = (long)s->stk.depth;
		if (leaf) {
			int unwound = next->type == FNT_EV_UNWOUND;

			if (visible(r, s)) {
				fnt__fmt_dur(dur, s->w.ns - ns);
				prefix(r, s, dur);
				indent(r, s, s->stk.depth);
				fnt_out_str(o, name);
				fnt_out_str(o, fnt__tf_call_parens(name));
				fnt_out_str(o, unwound ? "; /* unwound */\n" : ";\n");
			}
			if (s->show_from == (long)s->stk.depth)
				s->show_from = -1;
			fnt__walk_skip(&r->walk, &s->w);
			return;
		}
		if (visible(r, s)) {
			prefix(r, s, NULL);
			indent(r, s, s->stk.depth);
			fnt_out_str(o, name);
			fnt_out_str(o, fnt__tf_call_parens(name));
			fnt_out_str(o, " {\n");
		}
		fnt__stack_push(&s->stk, ev->obj, ev->idx, ns);
		return;
	}
	case FNT_EV_EXIT:
	case FNT_EV_UNWOUND: {
		const char *name = site(r, s, ev->obj, ev->idx);
		/* Find the frame; entries may be missing (lost, overwritten). */
		long k = fnt__stack_find(&s->stk, ev->obj, ev->idx);

		if (k >= 0) {
			s->stk.depth = (size_t)k;
			fnt__fmt_dur(dur, ns - s->stk.c[k].ns);
		}
		if (visible(r, s)) {
			prefix(r, s, k >= 0 ? dur : NULL);
			indent(r, s, s->stk.depth);
			fnt_out_mem(o, "} /* ", 5);
			fnt_out_str(o, name);
			fnt_out_str(o, ev->type == FNT_EV_UNWOUND ? " (unwound) */\n" : " */\n");
		}
		if (s->show_from >= (long)s->stk.depth)
			s->show_from = -1;
		return;
	}
	case FNT_EV_FUNC: {
		/* function_graph past the runtime's shadow stack: no exit. */
		const char *name = site(r, s, ev->obj, ev->idx);

		if (visible(r, s)) {
			prefix(r, s, NULL);
			indent(r, s, s->stk.depth);
			fnt_out_str(o, name);
			fnt_out_str(o, fnt__tf_call_parens(name));
			fnt_out_str(o, "; /* too deep: not timed */\n");
		}
		return;
	}
	case FNT_EV_EXIT_DUR: {
		const char *name = site(r, s, ev->obj, ev->idx);

		if (r->use_filter &&
		    !fnt_filter_match(&r->filter, site_raw(r, s, ev->obj, ev->idx), NULL))
			return;
		fnt__fmt_dur(dur, fnt__tf_ns(r->tf, ev->ticks) - fnt__tf_ns(r->tf, ev->ticks - ev->dur));
		prefix(r, s, dur);
		indent_levels(o, ev->depth);
		fnt_out_str(o, name);
		fnt_out_str(o, fnt__tf_call_parens(name));
		fnt_out_str(o, ";\n");
		return;
	}
	}
}

static void timestamp(struct fnt_out *o, uint64_t ns)
{
	char b[32];
	int n = snprintf(b, sizeof(b), "%6llu.%09llu", (unsigned long long)(ns / 1000000000ull),
			 (unsigned long long)(ns % 1000000000ull));

	fnt_out_mem(o, b, n);
}

static void func_event(struct replay *r, struct rs *s, const struct fnt_ev *ev, uint64_t ns)
{
	struct fnt_out *o = &r->out;
	const char *name = site(r, s, ev->obj, ev->idx);
	const char *caller;

	if (r->use_filter &&
	    !fnt_filter_match(&r->filter, site_raw(r, s, ev->obj, ev->idx), NULL))
		return;
	if (ev->caller != r->caller_addr || s->w.s->image != r->caller_image) {
		r->caller_addr = ev->caller;
		r->caller_image = s->w.s->image;
		if (r->caller_name && r->caller_owned)
			free((char *)r->caller_name);
		r->caller_name = fnt__tf_addr_name(r->tf, s->w.s->image, ev->caller);
		r->caller_owned = 0;
		if (r->caller_name) {
			const char *d = fnt__tf_demangle(r->caller_name);

			r->caller_owned = d != r->caller_name;
			r->caller_name = d;
		}
	}
	caller = ev->type == FNT_EV_FUNC ? r->caller_name : NULL;
	timestamp(o, ns);
	fnt_out_mem(o, " [", 2);
	fnt__out_u64(o, (uint64_t)(s->w.s->tid < 0 ? 0 : s->w.s->tid), 6);
	fnt_out_mem(o, "] | ", 4);
	fnt_out_str(o, name);
	fnt_out_mem(o, " <- ", 4);
	if (caller) {
		fnt_out_str(o, caller);
	} else if (ev->type != FNT_EV_FUNC) {
		fnt_out_ch(o, '?');	/* an entry of function_graph: no caller */
	} else {
		char b[24];

		snprintf(b, sizeof(b), "0x%llx", (unsigned long long)ev->caller);
		fnt_out_str(o, b);
	}
	fnt_out_ch(o, '\n');
}

static void lost_event(struct replay *r, struct rs *s, const struct fnt_ev *ev, uint64_t ns)
{
	char b[64];

	if (r->graph) {
		prefix(r, s, NULL);
		indent(r, s, s->stk.depth);
	} else {
		timestamp(&r->out, ns);
		fnt_out_mem(&r->out, " [", 2);
		fnt__out_u64(&r->out, (uint64_t)(s->w.s->tid < 0 ? 0 : s->w.s->tid), 6);
		fnt_out_mem(&r->out, "] | ", 4);
	}
	snprintf(b, sizeof(b), "/* LOST %llu events */\n", (unsigned long long)ev->lost);
	fnt_out_str(&r->out, b);
}

int fnt__cmd_replay(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "tid", required_argument, NULL, 'T' },
		{ "filter", required_argument, NULL, 'F' },
		{ "color", required_argument, NULL, 'C' },
		{ "demangle", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = "fntrace.data";
	char filter[4096] = "", tracer[64], err[256];
	long tids[64];
	int ntids = 0, c, ret = 0, color = -1;
	struct replay r;
	struct fnt_tf tf;
	struct rs *all;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+i:F:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			path = optarg;
			break;
		case 'T':
			if (fnt__opt_tid("replay", tids, &ntids, optarg))
				return 2;
			break;
		case 'F':
			if (fnt__opt_glob("replay", filter, optarg))
				return 2;
			break;
		case 'C':
			if (!strcmp(optarg, "auto"))
				color = -1;
			else if (!strcmp(optarg, "always"))
				color = 1;
			else if (!strcmp(optarg, "never"))
				color = 0;
			else
				return fnt__usage_error("replay", "--color takes auto, always or never, not '%s'",
							optarg);
			break;
		case 'M':
			if (fnt__opt_demangle("replay", optarg))
				return 2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return fnt__bad_option("replay", argv, optind, optopt);
		}
	}
	if (optind < argc)
		return fnt__usage_error("replay", "unexpected argument '%s'", argv[optind]);

	memset(&r, 0, sizeof(r));
	r.color = color < 0 ? isatty(1) : color;
	if (filter[0]) {
		if (fnt_filter_parse(&r.filter, filter, err, sizeof(err)) < 0)
			return fnt__usage_error("replay", "%s", err);
		r.use_filter = 1;
	}
	if (fnt__tf_open_or_complain(&tf, path) < 0) {
		ret = 1;
		goto out_filter;
	}
	r.tf = &tf;
	r.graph = !(fnt__tf_info(&tf, "tracer", tracer, sizeof(tracer)) &&
		    strcmp(tracer, "function") == 0);
	r.caller_addr = ~0ull;
	fnt__out_init(&r.out, 1);
	all = calloc(tf.nstreams + 1, sizeof(*all));
	if (!all || fnt__walk_init(&r.walk, &tf) < 0) {
		fprintf(stderr, "fntrace: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < tf.nstreams; i++) {
		struct rs *s = &all[i];
		int32_t tid = tf.streams[i].tid;

		if (!fnt__tid_selected(tids, ntids, tid))
			continue;
		s->show_from = -1;
		s->tid_len = (size_t)snprintf(s->tid, sizeof(s->tid), " [%6d] | ", tid < 0 ? 0 : tid);
		fnt__walk_add(&r.walk, &s->w, &tf.streams[i]);
	}

	fnt_out_str(&r.out, r.graph ? "# DURATION     TID     FUNCTION\n"
				    : "#    TIMESTAMP      TID     FUNCTION\n");
	for (;;) {
		struct fnt_wstream *ws;
		struct fnt_ev ev;
		uint64_t ns;
		struct rs *s;

		ws = fnt__walk_next(&r.walk, &ev, &ns);
		if (!ws)
			break;
		/* w is the first member of struct rs. */
		s = (struct rs *)ws;
		if (ev.type == FNT_EV_EXT)
			lost_event(&r, s, &ev, ns);
		else if (r.graph)
			graph_event(&r, s, &ev, ns);
		/* A recording switched from function_graph (fntrace ctl
		 * --tracer): its entries are hits too, its exits nothing. */
		else if (ev.type == FNT_EV_FUNC || ev.type == FNT_EV_ENTRY)
			func_event(&r, s, &ev, ns);
		if (r.out.err)
			break;	/* stdout closed (e.g. "| head") */
	}
	fnt__out_close(&r.out);
	if (r.caller_owned)
		free((char *)r.caller_name);
	for (size_t i = 0; i < tf.nstreams; i++)
		fnt__stack_free(&all[i].stk);
	free(all);
	fnt__walk_free(&r.walk);
	fnt__tf_close(&tf);
out_filter:
	if (r.use_filter)
		fnt_filter_free(&r.filter);
	return ret;
}
