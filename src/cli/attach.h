/*
 * attach.h - loading the runtime into a running process that was started
 * without fntrace (ptrace), so that record -p, live -p and ctl -p can work
 * on it as on a process started with 'fntrace run'.
 */
#ifndef FNT_CLI_ATTACH_H
#define FNT_CLI_ATTACH_H

#include <stddef.h>

struct fnt_ctl_conn;

/* Loads the runtime into pid and waits for its agent.  Nothing in the
 * process is changed unless every check passed.  Returns 0 or -errno with
 * one line (no "fntrace: ") in err. */
int fnt__attach(int pid, char *err, size_t cap);
/* fnt__ctl_open(), attaching first if pid has no runtime at all. */
int fnt__ctl_open_attach(struct fnt_ctl_conn *c, int pid, char *err, size_t cap);

#endif
