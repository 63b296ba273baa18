/*
 * region.h - the fntrace side's making of a recording: the shared region
 * (ring/shm.h) and the trace file's first records.  Used by 'record' for a
 * program it starts and by 'record -p' / 'live -p' for running processes.
 */
#ifndef FNT_CLI_REGION_H
#define FNT_CLI_REGION_H

#include "cli/cli.h"
#include "cli/tracefile.h"
#include "ring/shm.h"

struct fnt_region {
	struct fnt_shm_hdr *h;
	struct fnt_shm_layout lay;	/* as created: never read back from h */
	char path[128];
	struct fnt_tf_clock ck;		/* calibrated: a at start, b 10 ms later */
};

/* Calibrates the clock and creates the region for the options o, naming
 * reader_pid as its reader (0: none the traced processes can see).  Removes
 * regions of dead fntrace processes first.  Returns 0, or -1 after one
 * line on stderr. */
int fnt__region_create(const struct fnt_rec_opts *o, int reader_pid, struct fnt_region *r);
/* Takes the clock's second sample, 10 ms after the first (sleeping for
 * what is left), unless it was taken already: before the first CLOCK
 * record is written. */
void fnt__region_calibrate(struct fnt_region *r);
/* Unlinks and unmaps it. */
void fnt__region_destroy(struct fnt_region *r);
/* Writes the INFO record: cmdline as given, then the options. */
void fnt__region_write_info(struct fnt_tf_writer *w, const struct fnt_rec_opts *o,
			    const char *cmdline, int clock, const char *extra);
/* Bytes free in /dev/shm (total: its size), for messages (0 if unknown). */
uint64_t fnt__shm_bytes(int total);

#endif
