/*
 * demangle.c - the Itanium C++ ABI demangler (see demangle.h).
 *
 * Written from the ABI's mangling grammar
 * (itanium-cxx-abi.github.io/cxx-abi/abi.html#mangling); the output
 * follows c++filt's spelling ("char const*", "{lambda(int)#1}",
 * "[clone .cold]", "std::vector<int, std::allocator<int> >") because that
 * is what users compare with, and tests/unit/test_demangle.c checks it
 * against c++filt on thousands of real symbols.
 *
 * Two passes: the parser builds a tree of nodes in a fixed pool (indices,
 * no pointers between nodes, no allocator), recording substitution
 * candidates as the grammar says; the printer walks the tree.  Types are
 * printed in two halves (left and right of the declarator) so that
 * "void (*)(int)" and "int (&) [3]" come out in C++ order.
 *
 *   _ZNKSt6vectorIiSaIiEE4sizeEv
 *     FUNC
 *      ├─ QUAL ── QUAL(std, vector) ─ TMPL ─ LIST(int, TMPL(std::allocator, LIST(int)))
 *      │    └─ "size"
 *      └─ FTYPE (no return type, no parameters, const)
 *
 * Substitutions may make the tree a DAG whose printed form is exponential
 * in the input; the output buffer bounds the text and a visit budget the
 * work.  Recursion is bounded by a depth counter in both passes.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "core/demangle.h"

enum kind {
	K_NAME,		/* s/len: text */
	K_STD,		/* a standard substitution: flag = table index, b = 1 for the full form */
	K_QUAL,		/* a::b */
	K_TMPL,		/* a<list b> */
	K_LIST,		/* item a, next b */
	K_FUNC,		/* a function: name a, K_FTYPE b */
	K_FTYPE,	/* return type a (or -1), parameter list b (or -1), flag: CV_* | REF_* */
	K_PTR,		/* a* */
	K_LREF,		/* a& */
	K_RREF,		/* a&& */
	K_CV,		/* a const (flag: CV_*) */
	K_ARRAY,	/* a [dimension b] */
	K_PMEM,		/* member b of class a: "b a::*" */
	K_VECTOR,	/* a __vector(b) */
	K_SPECIAL,	/* text s, then a */
	K_CTORVT,	/* construction vtable for b-in-a */
	K_CLONE,	/* a [clone s] */
	K_LIT,		/* literal of type a, digits s */
	K_LITEXT,	/* an external name as a literal: &a */
	K_PACKEXP,	/* a... */
	K_ARGPACK,	/* list a */
	K_LAMBDA,	/* {lambda(list a)#b} */
	K_UNNAMED,	/* {unnamed type#b} */
	K_ABITAG,	/* a[abi:s] */
	K_LOCAL,	/* a::b (a an encoding) */
	K_DTOR,		/* ~a */
	K_CONV,		/* operator a */
	K_TPARAM,	/* template parameter b, resolved to a (or -1: a generic lambda's auto:b+1) */
	K_REFTEMP,	/* reference temporary #b for a */
	K_UNARY,	/* operator s applied to a */
	K_BINARY,	/* a s b */
	K_FPARAM,	/* {parm#b} */
	K_DECLTYPE,	/* decltype (a) */
	K_SIZEOF_T,	/* sizeof (type a) */
	K_CALL,		/* a(list b) */
};

#define CV_R 1
#define CV_V 2
#define CV_K 4
#define REF_L 8
#define REF_R 16
#define NOEXCEPT 32	/* Do before F */
#define TX_SAFE 64	/* Dx before F */

struct node {
	const char *s;
	int16_t a, b;
	uint16_t len;
	uint8_t kind, flag;
};

#define MAX_SUBS 160
#define MAX_DEPTH 128

struct dem {
	const char *p;
	int nn;
	int nsubs;
	int depth;
	int type_depth;	/* > 0 inside a type: template args there are not the function's */
	int targs;	/* list of the template args T_ refers to, or -1 */
	int in_lambda;	/* a lambda's signature: unresolved T_ is auto */
	int in_sr;	/* an unresolved name's scopes: no substitution candidates (as c++filt) */
	int last_name;	/* the last source name, a constructor's name */
	int err;
	/* printing */
	char *out;
	size_t len, cap;
	int over;
	char last;
	int simple;
	int pack_idx;	/* element of the pack a Dp expansion prints, or -1 */
	long budget;
	int16_t subs[MAX_SUBS];
	struct node n[FNT_DEM_NODES];
};

_Static_assert(sizeof(struct dem) <= sizeof(struct fnt_dem_scratch), "fnt_dem_scratch too small");
_Static_assert(_Alignof(struct dem) <= _Alignof(struct fnt_dem_scratch), "fnt_dem_scratch misaligned");

/* ---- the standard substitutions (St is handled apart) ---- */

static const struct {
	char code;
	const char *simple, *full, *last, *plain;
} std_subs[] = {
	{ 'a', "std::allocator", "std::allocator", "allocator", "std::allocator" },
	{ 'b', "std::basic_string", "std::basic_string", "basic_string", "std::basic_string" },
	{ 's', "std::string", "std::basic_string<char, std::char_traits<char>, std::allocator<char> >",
	  "basic_string", "std::basic_string" },
	{ 'i', "std::istream", "std::basic_istream<char, std::char_traits<char> >", "basic_istream",
	  "std::basic_istream" },
	{ 'o', "std::ostream", "std::basic_ostream<char, std::char_traits<char> >", "basic_ostream",
	  "std::basic_ostream" },
	{ 'd', "std::iostream", "std::basic_iostream<char, std::char_traits<char> >",
	  "basic_iostream", "std::basic_iostream" },
};

/* ---- the builtin types ---- */

static const char *builtin(char c)
{
	switch (c) {
	case 'v': return "void";
	case 'w': return "wchar_t";
	case 'b': return "bool";
	case 'c': return "char";
	case 'a': return "signed char";
	case 'h': return "unsigned char";
	case 's': return "short";
	case 't': return "unsigned short";
	case 'i': return "int";
	case 'j': return "unsigned int";
	case 'l': return "long";
	case 'm': return "unsigned long";
	case 'x': return "long long";
	case 'y': return "unsigned long long";
	case 'n': return "__int128";
	case 'o': return "unsigned __int128";
	case 'f': return "float";
	case 'd': return "double";
	case 'e': return "long double";
	case 'g': return "__float128";
	case 'z': return "...";
	}
	return NULL;
}

static const char *builtin_d(char c)
{
	switch (c) {
	case 'd': return "decimal64";
	case 'e': return "decimal128";
	case 'f': return "decimal32";
	case 'h': return "half";
	case 'i': return "char32_t";
	case 's': return "char16_t";
	case 'u': return "char8_t";
	case 'a': return "auto";
	case 'c': return "decltype(auto)";
	case 'n': return "decltype(nullptr)";
	}
	return NULL;
}

/* ---- operators: code, spelling after "operator" ---- */

static const struct {
	char code[3];
	const char *name;
} ops[] = {
	{ "nw", " new" }, { "na", " new[]" }, { "dl", " delete" }, { "da", " delete[]" },
	{ "ps", "+" }, { "ng", "-" }, { "ad", "&" }, { "de", "*" }, { "co", "~" },
	{ "pl", "+" }, { "mi", "-" }, { "ml", "*" }, { "dv", "/" }, { "rm", "%" },
	{ "an", "&" }, { "or", "|" }, { "eo", "^" }, { "aS", "=" }, { "pL", "+=" },
	{ "mI", "-=" }, { "mL", "*=" }, { "dV", "/=" }, { "rM", "%=" }, { "aN", "&=" },
	{ "oR", "|=" }, { "eO", "^=" }, { "ls", "<<" }, { "rs", ">>" }, { "lS", "<<=" },
	{ "rS", ">>=" }, { "eq", "==" }, { "ne", "!=" }, { "lt", "<" }, { "gt", ">" },
	{ "le", "<=" }, { "ge", ">=" }, { "ss", "<=>" }, { "nt", "!" }, { "aa", "&&" },
	{ "oo", "||" }, { "pp", "++" }, { "mm", "--" }, { "cm", "," }, { "pm", "->*" },
	{ "pt", "->" }, { "cl", "()" }, { "ix", "[]" }, { "qu", "?" }, { "st", " sizeof" },
	{ "sz", " sizeof" }, { "at", " alignof" }, { "az", " alignof" }, { "aw", " co_await" },
};

/* ---- parsing ---- */

static int fail(struct dem *d)
{
	if (!d->err)
		d->err = -EINVAL;
	return -1;
}

static char peek(const struct dem *d)
{
	return *d->p;
}

/* The char after the next, never past the NUL. */
static char peek2(const struct dem *d)
{
	return d->p[0] ? d->p[1] : 0;
}

static int eat(struct dem *d, char c)
{
	if (*d->p != c)
		return 0;
	d->p++;
	return 1;
}

static int mk(struct dem *d, int kind, int a, int b)
{
	struct node *x;

	if (d->nn >= FNT_DEM_NODES) {
		d->err = -ENOSPC;
		return -1;
	}
	x = &d->n[d->nn];
	memset(x, 0, sizeof(*x));
	x->kind = (uint8_t)kind;
	x->a = (int16_t)a;
	x->b = (int16_t)b;
	return d->nn++;
}

static int mk_text(struct dem *d, int kind, const char *s, size_t len)
{
	int i = mk(d, kind, -1, -1);

	if (i >= 0) {
		d->n[i].s = s;
		d->n[i].len = (uint16_t)len;
	}
	return i;
}

static int mk_str(struct dem *d, const char *s)
{
	return mk_text(d, K_NAME, s, strlen(s));
}

static int add_sub(struct dem *d, int n)
{
	if (n < 0)
		return -1;
	if (d->nsubs >= MAX_SUBS) {
		d->err = -ENOSPC;
		return -1;
	}
	d->subs[d->nsubs++] = (int16_t)n;
	return 0;
}

/* Appends item to the list whose head and tail are *head and *tail. */
static int list_add(struct dem *d, int *head, int *tail, int item)
{
	int l;

	if (item < 0)
		return -1;
	l = mk(d, K_LIST, item, -1);
	if (l < 0)
		return -1;
	if (*tail >= 0)
		d->n[*tail].b = (int16_t)l;
	else
		*head = l;
	*tail = l;
	return 0;
}

/* <number> ::= [n] <decimal>; *neg gets the sign. */
static int number(struct dem *d, long *v, int *neg)
{
	long x = 0;
	int any = 0;

	*neg = eat(d, 'n');
	while (*d->p >= '0' && *d->p <= '9') {
		if (x > 100000000)
			return fail(d);
		x = x * 10 + (*d->p++ - '0');
		any = 1;
	}
	if (!any)
		return fail(d);
	*v = x;
	return 0;
}

/* <seq-id> _ in base 36 (digits and upper-case letters); "_" alone is -1. */
static int seq_id(struct dem *d, long *v)
{
	long x = 0;

	if (eat(d, '_')) {
		*v = -1;
		return 0;
	}
	for (;;) {
		char c = *d->p;

		if (c >= '0' && c <= '9')
			x = x * 36 + (c - '0');
		else if (c >= 'A' && c <= 'Z')
			x = x * 36 + (c - 'A' + 10);
		else
			break;
		if (x > 100000)
			return fail(d);
		d->p++;
	}
	if (!eat(d, '_'))
		return fail(d);
	*v = x;
	return 0;
}

struct name_info {
	int is_tmpl;	/* ends in template args: a function's first type is its return type */
	int is_cdc;	/* a constructor, destructor or conversion: no return type */
	int quals;	/* a nested name's CV_* and REF_* (member function qualifiers) */
};

static int parse_type(struct dem *d);
static int parse_encoding(struct dem *d);
static int parse_name(struct dem *d, struct name_info *info);
static int parse_targs(struct dem *d);

/* <source-name> ::= <length> <identifier> */
static int source_name(struct dem *d)
{
	long len;
	int neg, n;
	const char *s;

	if (number(d, &len, &neg) < 0 || neg || len == 0)
		return fail(d);
	s = d->p;
	for (long i = 0; i < len; i++)
		if (!s[i])
			return fail(d);
	d->p += len;
	/* GCC's name for an anonymous namespace: _GLOBAL_ [._$] N ... */
	if (len >= 10 && !memcmp(s, "_GLOBAL_", 8) && (s[8] == '.' || s[8] == '_' || s[8] == '$') &&
	    s[9] == 'N')
		n = mk_str(d, "(anonymous namespace)");
	else
		n = mk_text(d, K_NAME, s, (size_t)len);
	d->last_name = n;
	return n;
}

static int parse_cv(struct dem *d)
{
	int cv = 0;

	if (eat(d, 'r'))
		cv |= CV_R;
	if (eat(d, 'V'))
		cv |= CV_V;
	if (eat(d, 'K'))
		cv |= CV_K;
	return cv;
}

/* <discriminator> ::= _ <digit> | __ <number> _ : not printed (as c++filt). */
static int discriminator(struct dem *d)
{
	long v;
	int neg;

	if (peek(d) != '_')
		return 0;
	d->p++;
	if (eat(d, '_')) {
		if (number(d, &v, &neg) < 0 || !eat(d, '_'))
			return fail(d);
		return 0;
	}
	if (*d->p >= '0' && *d->p <= '9') {
		d->p++;
		return 0;
	}
	return fail(d);
}

/* Parameter types up to 'E', the end, a clone suffix or a ref-qualifier before E. */
static int parse_params(struct dem *d, int *list)
{
	int head = -1, tail = -1;

	*list = -1;
	if (peek(d) == 'v') {
		char c = peek2(d);

		if (c == 'E' || c == 0 || c == '.' ||
		    ((c == 'R' || c == 'O') && d->p[2] == 'E')) {
			d->p++;
			return 0;
		}
	}
	while (peek(d) && peek(d) != 'E' && peek(d) != '.') {
		if ((peek(d) == 'R' || peek(d) == 'O') && peek2(d) == 'E')
			break;
		if (list_add(d, &head, &tail, parse_type(d)) < 0)
			return -1;
	}
	if (head < 0)
		return fail(d);
	*list = head;
	return 0;
}

/* <template-param> ::= T_ | T <number> _ */
static int parse_tparam(struct dem *d)
{
	long idx = 0;
	int n;

	if (!eat(d, 'T'))
		return fail(d);
	if (!eat(d, '_')) {
		int neg;

		if (number(d, &idx, &neg) < 0 || neg || !eat(d, '_'))
			return fail(d);
		idx++;
	}
	n = mk(d, K_TPARAM, -1, (int)idx);
	if (n < 0)
		return -1;
	if (d->targs >= 0) {
		int l = d->targs;

		for (long i = 0; i < idx && l >= 0; i++)
			l = d->n[l].b;
		if (l >= 0) {
			d->n[n].a = d->n[l].a;
			return n;
		}
	}
	/* A generic lambda's parameter is the lambda's own: auto:1, auto:2... */
	if (d->in_lambda)
		return n;
	return fail(d);
}

/* <operator-name>, <ctor-dtor-name> and friends: the <unqualified-name>s. */
static int parse_unqualified(struct dem *d, struct name_info *info)
{
	char c = peek(d);
	int n;

	info->is_cdc = 0;
	if (c == 'L') {		/* internal linkage (GCC's _ZL): not printed */
		d->p++;
		c = peek(d);
	}
	if (c >= '0' && c <= '9') {
		n = source_name(d);
	} else if (c == 'C' && (peek2(d) == 'I' || (peek2(d) >= '1' && peek2(d) <= '5'))) {
		d->p++;
		if (eat(d, 'I')) {	/* inheriting constructor: CI1 <base class> */
			if (peek(d) < '1' || peek(d) > '5')
				return fail(d);
			d->p++;
			if (parse_type(d) < 0)
				return -1;
		} else {
			d->p++;
		}
		if (d->last_name < 0)
			return fail(d);
		n = mk_text(d, K_NAME, d->n[d->last_name].s, d->n[d->last_name].len);
		info->is_cdc = 1;
	} else if (c == 'D' && (peek2(d) == '0' || peek2(d) == '1' || peek2(d) == '2' ||
				peek2(d) == '4' || peek2(d) == '5')) {
		d->p += 2;
		if (d->last_name < 0)
			return fail(d);
		n = mk(d, K_DTOR, mk_text(d, K_NAME, d->n[d->last_name].s, d->n[d->last_name].len),
		       -1);
		info->is_cdc = 1;
	} else if (c == 'U' && peek2(d) == 't') {	/* Ut [<number>] _ */
		long v = 0;
		int neg;

		d->p += 2;
		if (!eat(d, '_')) {
			if (number(d, &v, &neg) < 0 || !eat(d, '_'))
				return fail(d);
			v++;
		}
		n = mk(d, K_UNNAMED, -1, (int)v + 1);
	} else if (c == 'U' && peek2(d) == 'l') {	/* Ul <lambda-sig> E [<number>] _ */
		long v = 0;
		int neg, sig, save = d->in_lambda;

		d->p += 2;
		d->in_lambda = 1;
		d->type_depth++;
		if (parse_params(d, &sig) < 0)
			return -1;
		d->type_depth--;
		d->in_lambda = save;
		if (!eat(d, 'E'))
			return fail(d);
		if (!eat(d, '_')) {
			if (number(d, &v, &neg) < 0 || !eat(d, '_'))
				return fail(d);
			v++;
		}
		n = mk(d, K_LAMBDA, sig, (int)v + 1);
	} else if (c == 'c' && peek2(d) == 'v') {	/* cv <type>: conversion operator */
		d->p += 2;
		d->type_depth++;
		n = mk(d, K_CONV, parse_type(d), -1);
		d->type_depth--;
		info->is_cdc = 1;
	} else if (c == 'l' && peek2(d) == 'i') {	/* li <source-name>: operator"" */
		int s;

		d->p += 2;
		s = source_name(d);
		if (s < 0)
			return -1;
		n = mk(d, K_SPECIAL, s, -1);
		if (n >= 0)
			d->n[n].s = "operator\"\" ";
	} else if (c == 'v' && peek2(d) >= '0' && peek2(d) <= '9') {	/* vendor operator */
		int s;

		d->p += 2;
		s = source_name(d);
		n = mk(d, K_SPECIAL, s, -1);
		if (n >= 0)
			d->n[n].s = "operator ";
	} else if (c >= 'a' && c <= 'z') {
		const char *t = NULL;

		for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
			if (ops[i].code[0] == c && ops[i].code[1] == peek2(d)) {
				t = ops[i].name;
				break;
			}
		if (!t)
			return fail(d);
		d->p += 2;
		n = mk(d, K_SPECIAL, mk_str(d, t), -1);
		if (n >= 0)
			d->n[n].s = "operator";
	} else {
		return fail(d);
	}
	while (n >= 0 && peek(d) == 'B') {	/* <abi-tag> ::= B <source-name> */
		int save = d->last_name, t;

		d->p++;
		t = source_name(d);
		d->last_name = save;
		if (t < 0)
			return -1;
		n = mk(d, K_ABITAG, n, t);
	}
	return n;
}

/* S_, S<seq-id>_ and the standard abbreviations; prefix: the name goes on. */
static int parse_sub(struct dem *d, int prefix)
{
	char c;
	long v;
	int n;

	if (!eat(d, 'S'))
		return fail(d);
	c = peek(d);
	if (c == '_' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) {
		if (seq_id(d, &v) < 0)
			return -1;
		v++;
		if (v >= d->nsubs)
			return fail(d);
		n = d->subs[v];
		return n;
	}
	for (size_t i = 0; i < sizeof(std_subs) / sizeof(std_subs[0]); i++) {
		if (std_subs[i].code == c) {
			int full;

			d->p++;
			/* c++filt spells the whole type when a constructor or destructor follows. */
			full = prefix && (peek(d) == 'C' || peek(d) == 'D');
			n = mk(d, K_STD, -1, full);
			if (n < 0)
				return -1;
			d->n[n].flag = (uint8_t)i;
			d->last_name = mk_str(d, std_subs[i].last);
			return n;
		}
	}
	return fail(d);
}

static int qual(struct dem *d, int scope, int name)
{
	if (name < 0)
		return -1;
	return scope < 0 ? name : mk(d, K_QUAL, scope, name);
}

/* <nested-name> ::= N [<CV-qualifiers>] [<ref-qualifier>] <prefix> <unqualified-name> E */
static int parse_prefix(struct dem *d, struct name_info *info);

static int parse_nested(struct dem *d, struct name_info *info)
{
	d->p++;
	info->quals = parse_cv(d);
	if (eat(d, 'R'))
		info->quals |= REF_L;
	else if (eat(d, 'O'))
		info->quals |= REF_R;
	return parse_prefix(d, info);
}

/* The components of a nested name (or an unresolved one after sr), up to E. */
static int parse_prefix(struct dem *d, struct name_info *info)
{
	int ret = -1;

	info->is_tmpl = 0;
	for (;;) {
		char c = peek(d);

		if (c == 'E') {
			d->p++;
			break;
		}
		if (!c)
			return fail(d);
		if (c == 'S' && peek2(d) == 't') {
			d->p += 2;
			if (ret >= 0)
				return fail(d);
			ret = mk_str(d, "std");
			continue;
		}
		if (c == 'S') {
			if (ret >= 0)
				return fail(d);
			ret = parse_sub(d, 1);
			if (ret < 0)
				return -1;
			info->is_tmpl = 0;
			continue;
		}
		if (c == 'I') {
			int args;

			if (ret < 0)
				return fail(d);
			args = parse_targs(d);
			ret = mk(d, K_TMPL, ret, args);
			if (args < 0 || ret < 0)
				return -1;
			info->is_tmpl = 1;
		} else if (c == 'T') {
			ret = qual(d, ret, parse_tparam(d));
			info->is_tmpl = 0;
		} else if (c == 'M') {	/* <data-member-prefix> closure scope: nothing to print */
			d->p++;
			continue;
		} else {
			ret = qual(d, ret, parse_unqualified(d, info));
			info->is_tmpl = 0;
		}
		if (ret < 0)
			return -1;
		if (peek(d) != 'E' && !d->in_sr && add_sub(d, ret) < 0)
			return -1;
	}
	if (ret < 0)
		return fail(d);
	return ret;
}

/* An encoding inside a name (a local name's function, an external literal)
 * has template parameters of its own. */
static int inner_encoding(struct dem *d)
{
	int save_targs = d->targs, save_depth = d->type_depth, n;

	d->type_depth = 0;
	n = parse_encoding(d);
	/* At the top, the function's parameters may still name its arguments. */
	if (save_depth > 0)
		d->targs = save_targs;
	d->type_depth = save_depth;
	return n;
}

/* <local-name> ::= Z <encoding> E <entity name> [<discriminator>] | Z <encoding> E s [...] */
static int parse_local(struct dem *d, struct name_info *info)
{
	int enc, ent;

	d->p++;
	enc = inner_encoding(d);
	if (enc < 0 || !eat(d, 'E'))
		return fail(d);
	if (eat(d, 's')) {
		ent = mk_str(d, "string literal");
		info->is_tmpl = info->is_cdc = 0;
		info->quals = 0;
	} else if (peek(d) == 'd') {	/* d [<number>] _ <name>: a default argument */
		long v = 0;
		int neg, nm;

		d->p++;
		if (!eat(d, '_')) {
			if (number(d, &v, &neg) < 0 || !eat(d, '_'))
				return fail(d);
			v++;
		}
		nm = parse_name(d, info);
		if (nm < 0)
			return -1;
		ent = mk(d, K_REFTEMP, nm, (int)v + 1);
		if (ent >= 0)
			d->n[ent].flag = 1;
		return mk(d, K_LOCAL, enc, ent);
	} else {
		ent = parse_name(d, info);
	}
	if (ent < 0 || discriminator(d) < 0)
		return -1;
	return mk(d, K_LOCAL, enc, ent);
}

static int parse_name(struct dem *d, struct name_info *info)
{
	char c = peek(d);
	int n;

	info->is_tmpl = info->is_cdc = 0;
	info->quals = 0;
	if (c == 'N')
		return parse_nested(d, info);
	if (c == 'Z')
		return parse_local(d, info);
	if (c == 'S' && peek2(d) == 't') {
		d->p += 2;
		n = qual(d, mk_str(d, "std"), parse_unqualified(d, info));
	} else if (c == 'S') {
		n = parse_sub(d, 0);
		if (n < 0)
			return -1;
		if (peek(d) != 'I')
			return n;
		goto args;	/* already a candidate */
	} else {
		n = parse_unqualified(d, info);
	}
	if (n < 0)
		return -1;
	if (peek(d) != 'I')
		return n;
	if (add_sub(d, n) < 0)
		return -1;
args:
	n = mk(d, K_TMPL, n, parse_targs(d));
	if (n >= 0 && d->n[n].b < 0)
		return -1;
	info->is_tmpl = 1;
	return n;
}

/* L <type> <value> E | L <mangled-name> E */
static int parse_literal(struct dem *d)
{
	int t, n;
	const char *s;

	d->p++;
	if (peek(d) == '_' && peek2(d) == 'Z') {
		d->p += 2;
		n = mk(d, K_LITEXT, inner_encoding(d), -1);
		if (n < 0 || d->n[n].a < 0 || !eat(d, 'E'))
			return fail(d);
		return n;
	}
	if (peek(d) == 'Z') {
		d->p++;
		n = mk(d, K_LITEXT, inner_encoding(d), -1);
		if (n < 0 || d->n[n].a < 0 || !eat(d, 'E'))
			return fail(d);
		return n;
	}
	t = parse_type(d);
	if (t < 0)
		return -1;
	s = d->p;
	while (*d->p && *d->p != 'E')
		d->p++;
	if (!eat(d, 'E'))
		return fail(d);
	n = mk(d, K_LIT, t, -1);
	if (n >= 0) {
		d->n[n].s = s;
		d->n[n].len = (uint16_t)(d->p - 1 - s);
	}
	return n;
}

/* Expression operators: the binary ones and those with one operand. */
static const char *const unary_ops[] = { "ps", "ng", "ad", "de", "co", "nt", "sz", "az" };

static int parse_expr(struct dem *d);

static int op_node(struct dem *d, int kind, const char *text, int a, int b)
{
	int n;

	if (a < 0 || (kind == K_BINARY && b < 0))
		return -1;
	n = mk(d, kind, a, b);
	if (n >= 0)
		d->n[n].s = text;
	return n;
}

/*
 * The expressions found in template arguments and decltype as far as
 * practical: literals, template and function parameters, unresolved
 * names (sr), sizeof, and the unary and binary operators.  Anything
 * else fails, and the caller shows the raw name.
 */
static int parse_expr_inner(struct dem *d)
{
	char c = peek(d), c2 = peek2(d);

	if (c == 'L')
		return parse_literal(d);
	if (c == 'T')
		return parse_tparam(d);
	if (c == 'f' && c2 == 'p') {	/* fp <cv> [<number>] _ */
		long v = 0;
		int neg, n;

		d->p += 2;
		parse_cv(d);
		if (!eat(d, '_')) {
			if (number(d, &v, &neg) < 0 || neg || !eat(d, '_'))
				return fail(d);
			v++;
		}
		n = mk(d, K_FPARAM, -1, (int)v + 1);
		return n;
	}
	if (c == 's' && c2 == 'r') {	/* sr <prefix> E <name> | sr <type> <name> */
		struct name_info info;
		int scope, name;

		d->p += 2;
		c = peek(d);
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == 'C' || c == 'U' ||
		    c == 'L') {
			int save = d->in_sr;

			d->in_sr = 1;
			scope = parse_prefix(d, &info);
			d->in_sr = save;
		} else
			scope = parse_type(d);
		if (scope < 0)
			return -1;
		name = parse_unqualified(d, &info);
		if (name < 0)
			return -1;
		if (peek(d) != 'I')
			return mk(d, K_QUAL, scope, name);
		/* c++filt puts the arguments on the whole name, which makes it no
		 * plain name: "(std::declval<int&>)()" */
		name = mk(d, K_TMPL, mk(d, K_QUAL, scope, name), parse_targs(d));
		if (name >= 0 && d->n[name].b < 0)
			return -1;
		return name;
	}
	if (c == 's' && c2 == 't') {
		d->p += 2;
		return op_node(d, K_SIZEOF_T, "sizeof ", parse_type(d), -1);
	}
	if (c == 'c' && c2 == 'l') {	/* cl <callee> <argument>* E */
		int fn, head = -1, tail = -1;

		d->p += 2;
		fn = parse_expr(d);
		if (fn < 0)
			return -1;
		while (!eat(d, 'E')) {
			if (!peek(d))
				return fail(d);
			if (list_add(d, &head, &tail, parse_expr(d)) < 0)
				return -1;
		}
		return mk(d, K_CALL, fn, head);
	}
	if (c >= '0' && c <= '9') {
		int n = source_name(d);

		if (n >= 0 && peek(d) == 'I')
			n = mk(d, K_TMPL, n, parse_targs(d));
		return n;
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		const char *t;
		int un = 0, a;

		if (ops[i].code[0] != c || ops[i].code[1] != c2)
			continue;
		for (size_t k = 0; k < sizeof(unary_ops) / sizeof(unary_ops[0]); k++)
			un |= unary_ops[k][0] == c && unary_ops[k][1] == c2;
		t = ops[i].name;
		if (!strcmp(ops[i].code, "sz"))
			t = "sizeof ";
		else if (!strcmp(ops[i].code, "az"))
			t = "alignof ";
		else if (*t == ' ' || !strcmp(ops[i].code, "cl") || !strcmp(ops[i].code, "ix") ||
			 !strcmp(ops[i].code, "qu"))
			return fail(d);	/* new, delete, calls, subscripts: not handled */
		d->p += 2;
		a = parse_expr(d);
		if (un)
			return op_node(d, K_UNARY, t, a, -1);
		return op_node(d, K_BINARY, t, a, a >= 0 ? parse_expr(d) : -1);
	}
	return fail(d);
}

static int parse_expr(struct dem *d)
{
	int n;

	if (++d->depth > MAX_DEPTH)
		return fail(d);
	n = parse_expr_inner(d);
	d->depth--;
	return n;
}

/* <template-args> ::= I <template-arg>+ E */
static int parse_targs(struct dem *d)
{
	int head = -1, tail = -1, save = d->last_name, outer = d->type_depth == 0;

	if (!eat(d, 'I'))
		return fail(d);
	d->type_depth++;
	while (!eat(d, 'E')) {
		int a;

		if (!peek(d))
			return fail(d);
		if (peek(d) == 'L') {
			a = parse_literal(d);
		} else if (peek(d) == 'J') {	/* an argument pack */
			int h = -1, t = -1;

			d->p++;
			while (!eat(d, 'E')) {
				if (!peek(d))
					return fail(d);
				if (list_add(d, &h, &t, peek(d) == 'L' ? parse_literal(d) : parse_type(d)) < 0)
					return -1;
			}
			a = mk(d, K_ARGPACK, h, -1);
		} else if (peek(d) == 'X') {	/* X <expression> E */
			d->p++;
			a = parse_expr(d);
			if (a >= 0 && !eat(d, 'E'))
				return fail(d);
		} else {
			a = parse_type(d);
		}
		if (list_add(d, &head, &tail, a) < 0)
			return -1;
	}
	d->type_depth--;
	d->last_name = save;
	if (head < 0)	/* I E: an empty list is not in the grammar */
		return fail(d);
	/* The function's (or its class's) own arguments are what T_ means in its signature. */
	if (outer)
		d->targs = head;
	return head;
}

/* F [Y] <return type> <parameter types> [<ref-qualifier>] E */
static int parse_ftype(struct dem *d)
{
	int ret, params, n;

	d->p++;
	eat(d, 'Y');
	ret = parse_type(d);
	if (ret < 0 || parse_params(d, &params) < 0)
		return -1;
	n = mk(d, K_FTYPE, ret, params);
	if (n < 0)
		return -1;
	if (eat(d, 'R'))
		d->n[n].flag |= REF_L;
	else if (eat(d, 'O'))
		d->n[n].flag |= REF_R;
	if (!eat(d, 'E'))
		return fail(d);
	return n;
}

static int parse_type_inner(struct dem *d)
{
	char c = peek(d), c2 = peek2(d);
	const char *b;
	int n, sub = 1;

	if ((b = builtin(c)) != NULL) {
		d->p++;
		return mk_str(d, b);
	}
	switch (c) {
	case 'u':	/* vendor extended type */
		d->p++;
		n = source_name(d);
		break;
	case 'D':
		if ((b = builtin_d(c2)) != NULL) {
			d->p += 2;
			return mk_str(d, b);
		}
		if (c2 == 'p') {
			d->p += 2;
			n = mk(d, K_PACKEXP, parse_type(d), -1);
			if (n >= 0 && d->n[n].a < 0)
				return -1;
		} else if (c2 == 'F') {	/* DF <number> _ : _FloatN */
			const char *s;

			d->p += 2;
			s = d->p - 1;
			while (*d->p >= '0' && *d->p <= '9')
				d->p++;
			if (d->p == s + 1 || !eat(d, '_'))
				return fail(d);
			n = mk_text(d, K_NAME, s, (size_t)(d->p - 1 - s));
			if (n >= 0) {
				d->n[n].s = s;	/* printed as _Float + digits */
				d->n[n].flag = 1;
			}
			return n;
		} else if (c2 == 'v') {	/* Dv <number> _ <type>: vector */
			long v;
			int neg, e, dim;
			const char *s;

			d->p += 2;
			s = d->p;
			if (number(d, &v, &neg) < 0 || neg || !eat(d, '_'))
				return fail(d);
			dim = mk_text(d, K_NAME, s, (size_t)(d->p - 1 - s));
			e = parse_type(d);
			if (e < 0)
				return -1;
			n = mk(d, K_VECTOR, e, dim);
		} else if ((c2 == 'o' || c2 == 'x') && d->p[2] == 'F') {	/* noexcept function */
			d->p += 2;
			n = parse_ftype(d);
			if (n >= 0)
				d->n[n].flag |= c2 == 'o' ? NOEXCEPT : TX_SAFE;
		} else if (c2 == 't' || c2 == 'T') {	/* decltype (expression) */
			d->p += 2;
			n = op_node(d, K_DECLTYPE, "decltype (", parse_expr(d), -1);
			if (n >= 0 && !eat(d, 'E'))
				return fail(d);
		} else {
			return fail(d);	/* exception specifications: not handled */
		}
		break;
	case 'r':
	case 'V':
	case 'K': {
		/* Qualifiers before F belong to a member function's 'this': the
		 * unqualified function type is no substitution candidate. */
		int cv = parse_cv(d), t = peek(d) == 'F' ? parse_ftype(d) : parse_type(d);

		if (t < 0)
			return -1;
		if (d->n[t].kind == K_FTYPE) {	/* a member function's qualifiers */
			n = mk(d, K_FTYPE, d->n[t].a, d->n[t].b);
			if (n >= 0)
				d->n[n].flag = (uint8_t)(d->n[t].flag | cv);
		} else {
			n = mk(d, K_CV, t, -1);
			if (n >= 0)
				d->n[n].flag = (uint8_t)cv;
		}
		break;
	}
	case 'P':
	case 'R':
	case 'O':
		d->p++;
		n = mk(d, c == 'P' ? K_PTR : c == 'R' ? K_LREF : K_RREF, parse_type(d), -1);
		if (n >= 0 && d->n[n].a < 0)
			return -1;
		break;
	case 'F':
		n = parse_ftype(d);
		break;
	case 'A': {	/* A <number> _ <type> | A _ <type> */
		int dim = -1, e;

		d->p++;
		if (peek(d) >= '0' && peek(d) <= '9') {
			const char *s = d->p;

			while (*d->p >= '0' && *d->p <= '9')
				d->p++;
			dim = mk_text(d, K_NAME, s, (size_t)(d->p - s));
		} else if (peek(d) != '_') {
			return fail(d);	/* a dimension expression */
		}
		if (!eat(d, '_'))
			return fail(d);
		e = parse_type(d);
		if (e < 0)
			return -1;
		n = mk(d, K_ARRAY, e, dim);
		break;
	}
	case 'M': {
		int cls, mem;

		d->p++;
		cls = parse_type(d);
		if (cls < 0)
			return -1;
		mem = parse_type(d);
		if (mem < 0)
			return -1;
		n = mk(d, K_PMEM, cls, mem);
		break;
	}
	case 'T':
		n = parse_tparam(d);
		if (n < 0)
			return -1;
		if (peek(d) == 'I') {	/* template template parameter with arguments */
			if (add_sub(d, n) < 0)
				return -1;
			n = mk(d, K_TMPL, n, parse_targs(d));
			if (n >= 0 && d->n[n].b < 0)
				return -1;
		}
		break;
	case 'S':
		if (c2 == '_' || (c2 >= '0' && c2 <= '9') || (c2 >= 'A' && c2 <= 'Z')) {
			n = parse_sub(d, 0);
			if (n < 0)
				return -1;
			if (peek(d) != 'I')
				return n;	/* not a new candidate */
			n = mk(d, K_TMPL, n, parse_targs(d));
			if (n >= 0 && d->n[n].b < 0)
				return -1;
			break;
		}
		/* St..., Sa... are class names */
		__attribute__((fallthrough));
	case 'N':
	case 'Z':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9': {
		struct name_info info;

		n = parse_name(d, &info);
		if (n >= 0 && d->n[n].kind == K_STD)
			sub = 0;
		break;
	}
	default:
		return fail(d);
	}
	if (n < 0)
		return -1;
	if (sub && add_sub(d, n) < 0)
		return -1;
	return n;
}

static int parse_type(struct dem *d)
{
	int n;

	if (++d->depth > MAX_DEPTH)
		return fail(d);
	d->type_depth++;
	n = parse_type_inner(d);
	d->type_depth--;
	d->depth--;
	return n;
}

/* <call-offset> ::= h <number> _ | v <number> _ <number> _ */
static int call_offset(struct dem *d, char c)
{
	long v;
	int neg;

	if (c == 0) {
		c = peek(d);
		if (c != 'h' && c != 'v')
			return fail(d);
		d->p++;
	}
	if (number(d, &v, &neg) < 0 || !eat(d, '_'))
		return fail(d);
	if (c == 'v' && (number(d, &v, &neg) < 0 || !eat(d, '_')))
		return fail(d);
	return 0;
}

static int special(struct dem *d, const char *text, int inner)
{
	int n;

	if (inner < 0)
		return -1;
	n = mk(d, K_SPECIAL, inner, -1);
	if (n >= 0)
		d->n[n].s = text;
	return n;
}

/* <special-name>: vtables, typeinfo, thunks, guard variables... */
static int parse_special(struct dem *d)
{
	char c = peek(d), c2 = peek2(d);
	struct name_info info;

	d->p += 2;
	if (c == 'T') {
		switch (c2) {
		case 'V': return special(d, "vtable for ", parse_type(d));
		case 'T': return special(d, "VTT for ", parse_type(d));
		case 'I': return special(d, "typeinfo for ", parse_type(d));
		case 'S': return special(d, "typeinfo name for ", parse_type(d));
		case 'H': return special(d, "TLS init function for ", parse_name(d, &info));
		case 'W': return special(d, "TLS wrapper function for ", parse_name(d, &info));
		case 'A': {
			int t = d->p[0] == 'L' ? parse_literal(d) : parse_type(d);

			return special(d, "template parameter object for ", t);
		}
		case 'h':
		case 'v':
			if (call_offset(d, c2) < 0)
				return -1;
			return special(d, c2 == 'h' ? "non-virtual thunk to " : "virtual thunk to ",
				       parse_encoding(d));
		case 'c':
			if (call_offset(d, 0) < 0 || call_offset(d, 0) < 0)
				return -1;
			return special(d, "covariant return thunk to ", parse_encoding(d));
		case 'C': {
			int derived = parse_type(d), base;
			long v;
			int neg;

			if (derived < 0 || number(d, &v, &neg) < 0 || !eat(d, '_'))
				return fail(d);
			base = parse_type(d);
			if (base < 0)
				return -1;
			return mk(d, K_CTORVT, derived, base);
		}
		}
		return fail(d);
	}
	switch (c2) {
	case 'V':
		return special(d, "guard variable for ", parse_name(d, &info));
	case 'R': {
		int nm = parse_name(d, &info), n;
		long v;

		if (nm < 0 || seq_id(d, &v) < 0)
			return -1;
		n = mk(d, K_REFTEMP, nm, (int)(v + 1));
		return n;
	}
	case 'A':
		return special(d, "hidden alias for ", parse_encoding(d));
	case 'T':
		if (eat(d, 't'))
			return special(d, "transaction clone for ", parse_encoding(d));
		if (eat(d, 'n'))
			return special(d, "non-transaction clone for ", parse_encoding(d));
		return fail(d);
	}
	return fail(d);
}

/* <encoding> ::= <name> <bare-function-type> | <name> | <special-name> */
static int parse_encoding(struct dem *d)
{
	struct name_info info;
	int name, ret = -1, params, ft, n;

	if (++d->depth > MAX_DEPTH)
		return fail(d);
	if ((peek(d) == 'T' && peek2(d) && peek2(d) != '_' && !(peek2(d) >= '0' && peek2(d) <= '9')) ||
	    (peek(d) == 'G' && peek2(d))) {
		n = parse_special(d);
		d->depth--;
		return n;
	}
	name = parse_name(d, &info);
	if (name < 0)
		return -1;
	if (!peek(d) || peek(d) == 'E' || peek(d) == '.') {
		d->depth--;
		return name;
	}
	if (info.is_tmpl && !info.is_cdc) {
		ret = parse_type(d);
		if (ret < 0)
			return -1;
	}
	if (parse_params(d, &params) < 0)
		return -1;
	ft = mk(d, K_FTYPE, ret, params);
	if (ft < 0)
		return -1;
	d->n[ft].flag = (uint8_t)info.quals;
	d->depth--;
	return mk(d, K_FUNC, name, ft);
}

/* GCC's clone suffixes: .cold, .isra.0, .constprop.0, .part.0, .lto_priv.0 */
static int clone_suffixes(struct dem *d, int n)
{
	while (n >= 0 && peek(d) == '.') {
		const char *s = d->p;
		char c = peek2(d);

		if (!((c >= 'a' && c <= 'z') || c == '_' || (c >= '0' && c <= '9')))
			return fail(d);
		d->p++;
		if (!(c >= '0' && c <= '9'))
			while ((*d->p >= 'a' && *d->p <= 'z') || *d->p == '_')
				d->p++;
		while (d->p[0] == '.' && d->p[1] >= '0' && d->p[1] <= '9') {
			d->p++;
			while (*d->p >= '0' && *d->p <= '9')
				d->p++;
		}
		n = mk(d, K_CLONE, n, -1);
		if (n >= 0) {
			d->n[n].s = s;
			d->n[n].len = (uint16_t)(d->p - s);
		}
	}
	return n;
}

/* ---- printing ---- */

static void put(struct dem *d, const char *s, size_t len)
{
	if (d->over || !len)
		return;
	if (d->len + len >= d->cap) {
		d->over = 1;
		return;
	}
	memcpy(d->out + d->len, s, len);
	d->len += len;
	d->last = s[len - 1];
}

static void puts_(struct dem *d, const char *s)
{
	put(d, s, strlen(s));
}

static void put_num(struct dem *d, long v)
{
	char b[24];
	int i = sizeof(b);

	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i > 0);
	put(d, b + i, sizeof(b) - (size_t)i);
}

static int enter(struct dem *d)
{
	if (d->over || d->err)
		return 0;
	if (--d->budget < 0 || ++d->depth > 2 * MAX_DEPTH) {
		d->err = -ENOSPC;
		return 0;
	}
	return 1;
}

static void pr(struct dem *d, int n);
static void pr_left(struct dem *d, int n);
static void pr_right(struct dem *d, int n, int in_array);

/* A template parameter stands for its argument, or one element of a pack. */
static int resolve(const struct dem *d, int n)
{
	for (int i = 0; n >= 0 && d->n[n].kind == K_TPARAM && d->n[n].a >= 0 && i < 16; i++) {
		n = d->n[n].a;
		if (d->n[n].kind == K_ARGPACK && d->pack_idx >= 0) {
			int l = d->n[n].a;

			for (int k = 0; k < d->pack_idx && l >= 0; k++)
				l = d->n[l].b;
			if (l < 0)
				return -1;
			n = d->n[l].a;
		}
	}
	return n;
}

static int is_fn(const struct dem *d, int n)
{
	n = resolve(d, n);
	return n >= 0 && d->n[n].kind == K_FTYPE;
}

/* Strips the qualifiers of n (through template parameters) into *cv. */
static int strip_cv(const struct dem *d, int n, int *cv)
{
	n = resolve(d, n);
	for (int i = 0; n >= 0 && d->n[n].kind == K_CV && i < 32; i++) {
		*cv |= d->n[n].flag;
		n = resolve(d, d->n[n].a);
	}
	return n;
}

/* An array, or a qualified one (C++ puts the qualifiers on its elements). */
static int is_arr(const struct dem *d, int n)
{
	int cv = 0;

	n = strip_cv(d, n, &cv);
	return n >= 0 && d->n[n].kind == K_ARRAY;
}

/*
 * A reference to a reference (T_& with T_ = int&&) collapses as in C++:
 * & wins.  Returns the node the reference really refers to; *kind gets
 * K_LREF or K_RREF.
 */
static int collapse(const struct dem *d, int n, int *kind)
{
	int k = d->n[n].kind, in = d->n[n].a;

	for (int i = 0; i < 32; i++) {
		int r = resolve(d, in);

		if (r < 0 || (d->n[r].kind != K_LREF && d->n[r].kind != K_RREF))
			break;
		if (d->n[r].kind == K_LREF)
			k = K_LREF;
		in = d->n[r].a;
	}
	*kind = k;
	return in;
}

/* A pointer or reference to a function or array leaves its "(*" open:
 * what follows goes inside, with no space ("int (*f())(char)"). */
static int opens_paren(const struct dem *d, int n)
{
	int cv = 0;

	n = strip_cv(d, n, &cv);
	if (n < 0)
		return 0;
	if (d->n[n].kind == K_PTR || d->n[n].kind == K_LREF || d->n[n].kind == K_RREF)
		return is_fn(d, d->n[n].a) || is_arr(d, d->n[n].a);
	if (d->n[n].kind == K_PMEM)
		return is_fn(d, d->n[n].b);
	return 0;
}

/* The pack a Dp expands: the first template parameter naming one. */
static int find_pack(struct dem *d, int n, int lvl)
{
	const struct node *x;
	int r;

	if (n < 0 || lvl > 64 || --d->budget < 0)
		return -1;
	x = &d->n[n];
	switch (x->kind) {
	case K_TPARAM:
		if (x->a >= 0 && d->n[x->a].kind == K_ARGPACK)
			return x->a;
		return -1;
	case K_PTR: case K_LREF: case K_RREF: case K_CV: case K_ARRAY: case K_VECTOR:
		return find_pack(d, x->a, lvl + 1);
	case K_FTYPE: case K_PMEM: case K_LIST:
		r = find_pack(d, x->a, lvl + 1);
		return r >= 0 ? r : find_pack(d, x->b, lvl + 1);
	case K_TMPL:
		return find_pack(d, x->b, lvl + 1);
	}
	return -1;
}

static void pr_type(struct dem *d, int n)
{
	pr_left(d, n);
	pr_right(d, n, 0);
}

/*
 * Items of a list separated by ", ", packs spread.  c++filt's lists are
 * nested pairs, so a comma goes only when everything after it printed
 * nothing: a trailing empty pack takes its comma with it, one in the
 * middle leaves "f(int, , char)".  The last char seen stays the comma's
 * ' ', which is why c++filt prints "A<B<C>>" after an empty pack.
 */
static void pr_list(struct dem *d, int l)
{
	size_t cut = (size_t)-1;	/* where a run of empty trailing items began */

	for (int first = 1; l >= 0 && !d->over && !d->err; l = d->n[l].b, first = 0) {
		int it = d->n[l].a, r;
		size_t before = d->len, after;

		if (!first)
			puts_(d, ", ");
		after = d->len;
		r = resolve(d, it);
		if (d->n[it].kind == K_PACKEXP) {
			int pk = find_pack(d, d->n[it].a, 0), save = d->pack_idx, k = 0;

			if (pk < 0) {
				pr_type(d, d->n[it].a);
				puts_(d, "...");
			}
			for (int e = pk >= 0 ? d->n[pk].a : -1; e >= 0 && !d->over; e = d->n[e].b, k++) {
				if (k)
					puts_(d, ", ");
				d->pack_idx = k;
				pr_type(d, d->n[it].a);
			}
			d->pack_idx = save;
		} else if (r >= 0 && d->n[r].kind == K_ARGPACK) {
			pr_list(d, d->n[r].a);
		} else {
			pr_type(d, it);
		}
		if (d->len != after)
			cut = (size_t)-1;
		else if (cut == (size_t)-1)
			cut = before;
	}
	if (cut != (size_t)-1 && !d->over)
		d->len = cut;
}

static void pr_quals(struct dem *d, int q)
{
	if (q & NOEXCEPT)
		puts_(d, " noexcept");
	if (q & TX_SAFE)
		puts_(d, " transaction_safe");
	if (q & CV_K)
		puts_(d, " const");
	if (q & CV_V)
		puts_(d, " volatile");
	if (q & CV_R)
		puts_(d, " restrict");
	if (q & REF_L)
		puts_(d, " &");
	if (q & REF_R)
		puts_(d, " &&");
}

static void pr_params(struct dem *d, int l)
{
	puts_(d, "(");
	pr_list(d, l);
	puts_(d, ")");
}

static void pr_left(struct dem *d, int n)
{
	const struct node *x;

	if (!enter(d))
		return;
	x = &d->n[n];
	switch (x->kind) {
	case K_PTR:
	case K_LREF:
	case K_RREF: {
		int k = K_PTR, in = x->kind == K_PTR ? x->a : collapse(d, n, &k);

		pr_left(d, in);
		if (is_arr(d, in))
			puts_(d, " (");
		else if (is_fn(d, in))
			puts_(d, "(");
		puts_(d, k == K_PTR ? "*" : k == K_LREF ? "&" : "&&");
		break;
	}
	case K_CV: {
		/* T_ const with T_ = int const is "int const"; with T_ = char [4],
		 * "char const [4]". */
		int cv = 0, in = strip_cv(d, n, &cv);

		if (in >= 0 && d->n[in].kind == K_ARRAY) {
			pr_left(d, d->n[in].a);
			pr_quals(d, cv);
		} else if (in >= 0) {
			pr_left(d, in);
			pr_quals(d, cv);
		}
		break;
	}
	case K_FTYPE:
		if (x->a >= 0)
			pr_left(d, x->a);
		if (!opens_paren(d, x->a))
			puts_(d, " ");
		break;
	case K_ARRAY:
		pr_left(d, x->a);
		break;
	case K_PMEM:
		pr_left(d, x->b);
		puts_(d, is_fn(d, x->b) ? "(" : " ");
		pr_type(d, x->a);
		puts_(d, "::*");
		break;
	case K_TPARAM: {
		int r = resolve(d, n);

		if (r < 0 && x->a < 0) {
			puts_(d, "auto:");
			put_num(d, x->b + 1);
		} else if (r >= 0 && d->n[r].kind == K_ARGPACK) {
			pr_list(d, d->n[r].a);
		} else if (r >= 0) {
			pr_left(d, r);
		} else {
			d->err = -EINVAL;
		}
		break;
	}
	default:
		pr(d, n);
	}
	d->depth--;
}

static void pr_right(struct dem *d, int n, int in_array)
{
	const struct node *x;

	if (!enter(d))
		return;
	x = &d->n[n];
	switch (x->kind) {
	case K_PTR:
	case K_LREF:
	case K_RREF: {
		int k, in = x->kind == K_PTR ? x->a : collapse(d, n, &k);

		if (is_arr(d, in) || is_fn(d, in))
			puts_(d, ")");
		pr_right(d, in, 0);
		break;
	}
	case K_CV: {
		int cv = 0, in = strip_cv(d, n, &cv);

		if (in >= 0)
			pr_right(d, in, in_array);
		break;
	}
	case K_FTYPE:
		pr_params(d, x->b);
		pr_quals(d, x->flag);
		if (x->a >= 0)
			pr_right(d, x->a, 0);
		break;
	case K_ARRAY:
		if (!in_array)
			puts_(d, " ");
		puts_(d, "[");
		if (x->b >= 0)
			pr(d, x->b);
		puts_(d, "]");
		pr_right(d, x->a, 1);
		break;
	case K_PMEM:
		if (is_fn(d, x->b))
			puts_(d, ")");
		pr_right(d, x->b, 0);
		break;
	case K_TPARAM: {
		int r = resolve(d, n);

		if (r >= 0 && d->n[r].kind != K_ARGPACK)
			pr_right(d, r, in_array);
		break;
	}
	}
	d->depth--;
}

/* Literal suffixes c++filt uses for the integer types it knows. */
static void pr_literal(struct dem *d, const struct node *x)
{
	const struct node *t = &d->n[x->a];
	const char *v = x->s;
	size_t len = x->len;
	const char *suf = NULL;

	if (t->kind == K_NAME && t->len) {
		static const struct {
			const char *type, *suf;
		} sfx[] = {
			{ "int", "" }, { "unsigned int", "u" }, { "long", "l" },
			{ "unsigned long", "ul" }, { "long long", "ll" },
			{ "unsigned long long", "ull" },
		};

		for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
			if (strlen(sfx[i].type) == t->len && !memcmp(sfx[i].type, t->s, t->len))
				suf = sfx[i].suf;
		if (t->len == 4 && !memcmp(t->s, "bool", 4) && len == 1 && (*v == '0' || *v == '1')) {
			puts_(d, *v == '1' ? "true" : "false");
			return;
		}
	}
	if (!suf) {
		puts_(d, "(");
		pr_type(d, x->a);
		puts_(d, ")");
	}
	if (len && *v == 'n') {
		puts_(d, "-");
		v++;
		len--;
	}
	put(d, v, len);
	if (suf)
		puts_(d, suf);
}

static void pr_func(struct dem *d, int n, int with_ret);
static void pr_subexpr(struct dem *d, int n);

/* A function: [return type] name(parameters) qualifiers. */
static void pr_func(struct dem *d, int n, int with_ret)
{
	const struct node *x = &d->n[n], *f = &d->n[x->b];
	int ret = with_ret ? f->a : -1;

	if (d->simple) {
		pr(d, x->a);
		return;
	}
	if (ret >= 0) {
		pr_left(d, ret);
		if (!opens_paren(d, ret))
			puts_(d, " ");
	}
	pr(d, x->a);
	pr_params(d, f->b);
	pr_quals(d, f->flag);
	if (ret >= 0)
		pr_right(d, ret, 0);
}

static void pr(struct dem *d, int n)
{
	const struct node *x;

	if (n < 0) {
		d->err = -EINVAL;
		return;
	}
	if (!enter(d))
		return;
	x = &d->n[n];
	switch (x->kind) {
	case K_NAME:
		if (x->flag == 1) {	/* DF<N>_ */
			puts_(d, "_Float");
			put(d, x->s + 2, x->len > 2 ? x->len - 2 : 0);
		} else {
			put(d, x->s, x->len);
		}
		break;
	case K_STD:
		/* c++filt demangles verbosely: std::string is spelled out. */
		puts_(d, d->simple ? std_subs[x->flag].plain : std_subs[x->flag].full);
		break;
	case K_QUAL:
		pr(d, x->a);
		puts_(d, "::");
		pr(d, x->b);
		break;
	case K_TMPL:
		pr(d, x->a);
		if (d->simple)
			break;
		if (d->last == '<')
			puts_(d, " ");
		puts_(d, "<");
		pr_list(d, x->b);
		if (d->last == '>')
			puts_(d, " ");
		puts_(d, ">");
		break;
	case K_FUNC:
		pr_func(d, n, 1);
		break;
	case K_FTYPE: case K_PTR: case K_LREF: case K_RREF: case K_CV: case K_ARRAY:
	case K_PMEM: case K_TPARAM:
		pr_type(d, n);
		break;
	case K_VECTOR:
		pr_type(d, x->a);
		puts_(d, " __vector(");
		pr(d, x->b);
		puts_(d, ")");
		break;
	case K_SPECIAL:
		puts_(d, x->s);
		pr(d, x->a);
		break;
	case K_CTORVT:
		puts_(d, "construction vtable for ");
		pr_type(d, x->b);
		puts_(d, "-in-");
		pr_type(d, x->a);
		break;
	case K_CLONE:
		pr(d, x->a);
		puts_(d, " [clone ");
		put(d, x->s, x->len);
		puts_(d, "]");
		break;
	case K_LIT:
		pr_literal(d, x);
		break;
	case K_LITEXT:
		pr(d, x->a);
		break;
	case K_PACKEXP:
		pr_type(d, x->a);
		puts_(d, "...");
		break;
	case K_ARGPACK:
		pr_list(d, x->a);
		break;
	case K_LAMBDA:
		puts_(d, "{lambda");
		if (!d->simple)
			pr_params(d, x->a);
		puts_(d, "#");
		put_num(d, x->b);
		puts_(d, "}");
		break;
	case K_UNNAMED:
		puts_(d, "{unnamed type#");
		put_num(d, x->b);
		puts_(d, "}");
		break;
	case K_ABITAG:
		pr(d, x->a);
		if (d->simple)
			break;
		puts_(d, "[abi:");
		pr(d, x->b);
		puts_(d, "]");
		break;
	case K_LOCAL:
		/* c++filt leaves out the return type of the enclosing function. */
		if (d->n[x->a].kind == K_FUNC)
			pr_func(d, x->a, 0);
		else
			pr(d, x->a);
		puts_(d, "::");
		pr(d, x->b);
		break;
	case K_DTOR:
		puts_(d, "~");
		pr(d, x->a);
		break;
	case K_CONV:
		puts_(d, "operator ");
		pr_type(d, x->a);
		break;
	case K_REFTEMP:
		if (x->flag) {	/* a default argument's scope */
			puts_(d, "{default arg#");
			put_num(d, x->b);
			puts_(d, "}::");
			pr(d, x->a);
			break;
		}
		puts_(d, "reference temporary #");
		put_num(d, x->b - 1);
		puts_(d, " for ");
		pr(d, x->a);
		break;
	case K_UNARY: {
		int o = x->a;

		/* &f of a function that is no template: c++filt shows just its name */
		if (!strcmp(x->s, "&") && d->n[o].kind == K_LITEXT &&
		    d->n[d->n[o].a].kind == K_FUNC && d->n[d->n[d->n[o].a].b].a < 0)
			o = d->n[d->n[o].a].a;
		puts_(d, x->s);
		pr_subexpr(d, o);
		break;
	}
	case K_BINARY:
		/* c++filt wraps a '>' so that it cannot close the argument list */
		if (!strcmp(x->s, ">"))
			puts_(d, "(");
		pr_subexpr(d, x->a);
		puts_(d, x->s);
		pr_subexpr(d, x->b);
		if (!strcmp(x->s, ">"))
			puts_(d, ")");
		break;
	case K_CALL:
		pr_subexpr(d, x->a);
		puts_(d, "(");
		for (int l = x->b; l >= 0 && !d->over; l = d->n[l].b) {
			if (l != x->b)
				puts_(d, ", ");
			pr(d, d->n[l].a);
		}
		puts_(d, ")");
		break;
	case K_FPARAM:
		puts_(d, "{parm#");
		put_num(d, x->b);
		puts_(d, "}");
		break;
	case K_DECLTYPE:
		puts_(d, "decltype (");
		pr(d, x->a);
		puts_(d, ")");
		break;
	case K_SIZEOF_T:
		puts_(d, "sizeof (");
		pr_type(d, x->a);
		puts_(d, ")");
		break;
	default:
		d->err = -EINVAL;
	}
	d->depth--;
}

/* An operand: in parentheses unless it is a plain name. */
static void pr_subexpr(struct dem *d, int n)
{
	int k = d->n[n].kind, simple = k == K_NAME || k == K_QUAL || k == K_FPARAM;

	if (!simple)
		puts_(d, "(");
	pr(d, n);
	if (!simple)
		puts_(d, ")");
}

int fnt_demangle_in(struct fnt_dem_scratch *sc, const char *name, char *out, size_t outlen,
		    enum fnt_dem_style style)
{
	struct dem *d = (struct dem *)(void *)sc;
	int root;

	if (outlen)
		out[0] = 0;
	if (!name || name[0] != '_' || name[1] != 'Z' || style == FNT_DEM_NONE)
		return -EINVAL;
	memset(d, 0, offsetof(struct dem, subs));
	d->p = name + 2;
	d->targs = d->last_name = -1;
	d->pack_idx = -1;
	root = parse_encoding(d);
	root = clone_suffixes(d, root);
	if (d->err)
		return d->err;
	if (root < 0 || *d->p)
		return -EINVAL;
	if (!outlen)
		return -ENOSPC;
	d->out = out;
	d->cap = outlen;
	d->simple = style == FNT_DEM_SIMPLE;
	d->budget = 1L << 16;
	d->depth = 0;
	pr(d, root);
	out[d->len < outlen ? d->len : outlen - 1] = 0;
	if (d->err || d->over) {
		out[0] = 0;
		return d->over ? -ENOSPC : d->err;
	}
	return 0;
}

int fnt_demangle(const char *name, char *out, size_t outlen, enum fnt_dem_style style)
{
	struct fnt_dem_scratch sc;

	return fnt_demangle_in(&sc, name, out, outlen, style);
}

int fnt_dem_style_parse(const char *s, enum fnt_dem_style *style)
{
	if (!strcmp(s, "simple"))
		*style = FNT_DEM_SIMPLE;
	else if (!strcmp(s, "full"))
		*style = FNT_DEM_FULL;
	else if (!strcmp(s, "no") || !strcmp(s, "none"))
		*style = FNT_DEM_NONE;
	else
		return -EINVAL;
	return 0;
}
