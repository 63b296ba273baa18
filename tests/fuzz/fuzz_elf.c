/*
 * fuzz_elf.c - libFuzzer harness of the ELF site-table and symbol reader
 * (src/core/elf.c): the input is an ELF file.  Both entry points are run
 * (the runtime's fnt_elf_open_sites and the command's fnt_elf_open), then
 * the lookups the tracer makes on what they return: the symbol at every
 * site and the bytes at a few of them.
 */
#include <fcntl.h>
#include <unistd.h>
#include <string.h>

#include "core/elf.h"
#include "fuzz_common.h"

static volatile uint64_t sink;

static void check(const struct fnt_elf *e, const char *path)
{
	uint8_t buf[16];

	for (size_t i = 0; i < e->nsites; i++) {
		const struct fnt_elf_sym *s = fnt_elf_sym_at(e, e->sites[i]);

		sink += e->site_table[i];
		if (s)
			sink += strlen(e->strs + s->name);
		uint64_t off, avail;

		/* The offset and length a hostile header gives must be safe
		 * to read: the runtime preads exactly there. */
		if (i < 4 && fnt_elf_vaddr_off(e, e->sites[i], &off, &avail) == 0) {
			int fd = open(path, O_RDONLY);

			if (fd >= 0 && pread(fd, buf, avail < sizeof(buf) ? avail : sizeof(buf),
					     (off_t)off) > 0)
				sink += buf[0];
			if (fd >= 0)
				close(fd);
		}
	}
	for (size_t i = 0; i < e->nsyms; i++)
		sink += strlen(e->strs + e->syms[i].name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fnt_elf e;
	char err[256];
	const char *path = fuzz_file(data, size);

	if (fnt_elf_open_sites(&e, path, err, sizeof(err)) == 0) {
		check(&e, path);
		fnt_elf_close(&e);
	} else {
		sink += strlen(err);
	}
	if (fnt_elf_open(&e, path, err, sizeof(err)) == 0) {
		check(&e, path);
		fnt_elf_close(&e);
	} else {
		sink += strlen(err);
	}
	return 0;
}
