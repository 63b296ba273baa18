/*
 * proto.h - the control protocol between the fntrace command and the agent
 * of a traced process (src/runtime/agent.c), over a Unix stream socket.
 *
 * Every message is a 16-byte header and a body of at most FNT_CTL_MAX
 * bytes.  The body is text: lines "key=value\n", keys of [a-z_0-9], values
 * of printable bytes (no NUL, no newline).  Both ends check every message
 * whole before they use any of it (fnt__ctl_check), so a malformed,
 * truncated or oversized message is refused without being acted on.
 *
 * Version rule: the header carries FNT_CTL_VERSION.  An agent answers a
 * message of another version with an ERROR that names its own, and
 * closes; a newer command may then speak the older version.  Unknown keys
 * are ignored (a newer peer may send more), unknown types are refused.
 *
 * The socket of process PID (as the process sees its own pid) is
 * FNT_CTL_DIR_FMT/PID.sock, the directory named by the process's real uid.
 */
#ifndef FNT_CTL_PROTO_H
#define FNT_CTL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define FNT_CTL_MAGIC 0x43544e46u	/* "FNTC" little-endian */
#define FNT_CTL_VERSION 1
#define FNT_CTL_MAX 16384
#define FNT_CTL_DIR_FMT "/tmp/fntrace-%u"

enum fnt_ctl_type {
	FNT_CTL_HELLO = 1,	/* -> REPLY: pid, exe, version, state */
	FNT_CTL_STATUS = 2,	/* -> REPLY: state and settings of the recording */
	FNT_CTL_START = 3,	/* region fd (SCM_RIGHTS), filter, notrace -> REPLY */
	FNT_CTL_SET = 4,	/* filter, notrace, depth, thresh_ticks -> REPLY */
	FNT_CTL_STOP = 5,	/* -> REPLY once every site is a NOP again */
	FNT_CTL_ADOPT = 6,	/* a forked child's recording: this connection owns it */
	FNT_CTL_ARM = 7,	/* an attach wrote the dynamic linker's hook (see "rbrk") */
	FNT_CTL_REPLY = 0x80,
	FNT_CTL_ERROR = 0x81,	/* body: error=one line */
};

struct fnt_ctl_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t len;		/* body bytes */
	uint32_t seq;		/* echoed in the reply */
};

/* Checks a header.  Returns 0, or -EPROTO with *why set. */
int fnt__ctl_check_hdr(const struct fnt_ctl_hdr *h, const char **why);
/* Checks a body (see above).  Returns 0, or -EPROTO with *why set. */
int fnt__ctl_check_body(const char *body, uint32_t len, const char **why);
/* Copies the value of key in a checked body to out (cap bytes, NUL
 * included).  Returns its length, -ENOENT if absent, -E2BIG if it does
 * not fit. */
int fnt__ctl_get(const char *body, uint32_t len, const char *key, char *out, size_t cap);
/* Same for a decimal value in [0, max].  Returns 0, -ENOENT or -EINVAL. */
int fnt__ctl_get_u64(const char *body, uint32_t len, const char *key, uint64_t max,
		     uint64_t *v);
/* Appends "key=value\n" to buf (cap bytes, *len used).  A value with a
 * newline or NUL in it is cut there.  Returns 0 or -E2BIG. */
int fnt__ctl_put(char *buf, size_t cap, uint32_t *len, const char *key, const char *val);
int fnt__ctl_put_u64(char *buf, size_t cap, uint32_t *len, const char *key, uint64_t v);

#endif
