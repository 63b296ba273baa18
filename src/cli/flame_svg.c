/*
 * flame_svg.c - the picture of 'fntrace flamegraph': a self-contained,
 * interactive SVG of the call tree (export_tree.c), with its style and
 * script inline so that a browser needs nothing else.
 *
 * The layout is done here, once: every frame is a <g class="f"> holding
 * its <title> (the function on the first line, then its object, time,
 * share and calls), a <rect> placed in pixels and a <text> label.  The
 * script only moves what is already there: a click stretches the clicked
 * frame and what lies above it (below it, inverted) to the full width,
 * the search recolours matching frames, and hovering copies the title into
 * the line at the bottom.  Frames narrower than --min-width pixels are
 * left out with what they contain (flamegraph.pl's 0.1 px by default), so
 * that the file stays small enough for a browser whatever the tree.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/export.h"
#include "cli/flame.h"

#define WIDTH 1200
#define PAD 10
#define FH 16		/* a row */
#define TOP 72		/* below the title, subtitle and legend */
#define BOTTOM 34	/* the details line */
#define CHAR_W 7.2	/* 12 px monospace */

/* Writes s as XML character data or an attribute value: markup escaped,
 * control characters (not allowed in XML 1.0) as '?', and bytes that are
 * not UTF-8 as the Latin-1 characters they would be, so the file is
 * always well formed.  At most max characters (0: all), ".." after a cut. */
static void xml_str(struct fnt_out *o, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	for (; *p; n++) {
		size_t len;

		if (max && n + 2 >= max && p[1]) {
			fnt_out_str(o, "..");
			return;
		}
		switch (*p) {
		case '&': fnt_out_str(o, "&amp;"); p++; continue;
		case '<': fnt_out_str(o, "&lt;"); p++; continue;
		case '>': fnt_out_str(o, "&gt;"); p++; continue;
		case '"': fnt_out_str(o, "&quot;"); p++; continue;
		}
		if (*p < 0x20) {
			fnt_out_ch(o, '?');
			p++;
			continue;
		}
		if (*p < 0x80) {
			fnt_out_ch(o, (char)*p++);
			continue;
		}
		len = fnt__utf8_seq(p);
		if (len) {
			fnt_out_mem(o, (const char *)p, len);
			p += len;
			continue;
		}
		fnt_out_str(o, "&#x");
		fnt_out_ch(o, "0123456789abcdef"[*p >> 4]);
		fnt_out_ch(o, "0123456789abcdef"[*p & 15]);
		fnt_out_ch(o, ';');
		p++;
	}
}

/* "1.234 ms": fnt__fmt_dur() without its padding. */
static void dur(struct fnt_out *o, uint64_t ns)
{
	char buf[32], *p = buf;

	fnt__fmt_dur(buf, ns);
	while (*p == ' ')
		p++;
	fnt_out_str(o, p);
}

static void num(struct fnt_out *o, const char *fmt, double v)
{
	char buf[64];

	snprintf(buf, sizeof(buf), fmt, v);
	fnt_out_str(o, buf);
}

static const char *base(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

/* The palettes: the programs are warm (flamegraph.pl's "hot"), each
 * library takes the next cool one.  A function's shade within its palette
 * comes from its name, so it keeps its colour from one picture to the
 * next.  lo + span * v for each of red, green, blue. */
static const struct palette {
	int lo[3], span[3];
} palettes[] = {
	{ { 205, 0, 0 }, { 50, 230, 55 } },	/* hot: the program */
	{ { 50, 165, 165 }, { 60, 55, 55 } },	/* aqua */
	{ { 60, 175, 60 }, { 60, 60, 60 } },	/* green */
	{ { 160, 100, 200 }, { 60, 50, 55 } },	/* purple */
	{ { 80, 120, 200 }, { 60, 60, 55 } },	/* blue */
	{ { 175, 175, 50 }, { 55, 55, 20 } },	/* olive */
};
#define NPALETTES (sizeof(palettes) / sizeof(palettes[0]))

static void colour(struct fnt_out *o, unsigned pal, const char *name)
{
	const struct palette *p = &palettes[pal];
	uint64_t h = 1469598103934665603ull;
	char buf[40];
	int c[3];

	for (const unsigned char *s = (const unsigned char *)name; *s; s++)
		h = (h ^ *s) * 1099511628211ull;
	for (int i = 0; i < 3; i++) {
		double v = (double)((h >> (i * 16)) & 0xffff) / 65535.0;

		c[i] = p->lo[i] + (int)(p->span[i] * v);
	}
	snprintf(buf, sizeof(buf), "rgb(%d,%d,%d)", c[0], c[1], c[2]);
	fnt_out_str(o, buf);
}

struct layout {
	double *val;		/* a node's weight */
	double *x, *w;		/* its place and width in pixels */
	uint32_t *depth;
	uint8_t *shown;
	unsigned *pal;		/* per object id: its palette */
	double total;		/* the weight of every root */
	uint32_t maxdepth;
	uint64_t omitted;	/* frames narrower than the minimum */
};

static int is_program(const struct fnt_tf *tf, const char *path)
{
	for (size_t i = 0; i < tf->nimages; i++)
		if (tf->images[i].exe && !strcmp(tf->images[i].exe, path))
			return 1;
	return 0;
}

static int by_name(const struct fnt_ctnode *a, const struct fnt_ctnode *b, void *arg)
{
	const struct fnt_export *x = arg;

	return strcmp(fnt_x_name(x, a->fid), fnt_x_name(x, b->fid));
}

/* A node's weight.  Normal view: its total time (the self times of its
 * subtree add up to it, so self and total draw the same picture), or the
 * calls of its subtree.  Inverted: the weight of the calls along its
 * reversed path, which already holds the paths above it. */
static double weight_of(const struct fnt_export *x, const struct fnt_ctnode *n, int inverted)
{
	if (x->weight == FNT_WEIGHT_CALLS)
		return (double)n->calls;
	if (inverted && x->weight == FNT_WEIGHT_SELF)
		return (double)n->self;
	return (double)n->total;
}

static void lay_out(struct fnt_export *x, struct fnt_xtree *xt, struct layout *l, uint32_t first,
		    double min_width)
{
	struct fnt_ctree *t = &xt->tree;
	int inverted = xt->cfg->inverted;
	double scale, cursor = PAD;

	for (size_t i = 0; i < t->n; i++)
		l->val[i] = weight_of(x, &t->node[i], inverted);
	/* Calls in the normal view: a frame holds its children's calls too.
	 * Children are younger than their parents: the reverse index order
	 * visits every child before its parent. */
	if (x->weight == FNT_WEIGHT_CALLS && !inverted)
		for (size_t i = t->n; i-- > 0;)
			if (t->node[i].parent != FNT_CT_NONE)
				l->val[t->node[i].parent] += l->val[i];
	l->total = 0;
	for (uint32_t r = first; r != FNT_CT_NONE; r = t->node[r].next)
		l->total += l->val[r];
	scale = l->total > 0 ? (WIDTH - 2 * PAD) / l->total : 0;
	for (uint32_t r = first; r != FNT_CT_NONE; r = t->node[r].next) {
		l->x[r] = cursor;
		l->w[r] = l->val[r] * scale;
		l->depth[r] = 0;
		cursor += l->w[r];
	}
	/* Parents first (index order): a node is placed by its parent before
	 * its own children are.  Children whose times add up to more than
	 * their parent's (clocks of two threads, a cut) are squeezed in. */
	l->maxdepth = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct fnt_ctnode *n = &t->node[i];
		double sum = 0, f = 1;

		l->shown[i] = l->w[i] >= min_width &&
			      (n->parent == FNT_CT_NONE || l->shown[n->parent]);
		if (!l->shown[i]) {
			if (n->parent == FNT_CT_NONE || l->shown[n->parent])
				l->omitted++;
			continue;
		}
		if (l->depth[i] > l->maxdepth)
			l->maxdepth = l->depth[i];
		for (uint32_t c = n->child; c != FNT_CT_NONE; c = t->node[c].next)
			sum += l->val[c] * scale;
		if (sum > l->w[i] && sum > 0)
			f = l->w[i] / sum;
		cursor = l->x[i];
		for (uint32_t c = n->child; c != FNT_CT_NONE; c = t->node[c].next) {
			l->x[c] = cursor;
			l->w[c] = l->val[c] * scale * f;
			l->depth[c] = l->depth[i] + 1;
			cursor += l->w[c];
		}
	}
}

static const char style[] =
	"<style type=\"text/css\"><![CDATA[\n"
	"text { font-family: monospace; font-size: 12px; fill: #000; }\n"
	"#title { font-size: 17px; text-anchor: middle; }\n"
	"#subtitle { fill: #555; text-anchor: middle; }\n"
	".f { cursor: pointer; }\n"
	".f:hover rect { stroke: #000; stroke-width: 0.5; }\n"
	".f text { pointer-events: none; }\n"
	".btn { cursor: pointer; fill: #225; text-decoration: underline; }\n"
	".hide { display: none; }\n"
	".parent { opacity: 0.55; }\n"
	"]]></style>\n";

/* The script: zoom, search, details.  It reads the layout back from the
 * rects, so it needs no data of its own but the few constants before it. */
static const char script[] =
	"<script type=\"text/ecmascript\"><![CDATA[\n"
	"\"use strict\";\n"
	"var frames = [], byG = new Map(), zoomed = null, matchRe = null;\n"
	"var details, matched, unzoomBtn, searchBtn;\n"
	"function depthOf(y) { return Math.round(INVERTED ? (y - ALL_Y) / FH : (ALL_Y - y) / FH) - 1; }\n"
	"function init() {\n"
	"  details = document.getElementById('details');\n"
	"  matched = document.getElementById('matched');\n"
	"  unzoomBtn = document.getElementById('unzoom');\n"
	"  searchBtn = document.getElementById('search');\n"
	"  document.querySelectorAll('g.f').forEach(function (g) {\n"
	"    var r = g.querySelector('rect'), info = g.querySelector('title').textContent;\n"
	"    var f = { g: g, r: r, t: g.querySelector('text'), x: +r.getAttribute('x'),\n"
	"              w: +r.getAttribute('width'), fill: r.getAttribute('fill'),\n"
	"              name: info.split('\\n')[0], info: info.replace(/\\n/g, ' | '),\n"
	"              root: g.id === 'all' };\n"
	"    f.d = f.root ? -1 : depthOf(+r.getAttribute('y'));\n"
	"    frames.push(f); byG.set(g, f);\n"
	"  });\n"
	"  document.addEventListener('mouseover', function (e) {\n"
	"    var g = e.target.closest && e.target.closest('g.f');\n"
	"    if (g) details.textContent = byG.get(g).info;\n"
	"  });\n"
	"  document.addEventListener('mouseout', function (e) {\n"
	"    if (e.target.closest && e.target.closest('g.f')) details.textContent = ' ';\n"
	"  });\n"
	"  document.addEventListener('click', function (e) {\n"
	"    var g = e.target.closest && e.target.closest('g.f');\n"
	"    if (g) zoom(byG.get(g));\n"
	"  });\n"
	"  unzoomBtn.addEventListener('click', unzoom);\n"
	"  searchBtn.addEventListener('click', function () {\n"
	"    if (matchRe) resetSearch(); else askSearch();\n"
	"  });\n"
	"  document.addEventListener('keydown', function (e) {\n"
	"    if (e.key === '/' || (e.ctrlKey && e.key === 'f')) { e.preventDefault(); askSearch(); }\n"
	"    else if (e.key === 'Escape') { resetSearch(); unzoom(); }\n"
	"  });\n"
	"}\n"
	"function label(f, w) {\n"
	"  var n = Math.floor((w - 6) / CHAR_W);\n"
	"  if (n < 3) return '';\n"
	"  return f.name.length <= n ? f.name : f.name.slice(0, n - 2) + '..';\n"
	"}\n"
	"function place(f, x, w) {\n"
	"  f.r.setAttribute('x', x.toFixed(2)); f.r.setAttribute('width', w.toFixed(2));\n"
	"  f.t.setAttribute('x', (x + 3).toFixed(2)); f.t.textContent = label(f, w);\n"
	"}\n"
	"var EPS = 1e-6;\n"
	"function zoom(z) {\n"
	"  if (z.root) { unzoom(); return; }\n"
	"  var s = (WIDTH - 2 * PAD) / z.w;\n"
	"  frames.forEach(function (f) {\n"
	"    var inside = f.x >= z.x - EPS && f.x + f.w <= z.x + z.w + EPS * (1 + z.w);\n"
	"    var over = f.x <= z.x + EPS && f.x + f.w >= z.x + z.w - EPS * (1 + z.w);\n"
	"    f.g.classList.remove('hide', 'parent');\n"
	"    if (f.d < z.d && over) { place(f, PAD, WIDTH - 2 * PAD); f.g.classList.add('parent'); }\n"
	"    else if (f.d >= z.d && inside) place(f, PAD + (f.x - z.x) * s, f.w * s);\n"
	"    else f.g.classList.add('hide');\n"
	"  });\n"
	"  zoomed = z; unzoomBtn.classList.remove('hide');\n"
	"}\n"
	"function unzoom() {\n"
	"  frames.forEach(function (f) { f.g.classList.remove('hide', 'parent'); place(f, f.x, f.w); });\n"
	"  zoomed = null; unzoomBtn.classList.add('hide');\n"
	"}\n"
	"function askSearch() {\n"
	"  var term = prompt('Search for a function (a regular expression):', '');\n"
	"  if (term) search(term);\n"
	"}\n"
	"function search(term) {\n"
	"  var re;\n"
	"  try { re = new RegExp(term); }\n"
	"  catch (e) { re = new RegExp(term.replace(/[.*+?^${}()|[\\]\\\\]/g, '\\\\$&')); }\n"
	"  var spans = [];\n"
	"  frames.forEach(function (f) {\n"
	"    var hit = !f.root && re.test(f.name);\n"
	"    f.r.setAttribute('fill', hit ? 'rgb(230,0,230)' : f.fill);\n"
	"    f.g.classList.toggle('match', hit);\n"
	"    if (hit) spans.push([f.x, f.x + f.w]);\n"
	"  });\n"
	"  /* A match inside another one is not counted twice. */\n"
	"  spans.sort(function (a, b) { return a[0] - b[0]; });\n"
	"  var sum = 0, end = -Infinity;\n"
	"  spans.forEach(function (s) {\n"
	"    if (s[0] >= end) { sum += s[1] - s[0]; end = s[1]; }\n"
	"    else if (s[1] > end) { sum += s[1] - end; end = s[1]; }\n"
	"  });\n"
	"  matchRe = re;\n"
	"  matched.textContent = 'Matched: ' + (100 * sum / (WIDTH - 2 * PAD)).toFixed(2) + '% (' +\n"
	"    spans.length + ' frames)';\n"
	"  searchBtn.textContent = 'Reset Search';\n"
	"}\n"
	"function resetSearch() {\n"
	"  frames.forEach(function (f) { f.r.setAttribute('fill', f.fill); f.g.classList.remove('match'); });\n"
	"  matchRe = null; matched.textContent = ' '; searchBtn.textContent = 'Search';\n"
	"}\n"
	"init();\n"
	"]]></script>\n";

/* One frame: its title (function, object, time, share, calls), its rect
 * and its label. */
static void frame(struct fnt_export *x, const struct layout *l, const char *name, const char *obj,
		  uint64_t calls, uint64_t total, uint64_t self, double val, double fx, double fw,
		  int y, unsigned pal, uint32_t oid, int root)
{
	struct fnt_out *o = &x->out;
	size_t fit = fw >= 6 ? (size_t)((fw - 6) / CHAR_W) : 0;

	fnt_out_str(o, root ? "<g class=\"f\" id=\"all\"" : "<g class=\"f\"");
	fnt_out_str(o, " data-o=\"");
	fnt__out_u64(o, oid, 0);
	fnt_out_str(o, "\" data-c=\"");
	fnt__out_u64(o, calls, 0);
	fnt_out_str(o, "\"><title>");
	xml_str(o, name, 0);
	if (obj) {
		fnt_out_str(o, "\n(");
		xml_str(o, base(obj), 0);
		fnt_out_str(o, ") ");
	} else {
		fnt_out_ch(o, '\n');
	}
	dur(o, total);
	fnt_out_str(o, " total, ");
	dur(o, self);
	fnt_out_str(o, " self, ");
	num(o, "%.2f%%, ", l->total > 0 ? 100.0 * val / l->total : 100.0);
	fnt__out_u64(o, calls, 0);
	fnt_out_str(o, calls == 1 ? " call" : " calls");
	fnt_out_str(o, "</title><rect x=\"");
	num(o, "%.2f", fx);
	fnt_out_str(o, "\" y=\"");
	fnt__out_u64(o, (uint64_t)y, 0);
	fnt_out_str(o, "\" width=\"");
	num(o, "%.2f", fw);
	fnt_out_str(o, "\" height=\"15\" rx=\"2\" fill=\"");
	if (root)
		fnt_out_str(o, "rgb(200,200,210)");
	else
		colour(o, pal, name);
	fnt_out_str(o, "\"/><text x=\"");
	num(o, "%.2f", fx + 3);
	fnt_out_str(o, "\" y=\"");
	fnt__out_u64(o, (uint64_t)y + 11, 0);
	fnt_out_str(o, "\">");
	if (fit >= 3)
		xml_str(o, name, fit);
	fnt_out_str(o, "</text></g>\n");
}

static void legend(struct fnt_export *x, struct fnt_xtree *xt, const struct layout *l)
{
	struct fnt_out *o = &x->out;
	double cx = PAD;

	for (size_t i = 0; i < xt->objs.n && cx < WIDTH - 100; i++) {
		const char *path = xt->objs.name[i];
		const struct palette *p = &palettes[l->pal[i]];
		char buf[96];

		snprintf(buf, sizeof(buf),
			 "<rect x=\"%.1f\" y=\"50\" width=\"12\" height=\"12\" fill=\"rgb(%d,%d,%d)\"/>", cx,
			 p->lo[0] + p->span[0] / 2, p->lo[1] + p->span[1] / 2, p->lo[2] + p->span[2] / 2);
		fnt_out_str(o, buf);
		fnt_out_str(o, "<text class=\"obj\" x=\"");
		num(o, "%.1f", cx + 16);
		fnt_out_str(o, "\" y=\"60\" data-p=\"");
		xml_str(o, path, 0);
		fnt_out_str(o, "\">");
		xml_str(o, base(path), 40);
		fnt_out_str(o, l->pal[i] == 0 ? " (program)" : "");
		fnt_out_str(o, "</text>\n");
		cx += 16 + CHAR_W * ((double)(strlen(base(path)) < 40 ? strlen(base(path)) : 40) +
				     (l->pal[i] == 0 ? 10 : 0)) + 18;
	}
}

int fnt__flame_svg(struct fnt_export *x, struct fnt_xtree *xt, const char *partial)
{
	const struct fnt_flame_opts *fo = xt->cfg->arg;
	struct fnt_ctree *t = &xt->tree;
	struct fnt_out *o = &x->out;
	struct layout l = { 0 };
	uint32_t first = fnt__ctree_link(t, by_name, x);
	unsigned libs = 0;
	uint64_t calls = 0, total = 0, self = 0;
	int height, all_y;
	char buf[256];
	const char *what;

	l.val = fnt__xrealloc(NULL, (t->n + 1) * sizeof(*l.val));
	l.x = fnt__xrealloc(NULL, (t->n + 1) * sizeof(*l.x));
	l.w = fnt__xrealloc(NULL, (t->n + 1) * sizeof(*l.w));
	l.depth = fnt__xrealloc(NULL, (t->n + 1) * sizeof(*l.depth));
	l.shown = fnt__xrealloc(NULL, t->n + 1);
	l.pal = fnt__xrealloc(NULL, (xt->objs.n + 1) * sizeof(*l.pal));
	for (size_t i = 0; i < xt->objs.n; i++)
		l.pal[i] = is_program(x->tf, xt->objs.name[i]) ? 0 : 1 + libs++ % (NPALETTES - 1);
	lay_out(x, xt, &l, first, fo->min_width);
	for (uint32_t r = first; r != FNT_CT_NONE; r = t->node[r].next) {
		calls += t->node[r].calls;
		total += t->node[r].total;
		self += t->node[r].self;
	}
	height = TOP + (int)(l.maxdepth + 2) * FH + BOTTOM + 8;
	all_y = xt->cfg->inverted ? TOP : height - BOTTOM - FH;

	snprintf(buf, sizeof(buf),
		 "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		 "<svg version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		 "xmlns=\"http://www.w3.org/2000/svg\">\n",
		 WIDTH, height, WIDTH, height);
	fnt_out_str(o, buf);
	fnt_out_str(o, style);
	snprintf(buf, sizeof(buf),
		 "<script type=\"text/ecmascript\"><![CDATA[\nvar WIDTH = %d, PAD = %d, FH = %d, "
		 "ALL_Y = %d, INVERTED = %d, CHAR_W = %.1f;\n]]></script>\n",
		 WIDTH, PAD, FH, all_y, xt->cfg->inverted, CHAR_W);
	fnt_out_str(o, buf);
	snprintf(buf, sizeof(buf),
		 "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#f6f6f2\"/>\n", WIDTH, height);
	fnt_out_str(o, buf);

	fnt_out_str(o, "<text id=\"title\" x=\"600\" y=\"24\">");
	if (fo->title)
		xml_str(o, fo->title, 0);
	else
		fnt_out_str(o, xt->cfg->inverted ? "Callers (inverted flame graph)" : "Flame graph");
	fnt_out_str(o, "</text>\n<text id=\"subtitle\" x=\"600\" y=\"42\">");
	what = x->weight == FNT_WEIGHT_CALLS			     ? "calls"
	       : xt->cfg->inverted && x->weight == FNT_WEIGHT_SELF ? "self time"
								     : "total time";
	snprintf(buf, sizeof(buf), "%s; width: %s", base(x->threads && x->nthreads ? x->threads[0].exe : "?"),
		 what);
	xml_str(o, buf, 0);
	if (l.omitted) {
		snprintf(buf, sizeof(buf), "; %llu frames narrower than %.2g px left out",
			 (unsigned long long)l.omitted, fo->min_width);
		fnt_out_str(o, buf);
	}
	if (xt->dropped) {
		snprintf(buf, sizeof(buf), "; %llu calls past %zu paths left in their callers",
			 (unsigned long long)xt->dropped, xt->cfg->max_nodes);
		fnt_out_str(o, buf);
	}
	if (xt->lost) {
		snprintf(buf, sizeof(buf), "; %llu events lost", (unsigned long long)xt->lost);
		fnt_out_str(o, buf);
	}
	if (partial) {
		fnt_out_str(o, "; partial: ");
		xml_str(o, partial, 0);
	}
	fnt_out_str(o, "</text>\n");
	fnt_out_str(o, "<text id=\"unzoom\" class=\"btn hide\" x=\"10\" y=\"24\">Reset Zoom</text>\n");
	fnt_out_str(o, "<text id=\"search\" class=\"btn\" x=\"1190\" y=\"24\" "
		       "style=\"text-anchor: end\">Search</text>\n");
	legend(x, xt, &l);

	fnt_out_str(o, "<g id=\"frames\">\n");
	frame(x, &l, "all", NULL, calls, total, self, l.total, PAD, WIDTH - 2 * PAD, all_y, 0,
	      UINT32_MAX, 1);
	for (size_t i = 0; i < t->n; i++) {
		const struct fnt_ctnode *n = &t->node[i];
		int y;

		if (!l.shown[i])
			continue;
		y = xt->cfg->inverted ? all_y + (int)(l.depth[i] + 1) * FH
				      : all_y - (int)(l.depth[i] + 1) * FH;
		frame(x, &l, fnt_x_name(x, n->fid), xt->objs.name[n->obj], n->calls, n->total, n->self,
		      l.val[i], l.x[i], l.w[i], y, l.pal[n->obj], n->obj, 0);
	}
	fnt_out_str(o, "</g>\n");
	snprintf(buf, sizeof(buf),
		 "<text id=\"details\" x=\"10\" y=\"%d\"> </text>\n"
		 "<text id=\"matched\" x=\"1190\" y=\"%d\" style=\"text-anchor: end\"> </text>\n",
		 height - 12, height - 12);
	fnt_out_str(o, buf);
	fnt_out_str(o, script);
	fnt_out_str(o, "</svg>\n");

	free(l.val);
	free(l.x);
	free(l.w);
	free(l.depth);
	free(l.shown);
	free(l.pal);
	return 0;
}
