#include "tmpl.h"
int tmpl_other(int n)
{
	std::vector<std::string> v;
	int s = 0;
	for (int i = 0; i < n; i++) {
		v.push_back(std::to_string(i));
		s += tmpl_twice(i) + tmpl_inline(i);
	}
	return s - (int)v.size();
}
