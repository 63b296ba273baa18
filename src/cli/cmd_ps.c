/*
 * cmd_ps.c - 'fntrace ps': the processes this user may control, and what
 * each is tracing now.
 *
 * Found through /proc, not through the socket directory: a process in
 * another mount namespace (a service with PrivateTmp) has its directory
 * elsewhere.  A process counts if libfntrace is mapped in it; each is
 * asked for its state through its own endpoint (ctlclient.c).
 */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/ctlclient.h"

int fnt__cmd_ps(int argc, char **argv)
{
	DIR *d;
	struct dirent *de;
	int n = 0;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: fntrace ps\n"
		       "Lists the processes of this user (every user's, for root) that have the\n"
		       "fntrace runtime: their state (dormant or recording), tracer, enabled sites\n"
		       "and filter.\n");
		return 0;
	}
	if (argc > 1)
		return fnt__usage_error("ps", "unexpected argument '%s'", argv[1]);
	d = opendir("/proc");
	if (!d) {
		perror("fntrace: /proc");
		return 1;
	}
	printf("%7s  %-10s %-15s %9s %9s  %-20s %s\n", "PID", "STATE", "TRACER", "ENABLED", "SITES",
	       "FILTER", "EXE");
	while ((de = readdir(d))) {
		struct fnt_ctl_conn c;
		char err[600], st[32], tr[32], en[32], si[32], fl[256], exe[1024];
		const char *b;
		uint32_t len;
		int pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = atoi(de->d_name);
		if (pid == getpid() || (geteuid() != 0 && fnt__proc_uid(pid) != (long)geteuid()))
			continue;
		if (fnt__proc_has_runtime(pid) != 1)
			continue;
		if (fnt__ctl_open(&c, pid, err, sizeof(err)) < 0) {
			printf("%7d  %-10s %s\n", pid, "-", err);
			n++;
			continue;
		}
		if (fnt__ctl_call(&c, FNT_CTL_STATUS, "", 0, -1, 2000, &b, &len, err, sizeof(err)) < 0) {
			printf("%7d  %-10s %s\n", pid, "-", err);
			fnt__ctl_close(&c);
			n++;
			continue;
		}
		if (fnt__ctl_get(b, len, "state", st, sizeof(st)) < 0)
			strcpy(st, "?");
		if (fnt__ctl_get(b, len, "tracer", tr, sizeof(tr)) < 0)
			strcpy(tr, "-");
		if (fnt__ctl_get(b, len, "enabled", en, sizeof(en)) < 0)
			strcpy(en, "?");
		if (fnt__ctl_get(b, len, "sites", si, sizeof(si)) < 0)
			strcpy(si, "?");
		if (fnt__ctl_get(b, len, "filter", fl, sizeof(fl)) <= 0)
			strcpy(fl, strcmp(st, "recording") ? "-" : "*");
		if (fnt__ctl_get(b, len, "exe", exe, sizeof(exe)) < 0)
			strcpy(exe, "?");
		printf("%7d  %-10s %-15s %9s %9s  %-20s %s\n", pid, st, tr, en, si, fl, exe);
		fnt__ctl_close(&c);
		n++;
	}
	closedir(d);
	if (!n)
		fprintf(stderr, "fntrace: no process with the fntrace runtime (start one with "
				"'fntrace run PROG')\n");
	return 0;
}
