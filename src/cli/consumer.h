/*
 * consumer.h - the reader side of a recording: drains the shared region
 * (ring/shm.h) of every traced process into a trace file.
 *
 * One module, used by every command that records ('record', 'live', and
 * attaching to a running process): the command creates the region and the
 * trace file writer, starts or finds the traced processes, and calls
 * fnt__consumer_drain() until they are gone, then once more with final set.
 */
#ifndef FNT_CLI_CONSUMER_H
#define FNT_CLI_CONSUMER_H

#include <stdint.h>

#include "cli/tracefile.h"
#include "ring/shm.h"

/* Private to consumer.c. */
struct filecache;
struct slotstate;

/* The consumer's state; its counters are read by the caller at the end. */
struct fnt_consumer {
	struct fnt_shm_hdr *h;
	struct fnt_shm_layout lay;	/* the creator's, never read from h */
	struct fnt_tf_writer *w;
	struct slotstate *slots;	/* per ring, private */
	uint64_t *buf;		/* one ring's words, copied out before writing */
	int fd;			/* the region's file, ours: see a truncation */
	uint32_t next_stream;	/* the file's stream ids are given here */
	uint32_t images_seen, objects_seen;
	struct filecache *files;
	size_t nfiles, files_cap;
	uint32_t next_file_id;
	uint64_t events, lost;
	uint64_t unwritten;	/* lost because the file could not take them (in lost too) */
	int write_failed;	/* the write failure was reported */
	uint64_t last_live_check;
	/* Damage: things no sound writer leaves in the region. */
	uint64_t damaged;
	int damaged_pids[8];
	unsigned ndamaged_pids;
	unsigned warnings;
	uint64_t header_damaged;	/* times the header was found changed */
	int bus_faults_seen;
	uint32_t slots_used;	/* slots handed out, as far as drains look */
};

/* Sets up a consumer of region h, of layout *lay (as its creator computed
 * it; nothing of the layout is read from h) and file path, into the file of
 * w.  Takes over SIGBUS while it lives (see consumer.c).  Returns 0 or
 * -ENOMEM. */
int fnt__consumer_init(struct fnt_consumer *d, struct fnt_shm_hdr *h,
		       const struct fnt_shm_layout *lay, const char *path, struct fnt_tf_writer *w);
/* Copies what is new: metadata records and the committed words of every
 * ring, and frees the rings of threads that are gone (every ring when final
 * is set: no writer is left).  Returns how much it found (0: nothing new). */
uint64_t fnt__consumer_drain(struct fnt_consumer *d, int final);
void fnt__consumer_fini(struct fnt_consumer *d);

#endif
