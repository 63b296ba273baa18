/*
 * ctlclient.c - connecting to a traced process's agent (see ctlclient.h).
 *
 * The endpoint of process PID is FNT_CTL_DIR_FMT/NSPID.sock under its own
 * root: the directory is named by its real uid, NSPID is the pid it sees
 * itself (the last "NSpid:" field of /proc/PID/status), and the path is
 * taken through /proc/PID/root so that a process in another mount
 * namespace (a service with PrivateTmp, a container) is found too.
 *
 * Nothing the endpoint says is taken on trust: the directory must be the
 * process owner's and private, the socket's server must be PID itself
 * (SO_PEERCRED of a listening socket names who listened), and every reply
 * is checked whole as the agent checks requests.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli/ctlclient.h"

static int status_field(int pid, const char *key, char *out, size_t cap)
{
	char path[64], line[512];
	size_t kl = strlen(key);
	FILE *f;
	int found = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			snprintf(out, cap, "%s", line + kl + 1);
			found = 0;
			break;
		}
	fclose(f);
	return found;
}

long fnt__proc_uid(int pid)
{
	char v[256];
	unsigned long uid;

	if (status_field(pid, "Uid", v, sizeof(v)) < 0 || sscanf(v, "%lu", &uid) != 1)
		return -1;
	return (long)uid;
}

/* The pid the process sees itself, in its own PID namespace. */
static int inner_pid(int pid)
{
	char v[256], *p, *last = NULL;

	if (status_field(pid, "NSpid", v, sizeof(v)) < 0)
		return pid;
	for (p = strtok(v, " \t\n"); p; p = strtok(NULL, " \t\n"))
		last = p;
	return last ? atoi(last) : pid;
}

int fnt__proc_has_runtime(int pid)
{
	char path[64], line[1024];
	FILE *f;
	int yes = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (!yes && fgets(line, sizeof(line), f))
		yes = strstr(line, "/libfntrace") != NULL;
	fclose(f);
	return yes;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int fnt__ctl_send(struct fnt_ctl_conn *c, int type, const char *body, uint32_t len, int fd)
{
	struct fnt_ctl_hdr h = { FNT_CTL_MAGIC, FNT_CTL_VERSION, (uint16_t)type, len, ++c->seq };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)body, len } };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	size_t want = sizeof(h) + len, sent = 0;

	if (fd >= 0) {
		memset(&cm, 0, sizeof(cm));
		m.msg_control = &cm;
		m.msg_controllen = sizeof(cm);
		cm.h.cmsg_level = SOL_SOCKET;
		cm.h.cmsg_type = SCM_RIGHTS;
		cm.h.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&cm.h), &fd, sizeof(int));
	}
	while (sent < want) {
		ssize_t r = sendmsg(c->fd, &m, MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -EPIPE;
		sent += (size_t)r;
		/* The rest, without the descriptor (it went with the first byte). */
		m.msg_control = NULL;
		m.msg_controllen = 0;
		while (m.msg_iovlen && (size_t)r >= m.msg_iov->iov_len) {
			r -= (ssize_t)m.msg_iov->iov_len;
			m.msg_iov++;
			m.msg_iovlen--;
		}
		if (m.msg_iovlen) {
			m.msg_iov->iov_base = (char *)m.msg_iov->iov_base + r;
			m.msg_iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

int fnt__ctl_recv(struct fnt_ctl_conn *c, int timeout_ms, int *type, const char **body,
		  uint32_t *len)
{
	long until = now_ms() + timeout_ms;
	const char *why;

	for (;;) {
		uint32_t want = c->have < sizeof(c->in.h) ? (uint32_t)sizeof(c->in.h)
							  : (uint32_t)sizeof(c->in.h) + c->in.h.len;
		struct pollfd p = { c->fd, POLLIN, 0 };
		long left = until - now_ms();
		ssize_t r;

		if (c->have >= sizeof(c->in.h) && c->have == want) {
			c->have = 0;
			if (fnt__ctl_check_body(c->in.raw + sizeof(c->in.h), c->in.h.len, &why) < 0 ||
			    (c->in.h.type != FNT_CTL_REPLY && c->in.h.type != FNT_CTL_ERROR))
				return -EPROTO;
			*type = c->in.h.type;
			*body = c->in.raw + sizeof(c->in.h);
			*len = c->in.h.len;
			return 1;
		}
		if (poll(&p, 1, left > 0 ? (int)left : 0) < 0) {
			if (errno == EINTR)
				return 0;
			return -EPIPE;
		}
		if (!p.revents)
			return 0;
		r = recv(c->fd, c->in.raw + c->have, want - c->have, MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0)
			return -EPIPE;
		c->have += (uint32_t)r;
		if (c->have == sizeof(c->in.h) && fnt__ctl_check_hdr(&c->in.h, &why) < 0)
			return -EPROTO;
	}
}

int fnt__ctl_call(struct fnt_ctl_conn *c, int type, const char *body, uint32_t len, int fd,
		  int timeout_ms, const char **rbody, uint32_t *rlen, char *err, size_t cap)
{
	int rtype, r = fnt__ctl_send(c, type, body, len, fd);
	char msg[512];

	if (r < 0) {
		snprintf(err, cap, "process %d closed its control connection", c->pid);
		return r;
	}
	for (;;) {
		r = fnt__ctl_recv(c, timeout_ms, &rtype, rbody, rlen);
		if (r == 0) {
			snprintf(err, cap, "process %d did not answer within %d ms", c->pid, timeout_ms);
			return -ETIMEDOUT;
		}
		if (r < 0) {
			snprintf(err, cap, r == -EPROTO ? "process %d sent a malformed reply"
							: "process %d closed its control connection",
				 c->pid);
			return r;
		}
		/* Replies carry the request's number; an error with 0 came
		 * unasked (the recording stopped): it is the answer too. */
		if (c->in.h.seq != c->seq && c->in.h.seq != 0)
			continue;
		if (rtype == FNT_CTL_ERROR) {
			if (fnt__ctl_get(*rbody, *rlen, "error", msg, sizeof(msg)) < 0)
				snprintf(msg, sizeof(msg), "unknown error");
			snprintf(err, cap, "process %d: %s", c->pid, msg);
			return -EREMOTEIO;
		}
		return 0;
	}
}

/* The directory must belong to the process's owner (or root) and be
 * private: anyone could have made it first, in /tmp. */
static int private_dir(const char *dir, long uid)
{
	struct stat st;

	if (lstat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || (st.st_uid != (uid_t)uid && st.st_uid != 0) ||
	    (st.st_mode & 077))
		return -EPERM;
	return 0;
}

int fnt__ctl_open(struct fnt_ctl_conn *c, int pid, char *err, size_t cap)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char dir[256], path[sizeof(a.sun_path)], v[64];
	const char *body;
	struct ucred cr;
	socklen_t cl = sizeof(cr);
	long uid = fnt__proc_uid(pid);
	uint32_t len;
	int r;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->pid = pid;
	if (uid < 0 || kill(pid, 0) < 0) {
		if (errno == EPERM && uid >= 0)
			goto not_ours;
		snprintf(err, cap, "no process with pid %d", pid);
		return -ESRCH;
	}
	if (geteuid() != 0 && uid != (long)geteuid())
		goto not_ours;
	snprintf(dir, sizeof(dir), "/proc/%d/root" FNT_CTL_DIR_FMT, pid, (unsigned)uid);
	if (access(dir, F_OK) < 0 && errno == EACCES)
		snprintf(dir, sizeof(dir), FNT_CTL_DIR_FMT, (unsigned)uid);
	r = private_dir(dir, uid);
	if (r == -EPERM) {
		snprintf(err, cap, "the control directory of process %d (%s) is not private to "
			 "uid %ld: refused", pid, dir, uid);
		return -EPROTO;
	}
	if (snprintf(path, sizeof(path), "%s/%d.sock", dir, inner_pid(pid)) >= (int)sizeof(path)) {
		snprintf(err, cap, "the control socket path of process %d is too long", pid);
		return -ENAMETOOLONG;
	}
	memcpy(a.sun_path, path, sizeof(path));
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		snprintf(err, cap, "socket: %s", strerror(errno));
		return -errno;
	}
	if (r < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = r < 0 ? -r : errno, rt = fnt__proc_has_runtime(pid);

		fnt__ctl_close(c);
		if (e == EACCES && uid == (long)geteuid()) {
			snprintf(err, cap, "cannot reach the control socket of process %d in %s: "
				 "permission denied (is the directory someone else's?)", pid, dir);
			return -EACCES;
		}
		if (e == EACCES)
			goto not_ours;
		if (rt == 0)
			snprintf(err, cap, "process %d has no fntrace runtime: start it with 'fntrace "
				 "run' (or see 'Tracing a running process' in the README)", pid);
		else if (rt > 0)
			snprintf(err, cap, "process %d has the fntrace runtime but no control endpoint "
				 "(FNTRACE_AGENT=0, a setuid program, or see its stderr)", pid);
		else	/* its maps cannot be read: which it is is not known */
			snprintf(err, cap, "process %d has no fntrace control endpoint", pid);
		return -ENOENT;
	}
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 || cr.pid != pid) {
		snprintf(err, cap, "the control socket of process %d is served by pid %d: refused",
			 pid, (int)cr.pid);
		fnt__ctl_close(c);
		return -EPROTO;
	}
	r = fnt__ctl_call(c, FNT_CTL_HELLO, "", 0, -1, 5000, &body, &len, err, cap);
	if (r < 0) {
		fnt__ctl_close(c);
		return r == -EREMOTEIO ? -EACCES : r;
	}
	if (fnt__ctl_get(body, len, "exe", c->hello, sizeof(c->hello)) < 0)
		c->hello[0] = 0;
	if (fnt__ctl_get(body, len, "state", c->state, sizeof(c->state)) < 0)
		c->state[0] = 0;
	if (fnt__ctl_get(body, len, "rbrk", c->rbrk, sizeof(c->rbrk)) < 0)
		c->rbrk[0] = 0;
	(void)v;
	return 0;

not_ours:
	snprintf(err, cap, "process %d belongs to uid %ld: permission denied (run fntrace as "
		 "that user, or as root)", pid, uid);
	return -EACCES;
}

void fnt__ctl_close(struct fnt_ctl_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
