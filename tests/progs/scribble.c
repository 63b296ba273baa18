/*
 * scribble.c - a traced program that attacks its own recording: it finds
 * the shared region named in its FNTRACE_SHM and writes over it, between
 * rounds of traced calls, to show that the fntrace process neither
 * crashes nor hangs and reports the damage.
 *
 *   scribble random SEED     random bytes over the header (always some of
 *                            its layout fields), the slot table and rings
 *   scribble hdr FIELD VAL   one header field: nslots, ring_words, slots_off,
 *                            rings_off
 *   scribble slot0 stream VAL   slot 0's stream number
 *   scribble truncate        cuts the region's file to one page
 *
 * It exits 0 after printing "done".  Built with -Isrc (for ring/shm.h).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ring/shm.h"

static volatile unsigned sink;

__attribute__((noinline)) static void leaf(unsigned i)
{
	sink += i;
}

__attribute__((noinline)) static void work(unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		leaf(i);
}

static void *thread_main(void *arg)
{
	work(*(unsigned *)arg);
	return NULL;
}

/* Traced calls on this thread and on a second one. */
static void round_of_calls(unsigned n)
{
	pthread_t t;

	if (pthread_create(&t, NULL, thread_main, &n) == 0) {
		work(n);
		pthread_join(t, NULL);
	} else {
		work(n);
	}
}

static void pause_ms(int ms)
{
	nanosleep(&(struct timespec){ 0, ms * 1000000L }, NULL);
}

static void put(char *p, const void *v, size_t n)
{
	memcpy(p, v, n);
}

int main(int argc, char **argv)
{
	const char *path = getenv("FNTRACE_SHM");
	struct fnt_shm_hdr hdr;
	struct stat st;
	char *m;
	int fd;

	if (argc < 2 || !path) {
		fprintf(stderr, "usage: scribble MODE ARGS (under fntrace record)\n");
		return 2;
	}
	fd = open(path, O_RDWR);
	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(path);
		return 2;
	}
	m = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	memcpy(&hdr, m, sizeof(hdr));	/* the layout, before it is overwritten */
	round_of_calls(500);
	pause_ms(30);			/* the fntrace process has seen our rings */

	if (strcmp(argv[1], "random") == 0 && argc == 3) {
		unsigned seed = (unsigned)strtoul(argv[2], NULL, 0);
		size_t layout_end = offsetof(struct fnt_shm_hdr, nimages);
		uint64_t rings = hdr.ring_words * 8 * 4;	/* the first four rings */

		srand(seed);
		for (int r = 0; r < 40; r++) {
			for (int k = 0; k < 12; k++) {
				unsigned char b[8];
				size_t n = 1 + rand() % 8, off;
				int area = k == 0 ? 0 : rand() % 4;

				for (size_t i = 0; i < n; i++)
					b[i] = (unsigned char)rand();
				if (area == 0)	/* a layout field */
					off = sizeof(uint64_t) + rand() % (layout_end - 16);
				else if (area == 1)	/* anywhere in the header */
					off = rand() % sizeof(hdr);
				else if (area == 2)	/* the slot table */
					off = hdr.slots_off + rand() % (hdr.nslots * sizeof(struct fnt_shm_slot));
				else	/* rings */
					off = hdr.rings_off + (rand() % (rings / 8)) * 8;
				if (off + n > (size_t)st.st_size)
					continue;
				put(m + off, b, n);
			}
			round_of_calls(50 + rand() % 200);
		}
	} else if (strcmp(argv[1], "hdr") == 0 && argc == 4) {
		uint64_t v = strtoull(argv[3], NULL, 0);
		uint32_t v32 = (uint32_t)v;
		struct fnt_shm_hdr *h = (struct fnt_shm_hdr *)m;

		if (strcmp(argv[2], "nslots") == 0)
			put((char *)&h->nslots, &v32, 4);
		else if (strcmp(argv[2], "ring_words") == 0)
			put((char *)&h->ring_words, &v, 8);
		else if (strcmp(argv[2], "slots_off") == 0)
			put((char *)&h->slots_off, &v, 8);
		else if (strcmp(argv[2], "rings_off") == 0)
			put((char *)&h->rings_off, &v, 8);
		else
			return 2;
	} else if (strcmp(argv[1], "slot0") == 0 && argc == 4 && strcmp(argv[2], "stream") == 0) {
		struct fnt_shm_slot *s = (struct fnt_shm_slot *)(m + hdr.slots_off);
		uint32_t v = (uint32_t)strtoul(argv[3], NULL, 0);

		put((char *)&s->stream, &v, 4);
	} else if (strcmp(argv[1], "truncate") == 0) {
		if (ftruncate(fd, 4096) < 0)
			perror("ftruncate");
		/* No traced call until the fntrace process gave the file its
		 * size back: our own ring writes would fault too. */
		for (int i = 0; i < 200; i++) {
			if (fstat(fd, &st) == 0 && (uint64_t)st.st_size == hdr.size)
				break;
			pause_ms(5);
		}
	} else {
		return 2;
	}
	pause_ms(30);
	round_of_calls(500);
	printf("done\n");
	return 0;
}
