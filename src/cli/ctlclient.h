/*
 * ctlclient.h - the fntrace side of the control protocol (ctl/proto.h):
 * finding a process's endpoint, checking that it is that process's, and
 * exchanging messages with its agent.
 */
#ifndef FNT_CLI_CTLCLIENT_H
#define FNT_CLI_CTLCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "ctl/proto.h"

struct fnt_ctl_conn {
	int fd;
	int pid;		/* as we see it */
	uint32_t seq;
	uint32_t have;
	union {
		struct fnt_ctl_hdr h;
		char raw[sizeof(struct fnt_ctl_hdr) + FNT_CTL_MAX];
	} in;
	char hello[1024];	/* "exe" of the HELLO reply */
	char state[32];		/* "state" of the HELLO reply */
	char rbrk[80];		/* "rbrk": an attached runtime's hook to write */
};

/* Connects to the agent of pid, checks who serves it and says HELLO.
 * Returns 0, or -errno with one line (no "fntrace: ") in err:
 * -ESRCH no such process, -EACCES another user's, -ENOENT no runtime or
 * no endpoint, -EPROTO a bad peer or reply. */
int fnt__ctl_open(struct fnt_ctl_conn *c, int pid, char *err, size_t cap);
void fnt__ctl_close(struct fnt_ctl_conn *c);
/* Sends a request (fd >= 0: passed along with it).  Returns 0 or -errno. */
int fnt__ctl_send(struct fnt_ctl_conn *c, int type, const char *body, uint32_t len, int fd);
/* Waits up to timeout_ms (0: only looks) for a whole message.  Returns 1
 * with *type, *body (in c, valid until the next call) and *len; 0 if none
 * came; -EPIPE when the agent closed the connection; -EPROTO for a
 * message that is not well formed. */
int fnt__ctl_recv(struct fnt_ctl_conn *c, int timeout_ms, int *type, const char **body,
		  uint32_t *len);
/* A request and its reply.  Returns 0 with the reply's body, or -errno
 * with one line in err (-EREMOTEIO: the agent's own error message). */
int fnt__ctl_call(struct fnt_ctl_conn *c, int type, const char *body, uint32_t len, int fd,
		  int timeout_ms, const char **rbody, uint32_t *rlen, char *err, size_t cap);
/* 1 if libfntrace is mapped in pid, 0 if not, -1 if its maps cannot be read. */
int fnt__proc_has_runtime(int pid);
/* The real uid of pid, or -1. */
long fnt__proc_uid(int pid);

#endif
