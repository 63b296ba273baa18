/*
 * livefeed.h - a streaming printer of a recording as it goes ('fntrace
 * live -p'), in the manner of ftrace's trace_pipe.
 *
 * It is fed every record the trace file writer writes, through the
 * writer's tap (struct fnt_tf_writer, tracefile.h), keeps what it needs to
 * name sites (FILE, OBJECT), to time events (the first CLOCK) and to tell
 * threads apart (STREAM), and prints the events of each CHUNK as lines of
 * 'fntrace replay' (the same columns, names, nesting and lost markers).
 * Lines of different threads interleave in arrival order; each carries
 * its TID.  function_graph holds back one entry per thread, to print a
 * call whose exit comes next as one line; fnt__livefeed_flush() prints
 * what is held back, so nothing waits longer than one flush.
 *
 * Every record is checked as the file reader checks it: a malformed one
 * is ignored, never a crash.  Memory grows with the files, objects and
 * threads described, not with the events.
 *
 * Wiring, in the command that records:
 *
 *	struct fnt_livefeed *feed = fnt__livefeed_new(1, color);
 *	w.tap = fnt__livefeed_tap;
 *	w.tap_arg = feed;
 *	...  fnt__consumer_drain(&d, 0); fnt__livefeed_flush(feed);  ...
 *	fnt__livefeed_free(feed);	(after the END record)
 */
#ifndef FNT_CLI_LIVEFEED_H
#define FNT_CLI_LIVEFEED_H

#include <stdint.h>
#include <sys/uio.h>

struct fnt_livefeed;

/* A printer writing to fd; color as replay's --color (1: long durations in
 * red and yellow).  The tracer (function or function_graph) comes from the
 * INFO record.  Returns NULL when out of memory. */
struct fnt_livefeed *fnt__livefeed_new(int fd, int color);
/* The writer's tap: pass the feed as tap_arg.  The payload is the
 * concatenation of iov[0..iovcnt); nothing of it is kept by reference. */
void fnt__livefeed_tap(void *feed, uint32_t type, const struct iovec *iov, int iovcnt);
/* Prints the entries held back and writes out the buffered lines. */
void fnt__livefeed_flush(struct fnt_livefeed *f);
/* Events printed so far (lost markers not counted), and events reported
 * lost (in-band and before chunks). */
uint64_t fnt__livefeed_events(const struct fnt_livefeed *f);
uint64_t fnt__livefeed_lost(const struct fnt_livefeed *f);
/* 1 once a write to fd failed (EPIPE: the reader went away, as "| head"
 * does); nothing more is written then, and the command may stop. */
int fnt__livefeed_error(const struct fnt_livefeed *f);
/* Flushes, then frees everything (NULL: nothing). */
void fnt__livefeed_free(struct fnt_livefeed *f);

#endif
