/*
 * test_filter.c - ftrace set_ftrace_filter glob lists (src/core/filter.c).
 * Every fnt_enable, fnt_disable and fnt_ops filter goes through here, so a
 * wrong match patches functions the user excluded or misses the ones asked
 * for: globs, lists separated by commas and spaces, '!' exclusions,
 * ':mod:' restrictions, and the errors a user must be told about.
 */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "core/filter.h"

/* match(filter, func, obj): 1/0, or -1 when the filter does not parse. */
static int match(const char *filter, const char *func, const char *obj)
{
	struct fnt_filter f;
	char err[256];
	int r;

	if (fnt_filter_parse(&f, filter, err, sizeof(err))) {
		fprintf(stderr, "unexpected parse error for '%s': %s\n", filter, err);
		return -1;
	}
	r = fnt_filter_match(&f, func, obj);
	fnt_filter_free(&f);
	return r;
}

/* Parses a filter that must fail; returns the errno, err gets the text. */
static int parse_err(const char *filter, char *err, size_t len)
{
	struct fnt_filter f;
	int r;

	err[0] = 0;
	r = fnt_filter_parse(&f, filter, err, len);
	if (!r)
		fnt_filter_free(&f);
	return r;
}

int main(void)
{
	struct fnt_filter f;
	char err[256];

	/* NULL means everything, without a single pattern. */
	CHECK_EQ(fnt_filter_parse(&f, NULL, err, sizeof(err)), 0);
	CHECK_EQ(f.npats, 0);
	CHECK_EQ(fnt_filter_match(&f, "anything", "/x/a.out"), 1);
	fnt_filter_free(&f);

	/* Plain names and globs. */
	CHECK_EQ(match("main", "main", "/bin/a"), 1);
	CHECK_EQ(match("main", "main2", "/bin/a"), 0);
	CHECK_EQ(match("ma*", "main", "/bin/a"), 1);
	CHECK_EQ(match("*in", "main", "/bin/a"), 1);
	CHECK_EQ(match("*", "", "/bin/a"), 1);
	CHECK_EQ(match("m?in", "main", "/bin/a"), 1);
	CHECK_EQ(match("m?in", "mn", "/bin/a"), 0);
	CHECK_EQ(match("f_[ab]", "f_a", "/bin/a"), 1);
	CHECK_EQ(match("f_[ab]", "f_c", "/bin/a"), 0);
	CHECK_EQ(match("f_[!ab]", "f_c", "/bin/a"), 1);
	CHECK_EQ(match("f_[a-c]x", "f_bx", "/bin/a"), 1);
	/* Matching is case sensitive, like C identifiers. */
	CHECK_EQ(match("Main", "main", "/bin/a"), 0);

	/* Lists: commas, spaces, tabs, newlines, and runs of them. */
	CHECK_EQ(fnt_filter_parse(&f, " a,b  c,,\td\n", err, sizeof(err)), 0);
	CHECK_EQ(f.npats, 4);
	CHECK_EQ(f.npos, 4);
	CHECK_STR(f.pats[0].func, "a");
	CHECK_STR(f.pats[3].func, "d");
	CHECK_EQ(fnt_filter_match(&f, "c", NULL), 1);
	CHECK_EQ(fnt_filter_match(&f, "e", NULL), 0);
	fnt_filter_free(&f);

	/* Exclusions win over inclusions, in any order. */
	CHECK_EQ(match("f_* !f_top", "f_top", "/bin/a"), 0);
	CHECK_EQ(match("!f_top f_*", "f_top", "/bin/a"), 0);
	CHECK_EQ(match("f_* !f_top", "f_mid", "/bin/a"), 1);
	CHECK_EQ(match("f_*,!f_t*", "f_two", "/bin/a"), 0);
	/* Only exclusions: everything else. */
	CHECK_EQ(match("!f_top", "g", "/bin/a"), 1);
	CHECK_EQ(match("!f_top", "f_top", "/bin/a"), 0);
	CHECK_EQ(fnt_filter_parse(&f, "!a !b", err, sizeof(err)), 0);
	CHECK_EQ(f.npos, 0);
	CHECK_EQ(f.pats[0].neg, 1);
	CHECK_STR(f.pats[0].func, "a");
	fnt_filter_free(&f);

	/* :mod: restricts to objects whose basename matches. */
	CHECK_EQ(match("f*:mod:libfoo.so", "f1", "/usr/lib/libfoo.so"), 1);
	CHECK_EQ(match("f*:mod:libfoo.so", "f1", "/usr/lib/libbar.so"), 0);
	CHECK_EQ(match("f*:mod:libfoo*", "f1", "/usr/lib/libfoo.so.1"), 1);
	/* The directory is not part of the name matched. */
	CHECK_EQ(match("f*:mod:lib", "f1", "/usr/lib/x.so"), 0);
	CHECK_EQ(match("f*:mod:x.so", "f1", "x.so"), 1);
	/* "!:mod:OBJ" excludes the whole object. */
	CHECK_EQ(match("* !:mod:libc.so*", "printf", "/lib/libc.so.6"), 0);
	CHECK_EQ(match("* !:mod:libc.so*", "main", "/bin/a.out"), 1);
	CHECK_EQ(fnt_filter_parse(&f, "!:mod:libc.so*", err, sizeof(err)), 0);
	CHECK_STR(f.pats[0].func, "*");
	CHECK_STR(f.pats[0].mod, "libc.so*");
	fnt_filter_free(&f);
	/* A :mod: pattern with no object path does not match. */
	CHECK_EQ(match("f*:mod:a.out", "f1", NULL), 0);

	/* Escapes: a backslash makes '[' literal, and that is not unclosed. */
	CHECK_EQ(match("a\\[b", "a[b", NULL), 1);

	/* Errors, each with one line naming the problem. */
	CHECK_EQ(parse_err("f_[ab", err, sizeof(err)), -EINVAL);
	CHECK_HAS(err, "unclosed '['");
	CHECK_HAS(err, "f_[ab");
	CHECK_EQ(parse_err("ok f_[!", err, sizeof(err)), -EINVAL);
	CHECK_HAS(err, "unclosed");
	CHECK_EQ(parse_err("f:mod:lib[", err, sizeof(err)), -EINVAL);
	CHECK_HAS(err, "unclosed");
	CHECK_EQ(parse_err("", err, sizeof(err)), -EINVAL);
	CHECK_HAS(err, "empty filter");
	CHECK_EQ(parse_err(" , ,", err, sizeof(err)), -EINVAL);
	CHECK_HAS(err, "empty filter");
	CHECK_EQ(parse_err("a !", err, sizeof(err)), -EINVAL);
	CHECK_HAS(err, "empty pattern");
	CHECK_EQ(parse_err("a:mod:", err, sizeof(err)), -EINVAL);
	CHECK_HAS(err, "empty pattern");
	/* "[]]" is a class holding ']': closed, valid. */
	CHECK_EQ(match("a[]]", "a]", NULL), 1);

	/* Many patterns: the array grows past its first allocation. */
	{
		char big[64 * 8] = "";

		for (int i = 0; i < 40; i++)
			sprintf(big + strlen(big), "x%d,", i);
		CHECK_EQ(fnt_filter_parse(&f, big, err, sizeof(err)), 0);
		CHECK_EQ(f.npats, 40);
		CHECK_EQ(fnt_filter_match(&f, "x39", NULL), 1);
		CHECK_EQ(fnt_filter_match(&f, "x40", NULL), 0);
		fnt_filter_free(&f);
	}
	/* C++ names: a glob that is not a "_Z..." one also matches the simple
	 * and the full demangled forms; a mangled glob the mangled name only. */
	CHECK_EQ(match("Lexer::*", "_ZN5Lexer9ReadTokenEi", NULL), 1);
	CHECK_EQ(match("Lexer::ReadToken", "_ZN5Lexer9ReadTokenEi", NULL), 1);
	CHECK_EQ(match("Lexer::ReadToken(int)", "_ZN5Lexer9ReadTokenEi", NULL), 1);
	CHECK_EQ(match("Lexer::ReadToken(int)", "_ZN5Lexer9ReadTokenEPKc", NULL), 0);
	CHECK_EQ(match("Lexer::ReadToken(char?const\\*)", "_ZN5Lexer9ReadTokenEPKc", NULL), 1);
	CHECK_EQ(match("_ZN5Lexer*", "_ZN5Lexer9ReadTokenEi", NULL), 1);
	CHECK_EQ(match("_ZN5Lexer*", "Lexer::ReadToken", NULL), 0);
	CHECK_EQ(match("std::vector::push_back", "_ZNSt6vectorIiSaIiEE9push_backERKi", NULL), 1);
	CHECK_EQ(match("std::vector<int,*>::push_back*", "_ZNSt6vectorIiSaIiEE9push_backERKi", NULL), 1);
	CHECK_EQ(match("*,!Lexer::*", "_ZN5Lexer9ReadTokenEi", NULL), 0);
	CHECK_EQ(match("*,!Lexer::*", "_ZN4lang5parseER5Lexeri", NULL), 1);
	CHECK_EQ(match("lang::*:mod:a.out", "_ZN4lang5parseER5Lexeri", "/x/a.out"), 1);
	CHECK_EQ(match("lang::*:mod:b.so", "_ZN4lang5parseER5Lexeri", "/x/a.out"), 0);
	/* Not demangled: C names, and names that are not valid mangled ones. */
	CHECK_EQ(match("Lexer::*", "Lexer_read", NULL), 0);
	CHECK_EQ(match("foo*", "_Zfoo", NULL), 0);
	CHECK_EQ(match("_Zfoo", "_Zfoo", NULL), 1);

	return check_done("test_filter");
}
