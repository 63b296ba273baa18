/*
 * log.c - one write(2) per diagnostic line, to stderr, prefixed "fntrace: ".
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

int fnt__verbose;

void fnt__vlog(const char *fmt, va_list ap)
{
	char buf[1536];
	int n = snprintf(buf, sizeof(buf), "fntrace: ");
	int m = vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);

	if (m < 0)
		return;
	n += m;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	if (buf[n - 1] != '\n')
		buf[n++] = '\n';
	/* A failed diagnostic is not worth failing for. */
	if (write(2, buf, n) < 0)
		return;
}

void fnt__log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fnt__vlog(fmt, ap);
	va_end(ap);
}
