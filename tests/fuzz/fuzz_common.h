/*
 * fuzz_common.h - shared by the libFuzzer harnesses: the readers under test
 * open files by path, so each input is written to a memfd (kept across
 * runs, truncated to the input's size) and opened as /proc/self/fd/N.
 */
#ifndef FNT_FUZZ_COMMON_H
#define FNT_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Writes data to the harness's memfd; returns its /proc path. */
static const char *fuzz_file(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];

	if (fd < 0) {
		fd = memfd_create("fntrace-fuzz", MFD_CLOEXEC);
		if (fd < 0) {
			perror("memfd_create");
			abort();
		}
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) {
		perror("memfd write");
		abort();
	}
	return path;
}

#endif
