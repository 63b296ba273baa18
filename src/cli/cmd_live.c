/*
 * cmd_live.c - 'fntrace live': record into a temporary file, replay it,
 * remove it.  The exit status is the program's, as for record.
 *
 * 'fntrace live -p PID' records a running process and prints its calls as
 * they come, as ftrace's trace_pipe does: the trace writer's tap feeds the
 * streaming printer (livefeed.c), flushed after every drain (at most a few
 * milliseconds apart, so lines are well under 100 ms behind).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/livefeed.h"

int fnt__cmd_live(int argc, char **argv)
{
	struct fnt_rec_opts o;
	char tmp[4096];
	const char *dir = getenv("TMPDIR");
	char *rargv[] = { "replay", "-i", tmp, NULL };
	int help, i, fd, status, ran;

	i = fnt__record_parse("live", argc, argv, &o, &help);
	if (help) {
		fnt__record_usage("live", stdout);
		return 0;
	}
	if (i < 0)
		return 2;
	snprintf(tmp, sizeof(tmp), "%s/fntrace-live-XXXXXX", dir && *dir ? dir : "/tmp");
	if (o.npids) {
		struct fnt_livefeed *feed = fnt__livefeed_new(1, isatty(1));

		if (!feed) {
			fprintf(stderr, "fntrace: out of memory\n");
			return 1;
		}
		fd = mkstemp(tmp);
		if (fd < 0) {
			perror("fntrace: cannot create a temporary trace file");
			fnt__livefeed_free(feed);
			return 1;
		}
		close(fd);
		o.out = tmp;
		status = fnt__record_pids(&o, feed);
		fnt__livefeed_free(feed);
		unlink(tmp);
		return status;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		perror("fntrace: cannot create a temporary trace file");
		return 1;
	}
	close(fd);
	o.out = tmp;
	status = fnt__record_run(&o, argv + i, &ran);
	if (ran) {
		fflush(stdout);
		fnt__cmd_replay(3, rargv);
	}
	unlink(tmp);
	return status;
}
