/*
 * cmd_live.c - 'fntrace live': record into a temporary file, replay it,
 * remove it.  The exit status is the program's, as for record.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

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
