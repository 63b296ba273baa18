#include "tmpl.h"
/* 5 calls of tmpl_twice<int> and of tmpl_inline here, 3 more of each in
 * tmpl_other: 8 of each. */
int main()
{
	std::vector<std::string> v;
	int s = 0;
	for (int i = 0; i < 5; i++) {
		v.push_back(std::to_string(i));
		s += tmpl_twice(i) + tmpl_inline(i);
	}
	s += tmpl_other(3);
	return (s == 44 && v.size() == 5) ? 0 : 1;
}
