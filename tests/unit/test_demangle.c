/*
 * test_demangle.c - the demangler (src/core/demangle.c) that the readers
 * print with and the runtime's filters match with.
 *
 *   - FULL against c++filt on every C++ symbol of libstdc++ and the other
 *     C++ libraries on the machine (nm -D at test time), at least 99% exact;
 *   - FULL on a hand list of tricky names (c++filt 2.40's spelling, kept
 *     here so the cases hold where those libraries are absent);
 *   - SIMPLE on a hand list (no template arguments, no parameters);
 *   - errors: not mangled, malformed, buffers too small, deep nesting, and
 *     nothing read past the NUL.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/demangle.h"
#include "unit/check.h"

static const char *dem(const char *name, enum fnt_dem_style style)
{
	static char buf[8192];

	if (fnt_demangle(name, buf, sizeof(buf), style) < 0)
		return "(error)";
	return buf;
}

/* Mangled name, c++filt's output. */
static const char *const full_cases[][2] = {
	{ "_Z3foov",
	  "foo()" },
	{ "_Z3fooiPKcRKSs",
	  "foo(int, char const*, std::basic_string<char, std::char_traits<char>, std::allocator<char> > const&)" },
	{ "_ZN5Lexer9ReadTokenEi",
	  "Lexer::ReadToken(int)" },
	{ "_ZNK5Lexer4PeekEv",
	  "Lexer::Peek() const" },
	{ "_ZN5LexerC1Ei",
	  "Lexer::Lexer(int)" },
	{ "_ZN5LexerD2Ev",
	  "Lexer::~Lexer()" },
	{ "_ZNSt6vectorIiSaIiEE9push_backERKi",
	  "std::vector<int, std::allocator<int> >::push_back(int const&)" },
	{ "_ZNKSt6vectorIiSaIiEE4sizeEv",
	  "std::vector<int, std::allocator<int> >::size() const" },
	{ "_ZNSsC1ERKSs",
	  "std::basic_string<char, std::char_traits<char>, std::allocator<char> >::basic_string(std::basic_string<char, std::char_traits<char>, std::allocator<char> > const&)" },
	{ "_ZNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEC1ERKS4_",
	  "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >::basic_string(std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > const&)" },
	{ "_ZStlsISt11char_traitsIcEERSt13basic_ostreamIcT_ES5_PKc",
	  "std::basic_ostream<char, std::char_traits<char> >& std::operator<< <std::char_traits<char> >(std::basic_ostream<char, std::char_traits<char> >&, char const*)" },
	{ "_ZN4lang5twiceIiEET_S1_",
	  "int lang::twice<int>(int)" },
	{ "_ZZ4mainENKUliE_clEi",
	  "main::{lambda(int)#1}::operator()(int) const" },
	{ "_ZZ4mainENKUlvE0_clEv",
	  "main::{lambda()#2}::operator()() const" },
	{ "_ZN12_GLOBAL__N_13fooEv",
	  "(anonymous namespace)::foo()" },
	{ "_ZN3fooB5cxx11Ev",
	  "foo[abi:cxx11]()" },
	{ "_ZNK3FooclEv.cold",
	  "Foo::operator()() const [clone .cold]" },
	{ "_Z3barv.isra.0",
	  "bar() [clone .isra.0]" },
	{ "_Z3bazi.constprop.0.isra.0",
	  "baz(int) [clone .constprop.0] [clone .isra.0]" },
	{ "_ZN1AplERKS_",
	  "A::operator+(A const&)" },
	{ "_ZN1AixEi",
	  "A::operator[](int)" },
	{ "_ZN1AcvbEv",
	  "A::operator bool()" },
	{ "_Znwm",
	  "operator new(unsigned long)" },
	{ "_ZdlPvm",
	  "operator delete(void*, unsigned long)" },
	{ "_Z1fPFviE",
	  "f(void (*)(int))" },
	{ "_Z1fPA3_i",
	  "f(int (*) [3])" },
	{ "_Z1fRA3_Kc",
	  "f(char const (&) [3])" },
	{ "_Z1fM1AFviE",
	  "f(void (A::*)(int))" },
	{ "_Z1fM1AKFviE",
	  "f(void (A::*)(int) const)" },
	{ "_Z1fM1Ai",
	  "f(int A::*)" },
	{ "_Z1fPFPFivEiE",
	  "f(int (*(*)(int))())" },
	{ "_Z1fOi",
	  "f(int&&)" },
	{ "_Z1fPVKi",
	  "f(int const volatile*)" },
	{ "_Z1fIJidEEvDpT_",
	  "void f<int, double>(int, double)" },
	{ "_Z1fIJEEvDpT_",
	  "void f<>()" },
	{ "_Z1fILi5EEvv",
	  "void f<5>()" },
	{ "_Z1fILb1EEvv",
	  "void f<true>()" },
	{ "_Z1fILj7EEvv",
	  "void f<7u>()" },
	{ "_Z1fILin3EEvv",
	  "void f<-3>()" },
	{ "_Z1fIXplLi1ELi2EEEvv",
	  "void f<(1)+(2)>()" },
	{ "_ZTV5Lexer",
	  "vtable for Lexer" },
	{ "_ZTI5Lexer",
	  "typeinfo for Lexer" },
	{ "_ZTS5Lexer",
	  "typeinfo name for Lexer" },
	{ "_ZThn8_N1B1fEv",
	  "non-virtual thunk to B::f()" },
	{ "_ZTv0_n24_N1B1fEv",
	  "virtual thunk to B::f()" },
	{ "_ZGVZ1fvE1x",
	  "guard variable for f()::x" },
	{ "_ZTCSt14basic_ifstreamIcSt11char_traitsIcEE0_St13basic_istreamIcS1_E",
	  "construction vtable for std::basic_istream<char, std::char_traits<char> >-in-std::basic_ifstream<char, std::char_traits<char> >" },
	{ "_ZN1N1TIiE1fIcEEvT_",
	  "void N::T<int>::f<char>(char)" },
	{ "_ZN4llvm10make_errorINS_11StringErrorEJNS_4errcERA30_KcEEENS_5ErrorEDpOT0_",
	  "llvm::Error llvm::make_error<llvm::StringError, llvm::errc, char const (&) [30]>(llvm::errc&&, char const (&) [30])" },
	{ "_ZNSt17_Function_handlerIFvvEZ4mainEUlvE_E9_M_invokeERKSt9_Any_data",
	  "std::_Function_handler<void (), main::{lambda()#1}>::_M_invoke(std::_Any_data const&)" },
	{ "_Z1fDn",
	  "f(decltype(nullptr))" },
	{ "_Z1fIiEDTplfp_fp_ET_",
	  "decltype ({parm#1}+{parm#1}) f<int>(int)" },
	{ "_ZN1AIiEC2Ev",
	  "A<int>::A()" },
	{ "_Z1fSt6vectorIiSaIiEE",
	  "f(std::vector<int, std::allocator<int> >)" },
	{ "_ZN5Outer5InnerUt_3getEv",
	  "Outer::Inner::{unnamed type#1}::get()" },
	{ "_Z1fPDoFvvE",
	  "f(void (*)() noexcept)" },
	{ "_Z1fPrVKi",
	  "f(int const volatile restrict*)" },
	{ "_ZNVK1A1fEv",
	  "A::f() const volatile" },
	{ "_Z1fPDoFvvE",
	  "f(void (*)() noexcept)" },
	{ "_Z1fPKDoFvvE",
	  "f(void (*)() noexcept const)" },
};

static const char *const simple_cases[][2] = {
	{ "_ZNSt6vectorIiSaIiEE9push_backERKi", "std::vector::push_back" },
	{ "_ZNKSt6vectorIiSaIiEE4sizeEv", "std::vector::size" },
	{ "_ZNSsC1ERKSs", "std::basic_string::basic_string" },
	{ "_ZNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEC1ERKS4_",
	  "std::__cxx11::basic_string::basic_string" },
	{ "_ZStlsISt11char_traitsIcEERSt13basic_ostreamIcT_ES5_PKc", "std::operator<<" },
	{ "_ZZ4mainENKUliE_clEi", "main::{lambda#1}::operator()" },
	{ "_ZNK3FooclEv.cold", "Foo::operator() [clone .cold]" },
	{ "_ZN3fooB5cxx11Ev", "foo" },
	{ "_ZTV5Lexer", "vtable for Lexer" },
	{ "_ZN1AcvbEv", "A::operator bool" },
	{ "_ZN12_GLOBAL__N_13fooEv", "(anonymous namespace)::foo" },
	{ "_ZN4lang5twiceIiEET_S1_", "lang::twice" },
	{ "_ZN1AplERKS_", "A::operator+" },
	{ "_ZN5Lexer9ReadTokenEi", "Lexer::ReadToken" },
	{ "_ZN5LexerD2Ev", "Lexer::~Lexer" },
	{ "_ZZN1N1fEvE1x", "N::f::x" },
	{ "_Z3foov", "foo" },
};

/* Every _Z symbol of the libraries found, and c++filt's line for each. */
static void against_cxxfilt(void)
{
	static const char *const libs[] = {
		"/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
		"/usr/lib/x86_64-linux-gnu/libLLVM-15.so.1",
		"/usr/lib/x86_64-linux-gnu/libLLVM-14.so.1",
		"/usr/lib/llvm-14/lib/libclang-cpp.so.14",
		"/usr/lib/x86_64-linux-gnu/libprotobuf.so.32",
		"/usr/lib/x86_64-linux-gnu/libgtest.so.1.12.1",
		"/usr/lib/x86_64-linux-gnu/libz3.so.4",
		"/usr/lib/x86_64-linux-gnu/libicuuc.so.72",
	};
	char syms[] = "/tmp/fnt-demangle-XXXXXX", cmd[8192], line[16384], ref[16384];
	size_t n = 0, same = 0, shown = 0;
	int fd = mkstemp(syms);
	FILE *in, *out;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	close(fd);
	snprintf(cmd, sizeof(cmd), "for l in");
	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++)
		if (access(libs[i], R_OK) == 0)
			snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " %s", libs[i]);
	snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd),
		 "; do nm -D --defined-only \"$l\"; done 2>/dev/null | awk '{ print $NF }' | "
		 "sed 's/@.*//' | grep '^_Z' | sort -u >%s", syms);
	CHECK_EQ(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "c++filt <%s", syms);
	in = fopen(syms, "r");
	out = popen(cmd, "r");
	CHECK(in && out);
	while (in && out && fgets(line, sizeof(line), in) && fgets(ref, sizeof(ref), out)) {
		const char *mine;

		line[strcspn(line, "\n")] = 0;
		ref[strcspn(ref, "\n")] = 0;
		mine = dem(line, FNT_DEM_FULL);
		/* c++filt shows what it cannot demangle as it is; so do callers. */
		if (!strcmp(mine, "(error)"))
			mine = line;
		n++;
		if (!strcmp(mine, ref))
			same++;
		else if (shown++ < 10)
			fprintf(stderr, "differs: %.200s\n  c++filt: %.300s\n  ours:    %.300s\n", line, ref,
				mine);
	}
	if (in)
		fclose(in);
	if (out)
		pclose(out);
	unlink(syms);
	printf("c++filt: %zu of %zu symbols the same (%.2f%%)\n", same, n,
	       n ? 100.0 * (double)same / (double)n : 0.0);
	CHECK(n >= 1000);		/* libstdc++ alone has about 5800 */
	CHECK(same * 100 >= n * 99);
}

/* name placed right before an inaccessible page: a read past its NUL faults. */
static void at_page_end(const char *name)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t len = strlen(name) + 1;
	char *m = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	char out[256];

	CHECK(m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	CHECK_EQ(mprotect(m + pg, (size_t)pg, PROT_NONE), 0);
	memcpy(m + pg - len, name, len);
	fnt_demangle(m + pg - len, out, sizeof(out), FNT_DEM_FULL);
	fnt_demangle(m + pg - len, out, sizeof(out), FNT_DEM_SIMPLE);
	munmap(m, (size_t)pg * 2);
}

static void errors(void)
{
	static const char *const truncated[] = {
		"_Z", "_ZN", "_ZN3foo", "_Z3fo", "_ZCI", "_ZT", "_ZG", "_ZSt", "_Z1fIi",
		"_Z1fPFv", "_Z1fA3", "_ZZ3foovE", "_Z1fIXplLi1E", "_Z3foov.", "_ZN1AC",
		"_Z1fILi",
	};
	char small[8], big[40000], deep[4096];
	size_t k = 0;

	CHECK_EQ(fnt_demangle("main", big, sizeof(big), FNT_DEM_FULL), -EINVAL);
	CHECK_STR(big, "");
	CHECK_EQ(fnt_demangle("_Z3foov", big, sizeof(big), FNT_DEM_NONE), -EINVAL);
	CHECK_EQ(fnt_demangle("_Zq", big, sizeof(big), FNT_DEM_FULL), -EINVAL);
	CHECK_EQ(fnt_demangle("_Z3foovjunk", big, sizeof(big), FNT_DEM_FULL), -EINVAL);
	CHECK_EQ(fnt_demangle("_Z1fT_", big, sizeof(big), FNT_DEM_FULL), -EINVAL);
	CHECK_EQ(fnt_demangle("_Z1fS_", big, sizeof(big), FNT_DEM_FULL), -EINVAL);
	/* Too long for the buffer: -ENOSPC, and the buffer is still a string. */
	CHECK_EQ(fnt_demangle("_ZN5Lexer9ReadTokenEi", small, sizeof(small), FNT_DEM_FULL), -ENOSPC);
	CHECK_STR(small, "");
	CHECK_EQ(fnt_demangle("_Z3foov", small, 0, FNT_DEM_FULL), -ENOSPC);
	CHECK_EQ(fnt_demangle("_Z3foov", small, 6, FNT_DEM_FULL), 0);
	CHECK_STR(small, "foo()");
	CHECK_EQ(fnt_demangle("_Z3foov", small, 5, FNT_DEM_FULL), -ENOSPC);
	for (size_t i = 0; i < sizeof(truncated) / sizeof(truncated[0]); i++) {
		CHECK_EQ(fnt_demangle(truncated[i], big, sizeof(big), FNT_DEM_FULL), -EINVAL);
		at_page_end(truncated[i]);
	}
	/* Deep nesting: the depth limit, not the stack, ends it. */
	k = (size_t)snprintf(deep, sizeof(deep), "_Z1f");
	while (k < sizeof(deep) - 2)
		deep[k++] = 'P';
	deep[k++] = 'i';
	deep[k] = 0;
	CHECK(fnt_demangle(deep, big, sizeof(big), FNT_DEM_FULL) < 0);
	k = (size_t)snprintf(deep, sizeof(deep), "_Z1f");
	while (k < sizeof(deep) - 8) {
		memcpy(deep + k, "1AI", 3);
		k += 3;
	}
	deep[k] = 0;
	CHECK(fnt_demangle(deep, big, sizeof(big), FNT_DEM_FULL) < 0);
	/* Substitutions that double the output each time: bounded by the buffer. */
	k = (size_t)snprintf(deep, sizeof(deep), "_Z1fIiE");
	CHECK(fnt_demangle("_Z1fSt4pairIiiES_IS0_S0_ES_IS1_S1_ES_IS2_S2_ES_IS3_S3_ES_IS4_S4_ES_IS5_"
			   "S5_ES_IS6_S6_ES_IS7_S7_ES_IS8_S8_ES_IS9_S9_ES_ISA_SA_ES_ISB_SB_E",
			   big, sizeof(big), FNT_DEM_FULL) == -ENOSPC);
	CHECK_EQ(fnt_dem_style_parse("bogus", &(enum fnt_dem_style){ 0 }), -EINVAL);
}

int main(void)
{
	enum fnt_dem_style st;

	for (size_t i = 0; i < sizeof(full_cases) / sizeof(full_cases[0]); i++)
		CHECK_STR(dem(full_cases[i][0], FNT_DEM_FULL), full_cases[i][1]);
	for (size_t i = 0; i < sizeof(simple_cases) / sizeof(simple_cases[0]); i++)
		CHECK_STR(dem(simple_cases[i][0], FNT_DEM_SIMPLE), simple_cases[i][1]);
	CHECK_EQ(fnt_dem_style_parse("simple", &st), 0);
	CHECK_EQ(st, FNT_DEM_SIMPLE);
	CHECK_EQ(fnt_dem_style_parse("full", &st), 0);
	CHECK_EQ(st, FNT_DEM_FULL);
	CHECK_EQ(fnt_dem_style_parse("no", &st), 0);
	CHECK_EQ(st, FNT_DEM_NONE);
	errors();
	against_cxxfilt();
	return check_done("test_demangle");
}
