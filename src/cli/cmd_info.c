/*
 * cmd_info.c - 'fntrace info': what a trace file holds: command line, date,
 * duration, processes and threads, events, lost events, file size, and the
 * objects with their build-ids.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cli/cli.h"
#include "cli/tracefile.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fntrace info [-i PATH]\n"
		"Describes a trace file: command line, date, duration, processes and threads,\n"
		"events, lost events, file size, and the traced objects with their build-ids.\n"
		"  -i, --input PATH   trace file (default fntrace.data)\n");
}

static int int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

/* Prints the distinct values of v (sorted in place), at most 32. */
static size_t print_set(const char *what, int *v, size_t n)
{
	size_t distinct = 0, shown = 0;

	qsort(v, n, sizeof(*v), int_cmp);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || v[i] != v[i - 1])
			distinct++;
	printf("# %-13s: %zu", what, distinct);
	for (size_t i = 0; i < n; i++) {
		if (i && v[i] == v[i - 1])
			continue;
		if (shown++ == 32) {
			printf(" ...");
			break;
		}
		printf("%s%d", shown == 1 ? " (" : " ", v[i]);
	}
	printf("%s\n", shown ? ")" : "");
	return distinct;
}

int fnt__cmd_info(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = "fntrace.data";
	char buf[4096];
	struct fnt_tf tf;
	uint64_t events = 0, lost = 0;
	int *pids, *tids, c;
	size_t np = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+i:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return fnt__bad_option("info", argv, optind, optopt);
		}
	}
	if (optind < argc)
		return fnt__usage_error("info", "unexpected argument '%s'", argv[optind]);
	if (fnt__tf_open_or_complain(&tf, path) < 0)
		return 1;

	for (size_t i = 0; i < tf.nstreams; i++) {
		struct fnt_tf_cursor cur;
		struct fnt_ev ev;

		fnt__tf_cursor_init(&cur, &tf, &tf.streams[i]);
		while (fnt__tf_next(&cur, &ev)) {
			if (ev.type == FNT_EV_EXT)
				lost += ev.lost;
			else
				events++;
		}
	}
	if (tf.have_end)
		lost += tf.end.lost_noslot + tf.end.lost_unwritten;

	printf("# trace file   : %s (format version %u)\n", path, FNT_TF_VERSION);
	printf("# command line : %s\n", fnt__tf_info(&tf, "cmdline", buf, sizeof(buf)) ?: "?");
	printf("# date         : %s\n", fnt__tf_info(&tf, "date", buf, sizeof(buf)) ?: "?");
	printf("# tracer       : %s\n", fnt__tf_info(&tf, "tracer", buf, sizeof(buf)) ?: "?");
	printf("# mode         : %s", fnt__tf_info(&tf, "mode", buf, sizeof(buf)) ?: "?");
	if (fnt__tf_info(&tf, "buffer_size", buf, sizeof(buf)))
		printf(", %s bytes per thread", buf);
	printf("\n");
	if (fnt__tf_info(&tf, "filter", buf, sizeof(buf)) && buf[0])
		printf("# filter       : %s\n", buf);
	if (fnt__tf_info(&tf, "notrace", buf, sizeof(buf)) && buf[0])
		printf("# notrace      : %s\n", buf);
	if (fnt__tf_info(&tf, "depth", buf, sizeof(buf)) && strcmp(buf, "0") != 0)
		printf("# depth        : %s\n", buf);
	if (fnt__tf_info(&tf, "threshold_ns", buf, sizeof(buf)) && strcmp(buf, "0") != 0)
		printf("# threshold    : %s ns\n", buf);
	printf("# clock        : %s\n", fnt__tf_info(&tf, "clock", buf, sizeof(buf)) ?: "?");
	if (tf.have_end) {
		fnt__fmt_dur(buf, tf.end.duration_ns);
		printf("# duration     : %s\n", buf);
		if (fnt__tf_info(&tf, "attached_pids", buf, sizeof(buf)))
			printf("# recorded     : running process%s %s (record -p: not started by fntrace)%s%s\n",
			       strchr(buf, ',') ? "es" : "", buf,
			       tf.end.stopped_by ? "; stopped by " : "",
			       tf.end.stopped_by ? strsignal(tf.end.stopped_by) : "");
		else if (tf.end.stopped_by)
			printf("# exit status  : unknown: the recording was stopped by signal %d (%s) "
			       "before the program ended\n", tf.end.stopped_by, strsignal(tf.end.stopped_by));
		else if (WIFEXITED(tf.end.status))
			printf("# exit status  : %d\n", WEXITSTATUS(tf.end.status));
		else if (WIFSIGNALED(tf.end.status))
			printf("# exit status  : killed by signal %d (%s)\n", WTERMSIG(tf.end.status),
			       strsignal(WTERMSIG(tf.end.status)));
	} else {
		printf("# duration     : unknown (the recording did not finish)\n");
	}

	pids = calloc(tf.nimages + tf.nstreams + 1, sizeof(int));
	tids = calloc(tf.nstreams + 1, sizeof(int));
	if (!pids || !tids) {
		fprintf(stderr, "fntrace: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < tf.nimages; i++)
		pids[np++] = tf.images[i].pid;
	for (size_t i = 0; i < tf.nstreams; i++)
		tids[i] = tf.streams[i].tid;
	print_set("processes", pids, np);
	print_set("threads", tids, tf.nstreams);
	free(pids);
	free(tids);
	printf("# events       : %llu\n", (unsigned long long)events);
	printf("# lost events  : %llu\n", (unsigned long long)lost);
	if (tf.have_end && tf.end.lost_unwritten)
		printf("# not written  : %llu of the lost events: the file could not take them "
		       "(disk full?)\n", (unsigned long long)tf.end.lost_unwritten);
	if (tf.have_end && tf.end.damaged)
		printf("# damaged      : %llu finding%s: a traced process overwrote the shared "
		       "recording buffers, the data is damaged\n",
		       (unsigned long long)tf.end.damaged, tf.end.damaged == 1 ? "" : "s");
	printf("# file size    : %zu bytes%s\n", tf.size, tf.truncated ? " (truncated)" : "");
	printf("# objects      : %zu\n", tf.nobjs);
	for (size_t i = 0; i < tf.nobjs; i++) {
		const struct fnt_tf_robj *o = &tf.objs[i];
		const struct fnt_tf_rimage *im = fnt__tf_image(&tf, o->image);
		int pid = im ? im->pid : -1;

		printf("#   [pid %d] %s build-id ", pid, o->path);
		if (o->file && o->file->h->build_id_len) {
			for (uint32_t k = 0; k < o->file->h->build_id_len; k++)
				printf("%02x", o->file->h->build_id[k]);
		} else {
			printf("none");
		}
		printf(" (%u sites%s)\n", o->nsites, o->file ? "" : ", no symbols");
	}
	fflush(stdout);
	fnt__tf_close(&tf);
	return 0;
}
