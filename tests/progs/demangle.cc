// demangle.cc - C++ names for tests/e2e/demangle.sh: a class at global
// scope (Lexer, with an overload, a const method and a constructor),
// namespaces, a class template, a function template and a lambda, each
// called a known number of times (argv[1], default 10).
#include <cstdlib>

#define NOINLINE __attribute__((noinline))

static volatile long sink;

class Lexer {
public:
	NOINLINE explicit Lexer(int base) : base_(base) {}
	NOINLINE int ReadToken(int i) { return i % 7 + base_; }
	NOINLINE int ReadToken(const char *s) { return s[0] + base_; }
	NOINLINE int Peek() const { return base_; }

private:
	int base_;
};

namespace lang {
namespace detail {
template <typename T> struct Box {
	NOINLINE T get(T v) const { return v + 1; }
};
} // namespace detail

template <typename T> NOINLINE T twice(T v) { return v * 2; }

NOINLINE int parse(Lexer &lx, int i) { return lx.ReadToken(i) + lx.Peek(); }
} // namespace lang

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10;
	Lexer lx(3);
	lang::detail::Box<int> bi;
	lang::detail::Box<double> bd;
	auto bump = [](int x) NOINLINE { return x + 1; };

	for (int i = 0; i < n; i++) {
		sink += lang::parse(lx, i);		// parse, ReadToken(int), Peek
		sink += lx.ReadToken("x");		// ReadToken(char const*)
		sink += bi.get(i) + (long)bd.get(i);	// Box<int>::get, Box<double>::get
		sink += lang::twice(i) + (long)lang::twice(1.5);
		sink += bump(i);
	}
	return 0;
}
