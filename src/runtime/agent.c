/*
 * agent.c - the control endpoint of a process that has the runtime.
 *
 * Every such process (started by 'fntrace run' or 'fntrace record', linked
 * with --audit, or given LD_PRELOAD/LD_AUDIT by a service manager) gets a
 * thread, the agent, listening on a Unix socket:
 *
 *   /tmp/fntrace-UID/PID.sock    directory 0700, socket 0600, UID the real uid
 *
 * 'fntrace record -p', 'live -p', 'ctl' and 'ps' talk to it with the
 * protocol of ctl/proto.h.  Who may: the peer's credentials (SO_PEERCRED)
 * must be our real or effective uid, or root; anyone else gets one refusal
 * and the connection closes.  No abstract socket: anyone can connect to
 * those.
 *
 * What the agent must never do to the program (docs/design.md, §9):
 *
 *   - wake up while nobody talks to it: it sleeps in poll() with no
 *     timeout unless a client is half-way through a message;
 *   - take a signal meant for the program: it blocks all of them but
 *     those the runtime needs every thread to take (SIGTRAP, the fallback
 *     sync's signal: arch needed_signals);
 *   - be traced: fnt__in_runtime stays raised on its thread;
 *   - delay exit: exit does not wait for it (it is joined only around
 *     unshare and setns, below), it holds no lock exit takes while it
 *     waits, and the socket's name is removed by the exit handler;
 *   - make a call fail that needs a single thread (unshare, setns: below);
 *   - use a descriptor the program closed and got back for a file of its
 *     own: every descriptor is checked to be what it was before each use
 *     (struct fdid);
 *   - raise SIGPIPE (MSG_NOSIGNAL), allocate, or trust a byte it reads:
 *     every message is checked whole (ctl/proto.c) before it is used, and
 *     descriptors that come with anything but START are closed.
 *
 * One recording at a time: the connection that started it owns it, and
 * when that connection closes (the fntrace process died, or was killed)
 * the recording stops at once and every site is a NOP again.  Other
 * connections may ask for the status or change the recording's settings
 * (fntrace ctl); a second START is refused with the owner's pid.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "arch/arch.h"
#include "core/filter.h"
#include "ctl/proto.h"
#include "ring/shm.h"
#include "runtime/recorder.h"
#include "runtime/runtime.h"
#include "util/env.h"
#include "util/log.h"
#include "util/sys.h"

#define MAX_CLIENTS 4
/* A client that began a message has this long to finish it. */
#define MSG_TIMEOUT_MS 2000
/* A connection that owns no recording and asks nothing for this long is
 * closed: four idle ones would hold every slot. */
#define IDLE_TIMEOUT_MS 10000

/* A descriptor of ours, with what it was when we made it: the program may
 * close any descriptor (a daemon's close_range) and get its number back
 * for a file of its own, which the agent must then never touch. */
struct fdid {
	int fd;			/* -1: none */
	dev_t dev;
	ino_t ino;
};

struct client {
	int fd;			/* -1: free */
	dev_t dev;
	ino_t ino;
	int pid, uid;		/* SO_PEERCRED */
	uint32_t have;		/* bytes of hdr + body read so far */
	struct fdid rfd;	/* a descriptor that came with the message */
	long deadline_ms;
	union {
		struct fnt_ctl_hdr h;
		char raw[sizeof(struct fnt_ctl_hdr) + FNT_CTL_MAX];
	} in;
};

static struct {
	int lfd;
	dev_t ldev;
	ino_t lino;
	int quit;		/* the thread is asked to return (unshare, setns) */
	int running;
	pthread_t th;
	int owner;		/* index of the client owning the recording, or -1 */
	int owner_pid;
	int pid;		/* the process the endpoint belongs to */
	/* A forked child records for its parent's owner, who must take it
	 * over (ADOPT) by then, or the child stops recording. */
	long adopt_by_ms;
	int on;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct client cl[MAX_CLIENTS];
	char out[sizeof(struct fnt_ctl_hdr) + FNT_CTL_MAX];
} ag = { .lfd = -1, .owner = -1 };

/* Is fd still what it was (see struct fdid)? */
static int still(int fd, dev_t dev, ino_t ino)
{
	struct stat st;

	return fd >= 0 && fnt__sys(SYS_fstat, fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

static int take_id(int fd, dev_t *dev, ino_t *ino)
{
	struct stat st;

	if (fnt__sys(SYS_fstat, fd, &st) < 0)
		return -1;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

/* Closes fd if it is still ours; forgets it either way. */
static void close_ours(int *fd, dev_t dev, ino_t ino)
{
	if (still(*fd, dev, ino))
		fnt__sys(SYS_close, *fd);
	*fd = -1;
}

static long now_ms(void)
{
	struct timespec ts;

	fnt__sys(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The wake-up is a connection to our own socket, by its path, from a
 * descriptor made and closed on the spot: a descriptor kept for it (an
 * eventfd) could be closed by the program and its number reused, and a
 * write would then go into the program's file.  Raw syscalls: called from
 * a hook (a writer that gave up waiting).
 */
void fnt__agent_wake(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	long fd;

	if (!__atomic_load_n(&ag.running, __ATOMIC_ACQUIRE))
		return;
	memcpy(a.sun_path, ag.path, sizeof(a.sun_path));
	a.sun_path[sizeof(a.sun_path) - 1] = 0;
	fd = fnt__sys(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return;
	fnt__sys(SYS_connect, fd, &a, sizeof(a));
	fnt__sys(SYS_close, fd);
}

static void drop(struct client *c)
{
	close_ours(&c->fd, c->dev, c->ino);
	close_ours(&c->rfd.fd, c->rfd.dev, c->rfd.ino);
	c->have = 0;
}

/* Sends one message; a client that does not take it is dropped. */
static int send_msg(struct client *c, uint16_t type, uint32_t seq, const char *body, uint32_t len)
{
	struct fnt_ctl_hdr h = { FNT_CTL_MAGIC, FNT_CTL_VERSION, type, len, seq };
	size_t n = sizeof(h) + len;
	ssize_t r;

	memcpy(ag.out, &h, sizeof(h));
	memcpy(ag.out + sizeof(h), body, len);
	r = send(c->fd, ag.out, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (r != (ssize_t)n) {
		drop(c);
		return -EPIPE;
	}
	return 0;
}

static void send_error(struct client *c, uint32_t seq, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void send_error(struct client *c, uint32_t seq, const char *fmt, ...)
{
	char line[512], body[600];
	uint32_t len = 0;
	va_list ap;

	va_start(ap, fmt);
	fnt__vformat(line, sizeof(line), fmt, ap);
	va_end(ap);
	fnt__ctl_put(body, sizeof(body), &len, "error", line);
	send_msg(c, FNT_CTL_ERROR, seq, body, len);
}

/* Ends the recording; why is said once on stderr (NULL: say nothing). */
static void end_recording(const char *why)
{
	int err, said;

	if (!fnt__recorder_kind())
		return;
	/* A writer that gave up waiting for the drain said why (ring.c). */
	said = fnt__recorder_stopping();
	/* why is NULL for a STOP request only: its sender, or for 'ctl
	 * --stop' the owner, drains until the end. */
	err = fnt__recorder_stop(!why);
	if (why && (!said || err))
		fnt__log("recording stopped: %s; every traced site is a NOP again%s", why,
			 err ? " (patching was disabled: see the report above)" : "");
	if (ag.owner >= 0 && ag.cl[ag.owner].fd >= 0 && why)
		send_error(&ag.cl[ag.owner], 0, "recording stopped: %s", why);
	ag.owner = -1;
}

/* The reply body's common part: who we are and what we do. */
static void describe(char *b, uint32_t *len)
{
	struct fnt_status st;
	char exe[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	exe[n > 0 ? n : 0] = 0;
	fnt__ctl_put_u64(b, FNT_CTL_MAX, len, "version", FNT_CTL_VERSION);
	fnt__ctl_put_u64(b, FNT_CTL_MAX, len, "pid", (uint64_t)getpid());
	fnt__ctl_put(b, FNT_CTL_MAX, len, "exe", exe);
	fnt__recorder_describe(b, FNT_CTL_MAX, len);
	fnt__rtld_describe(b, FNT_CTL_MAX, len);
	if (ag.owner >= 0)
		fnt__ctl_put_u64(b, FNT_CTL_MAX, len, "owner_pid", (uint64_t)ag.owner_pid);
	if (fnt_status(&st) == 0) {
		fnt__ctl_put_u64(b, FNT_CTL_MAX, len, "objects", st.objects);
		fnt__ctl_put_u64(b, FNT_CTL_MAX, len, "sites", st.sites);
		fnt__ctl_put_u64(b, FNT_CTL_MAX, len, "enabled", st.enabled);
		fnt__ctl_put_u64(b, FNT_CTL_MAX, len, "disabled", (uint64_t)st.disabled);
		if (st.disabled)
			fnt__ctl_put(b, FNT_CTL_MAX, len, "report", st.report);
	}
}

static void reply(struct client *c, uint32_t seq)
{
	static char body[FNT_CTL_MAX];
	uint32_t len = 0;

	describe(body, &len);
	send_msg(c, FNT_CTL_REPLY, seq, body, len);
}

static const char *busy_with(char *buf, size_t cap)
{
	if (fnt__recorder_kind() == FNT_REC_RECORD)
		fnt__format(buf, cap, "this process is being recorded by 'fntrace record'");
	else
		fnt__format(buf, cap, "this process is being recorded by fntrace pid %d "
			    "(record -p or live -p)", ag.owner_pid);
	return buf;
}

/* A filter from a client: checked here, so that a bad one is the client's
 * error, not a line on the program's stderr (the API logs what it
 * refuses).  Returns 0, or -EINVAL after telling the client. */
static int check_filters(struct client *c, uint32_t seq, const char *f, const char *n)
{
	char err[256];

	for (int i = 0; i < 2; i++) {
		const char *g = i ? n : f;
		struct fnt_filter flt;

		if (!g || !g[0])
			continue;
		if (fnt_filter_parse(&flt, g, err, sizeof(err)) < 0) {
			send_error(c, seq, "bad %s: %s", i ? "notrace filter" : "filter", err);
			return -EINVAL;
		}
		fnt_filter_free(&flt);
	}
	return 0;
}

/* Acts on one whole, checked message of client k. */
static void handle(int k)
{
	struct client *c = &ag.cl[k];
	const struct fnt_ctl_hdr *h = &c->in.h;
	const char *b = c->in.raw + sizeof(*h), *why = NULL;
	static char filter[FNT_REC_FILTER_MAX], notrace[FNT_REC_FILTER_MAX];
	char busy[160];
	uint64_t v;
	int err, hf, hn;

	if (h->type != FNT_CTL_START)
		close_ours(&c->rfd.fd, c->rfd.dev, c->rfd.ino);
	switch (h->type) {
	case FNT_CTL_HELLO:
	case FNT_CTL_STATUS:
		reply(c, h->seq);
		return;
	case FNT_CTL_ARM:
		if (fnt__rtld_arm(&why) < 0)
			send_error(c, h->seq, "ARM: %s", why);
		else
			reply(c, h->seq);
		return;
	case FNT_CTL_START:
		if (fnt__recorder_kind()) {
			send_error(c, h->seq, "busy: %s", busy_with(busy, sizeof(busy)));
			break;
		}
		if (!still(c->rfd.fd, c->rfd.dev, c->rfd.ino)) {
			c->rfd.fd = -1;
			send_error(c, h->seq, "START without the recording's buffers");
			break;
		}
		hf = fnt__ctl_get(b, h->len, "filter", filter, sizeof(filter));
		hn = fnt__ctl_get(b, h->len, "notrace", notrace, sizeof(notrace));
		if (hf == -E2BIG || hn == -E2BIG) {
			send_error(c, h->seq, "filter too long");
			break;
		}
		if (check_filters(c, h->seq, hf >= 0 ? filter : NULL, hn >= 0 ? notrace : NULL))
			break;
		err = fnt__recorder_start(c->rfd.fd, hf >= 0 ? filter : NULL, hn >= 0 ? notrace : NULL,
					  &why);
		if (err < 0) {
			send_error(c, h->seq, "cannot record: %s", why ? why : "unknown error");
			break;
		}
		ag.owner = k;
		ag.owner_pid = c->pid;
		reply(c, h->seq);
		break;
	case FNT_CTL_ADOPT:
		/* A forked child's recording, inherited without its owner. */
		if (fnt__recorder_kind() != FNT_REC_LIVE || ag.owner >= 0) {
			send_error(c, h->seq, fnt__recorder_kind() ? "busy: %s" : "nothing to adopt%s",
				   fnt__recorder_kind() ? busy_with(busy, sizeof(busy)) : "");
			break;
		}
		ag.owner = k;
		ag.owner_pid = c->pid;
		reply(c, h->seq);
		break;
	case FNT_CTL_SET: {
		uint32_t depth, *dp = NULL, tracer, *trp = NULL;
		uint64_t th, *tp = NULL;

		hf = fnt__ctl_get(b, h->len, "filter", filter, sizeof(filter));
		hn = fnt__ctl_get(b, h->len, "notrace", notrace, sizeof(notrace));
		if (hf == -E2BIG || hn == -E2BIG) {
			send_error(c, h->seq, "filter too long");
			break;
		}
		if (check_filters(c, h->seq, hf >= 0 ? filter : NULL, hn >= 0 ? notrace : NULL))
			break;
		err = fnt__ctl_get_u64(b, h->len, "depth", 100000, &v);
		if (err == -EINVAL) {
			send_error(c, h->seq, "bad depth");
			break;
		}
		if (!err) {
			depth = (uint32_t)v;
			dp = &depth;
		}
		err = fnt__ctl_get_u64(b, h->len, "thresh_ticks", UINT64_MAX >> 8, &th);
		if (err == -EINVAL) {
			send_error(c, h->seq, "bad threshold");
			break;
		}
		if (!err)
			tp = &th;
		err = fnt__ctl_get(b, h->len, "tracer", busy, sizeof(busy));
		if (err >= 0) {
			if (strcmp(busy, "function") == 0)
				tracer = FNT_TRACER_FUNCTION;
			else if (strcmp(busy, "function_graph") == 0)
				tracer = FNT_TRACER_GRAPH;
			else {
				send_error(c, h->seq, "unknown tracer (function or function_graph)");
				break;
			}
			trp = &tracer;
		}
		err = fnt__recorder_set(hf >= 0 ? filter : NULL, hn >= 0 ? notrace : NULL, dp, tp,
					trp, &why);
		if (err < 0) {
			send_error(c, h->seq, "%s", why ? why : "cannot change the recording");
			break;
		}
		reply(c, h->seq);
		break;
	}
	case FNT_CTL_STOP: {
		/* Stopped by another client (fntrace ctl --stop): the owner is
		 * told, or it would wait for events forever. */
		int o = ag.owner;

		end_recording(NULL);
		if (o >= 0 && o != k && ag.cl[o].fd >= 0)
			send_error(&ag.cl[o], 0, "recording stopped by 'fntrace ctl --stop' (pid %d)",
				   c->pid);
		if (c->fd >= 0)
			reply(c, h->seq);
		break;
	}
	default:
		send_error(c, h->seq, "unexpected message type %u", h->type);
		drop(c);
		return;
	}
	close_ours(&c->rfd.fd, c->rfd.dev, c->rfd.ino);
}

/* The client's connection closed or went bad. */
static void gone(int k)
{
	drop(&ag.cl[k]);
	if (k == ag.owner) {
		ag.owner = -1;
		end_recording("the fntrace process recording it is gone");
	}
}

/* Reads what client k has sent; handles each message as it completes. */
static void readable(int k)
{
	struct client *c = &ag.cl[k];

	if (!still(c->fd, c->dev, c->ino)) {
		/* The program closed it (and may use the number): forget it. */
		c->fd = -1;
		gone(k);
		return;
	}

	for (;;) {
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int) * 4)];
		} cm;
		uint32_t want = c->have < sizeof(c->in.h) ? (uint32_t)sizeof(c->in.h)
							  : (uint32_t)sizeof(c->in.h) + c->in.h.len;
		struct iovec iov = { c->in.raw + c->have, want - c->have };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &cm,
				    .msg_controllen = sizeof(cm) };
		const char *why;
		ssize_t r = recvmsg(c->fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0) {
			gone(k);
			return;
		}
		/* Descriptors: at most one is kept, for START; the rest (and
		 * anything cut short) are closed at once. */
		for (struct cmsghdr *ch = CMSG_FIRSTHDR(&m); ch; ch = CMSG_NXTHDR(&m, ch)) {
			if (ch->cmsg_level != SOL_SOCKET || ch->cmsg_type != SCM_RIGHTS)
				continue;
			for (size_t i = 0; i < (ch->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(ch) + i * sizeof(int), sizeof(int));
				if (c->rfd.fd < 0 && !(m.msg_flags & MSG_CTRUNC) &&
				    take_id(fd, &c->rfd.dev, &c->rfd.ino) == 0)
					c->rfd.fd = fd;
				else
					fnt__sys(SYS_close, fd);
			}
		}
		if (c->have == 0)
			c->deadline_ms = now_ms() + MSG_TIMEOUT_MS;	/* to finish it */
		c->have += (uint32_t)r;
		if (c->have == sizeof(c->in.h) && fnt__ctl_check_hdr(&c->in.h, &why) < 0) {
			send_error(c, c->in.h.seq, "%s", why);
			gone(k);
			return;
		}
		if (c->have < sizeof(c->in.h) || c->have < sizeof(c->in.h) + c->in.h.len)
			continue;
		if (c->in.h.type >= FNT_CTL_REPLY) {
			send_error(c, c->in.h.seq, "a reply is not a request");
			gone(k);
			return;
		}
		if (fnt__ctl_check_body(c->in.raw + sizeof(c->in.h), c->in.h.len, &why) < 0) {
			send_error(c, c->in.h.seq, "%s", why);
			gone(k);
			return;
		}
		handle(k);
		c->have = 0;
		c->deadline_ms = now_ms() + IDLE_TIMEOUT_MS;
		if (c->fd < 0) {
			if (k == ag.owner)
				gone(k);
			return;
		}
	}
}

static void accept_one(void)
{
	struct ucred cr;
	socklen_t l = sizeof(cr);
	int fd = accept4(ag.lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), k;
	struct client tmp = { .fd = fd, .rfd = { -1, 0, 0 } };

	if (fd < 0)
		return;
	if (take_id(fd, &tmp.dev, &tmp.ino) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0) {
		fnt__sys(SYS_close, fd);
		return;
	}
	if (cr.pid == getpid()) {
		/* fnt__agent_wake(): a writer gave up waiting for the drain. */
		drop(&tmp);
		if (fnt__recorder_stopping())
			end_recording("the recorder did not drain the buffers in time");
		return;
	}
	if (cr.uid != 0 && cr.uid != getuid() && cr.uid != geteuid()) {
		send_error(&tmp, 0, "permission denied: process %d belongs to uid %u, not to uid %u",
			   getpid(), (unsigned)getuid(), (unsigned)cr.uid);
		drop(&tmp);
		return;
	}
	for (k = 0; k < MAX_CLIENTS && ag.cl[k].fd >= 0; k++)
		;
	if (k == MAX_CLIENTS) {
		send_error(&tmp, 0, "busy: %d controllers are connected", MAX_CLIENTS);
		drop(&tmp);
		return;
	}
	ag.cl[k] = tmp;
	ag.cl[k].pid = cr.pid;
	ag.cl[k].uid = (int)cr.uid;
	ag.cl[k].have = 0;
	ag.cl[k].deadline_ms = now_ms() + IDLE_TIMEOUT_MS;
}

static int endpoint(void);

static void *agent_main(void *arg)
{
	/* Never traced, for the life of the thread. */
	fnt__in_runtime++;
	for (;;) {
		struct pollfd p[1 + MAX_CLIENTS];
		int idx[1 + MAX_CLIENTS], n = 0, timeout = -1;
		long now = now_ms();

		if (ag.adopt_by_ms) {
			if (ag.owner >= 0 || fnt__recorder_kind() != FNT_REC_LIVE) {
				ag.adopt_by_ms = 0;
			} else if (now >= ag.adopt_by_ms) {
				ag.adopt_by_ms = 0;
				end_recording("no fntrace process took over the recording of this "
					      "forked child");
			} else {
				timeout = (int)(ag.adopt_by_ms - now);
			}
		}
		p[n].fd = ag.lfd;
		p[n++].events = POLLIN;
		for (int k = 0; k < MAX_CLIENTS; k++) {
			struct client *c = &ag.cl[k];

			if (c->fd < 0)
				continue;
			if (c->have && now >= c->deadline_ms) {
				send_error(c, 0, "message not finished within %d ms", MSG_TIMEOUT_MS);
				gone(k);
				continue;
			}
			if (!c->have && k != ag.owner && now >= c->deadline_ms) {
				send_error(c, 0, "idle for %d ms: closed", IDLE_TIMEOUT_MS);
				gone(k);
				continue;
			}
			/* The owner's connection may stay idle: no timeout for it. */
			if (c->have || k != ag.owner) {
				long left = c->deadline_ms - now;

				if (timeout < 0 || left < timeout)
					timeout = (int)left;
			}
			idx[n] = k;
			p[n].fd = c->fd;
			p[n++].events = POLLIN;
		}
		if (poll(p, (nfds_t)n, timeout) < 0 && errno != EINTR)
			continue;
		if (__atomic_load_n(&ag.quit, __ATOMIC_ACQUIRE))
			break;
		fnt__attach_reap();
		if (fnt__recorder_stopping())
			end_recording("the recorder did not drain the buffers in time");
		for (int i = 1; i < n; i++)
			if (p[i].revents && ag.cl[idx[i]].fd == p[i].fd)
				readable(idx[i]);
		if (!still(ag.lfd, ag.ldev, ag.lino)) {
			/* The program closed our socket (and may reuse its number):
			 * make a new one, once per closing. */
			ag.lfd = -1;
			if (endpoint() < 0) {
				fnt__log("control endpoint lost (the program closed its socket)");
				__atomic_store_n(&ag.running, 0, __ATOMIC_RELAXED);
				pthread_detach(pthread_self());
				break;
			}
			continue;
		}
		if (p[0].revents & POLLIN)
			accept_one();
	}
	return NULL;
}

/* The directory of our sockets, made private, or refused. */
static int private_dir(char *dir, size_t cap)
{
	struct stat st;

	fnt__format(dir, cap, FNT_CTL_DIR_FMT, (unsigned)getuid());
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(dir, &st) < 0)
		return -errno;
	/* Anyone may have made it first, in /tmp. */
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077))
		return -EPERM;
	return 0;
}

static int endpoint(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char dir[64];
	int err, fd;

	err = private_dir(dir, sizeof(dir));
	if (err < 0) {
		fnt__log("no control endpoint: %s is not a directory of uid %u with mode 0700 (%s)",
			 dir, (unsigned)getuid(), err == -EPERM ? "refused" : strerror(-err));
		return err;
	}
	fnt__format(ag.path, sizeof(ag.path), "%s/%d.sock", dir, getpid());
	memcpy(a.sun_path, ag.path, sizeof(ag.path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A socket left by an earlier process of this pid (or by this pid's
	 * image before exec) is ours, in our private directory. */
	unlink(ag.path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || chmod(ag.path, 0600) < 0 ||
	    listen(fd, 8) < 0) {
		err = -errno;
		fnt__log("no control endpoint: cannot listen on %s (%s)", ag.path, strerror(-err));
		fnt__sys(SYS_close, fd);
		unlink(ag.path);
		ag.path[0] = 0;
		return err;
	}
	if (take_id(fd, &ag.ldev, &ag.lino) < 0) {
		fnt__sys(SYS_close, fd);
		return -EBADF;
	}
	ag.lfd = fd;
	return 0;
}

/* Starts the thread (the endpoint exists).  Returns 0 or an errno. */
static int spawn(void)
{
	pthread_attr_t at;
	sigset_t all, need;
	int err;

	/* Every signal blocked but those the runtime itself needs taken. */
	sigfillset(&all);
	sigemptyset(&need);
	fnt__arch.needed_signals(&need);
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&need, sig) == 1)
			sigdelset(&all, sig);
	ag.quit = 0;
	err = pthread_attr_init(&at);
	if (err)
		return err;
	err = pthread_attr_setstacksize(&at, 256 * 1024);
	if (!err)
		err = pthread_attr_setsigmask_np(&at, &all);
	if (!err)
		err = pthread_create(&ag.th, &at, agent_main, NULL);
	pthread_attr_destroy(&at);
	if (err)
		return err;
	pthread_setname_np(ag.th, "fntrace-agent");
	/* Release: fnt__agent_wake() reads ag.path after its acquire. */
	__atomic_store_n(&ag.running, 1, __ATOMIC_RELEASE);
	return 0;
}

static void start_agent(void)
{
	int err;

	if (getauxval(AT_SECURE))
		return;		/* a setuid program is not the user's to control */
	if (fnt__env("FNTRACE_AGENT") && strcmp(fnt__env("FNTRACE_AGENT"), "0") == 0)
		return;
	for (int k = 0; k < MAX_CLIENTS; k++)
		ag.cl[k].fd = ag.cl[k].rfd.fd = -1;
	ag.owner = -1;
	ag.pid = getpid();
	if (endpoint() < 0)
		return;
	err = spawn();
	if (err) {
		fnt__log("no control endpoint: cannot start its thread (%s)", strerror(err));
		close_ours(&ag.lfd, ag.ldev, ag.lino);
		unlink(ag.path);
		ag.path[0] = 0;
		return;
	}
	ag.on = 1;
}

void fnt__agent_init(void)
{
	start_agent();
}

void fnt__agent_fork_child(void)
{
	/* The parent's agent did not come along; its descriptors did.  The
	 * parent's endpoint stays the parent's: nothing here unlinks it. */
	__atomic_store_n(&ag.running, 0, __ATOMIC_RELAXED);
	close_ours(&ag.lfd, ag.ldev, ag.lino);
	for (int k = 0; k < MAX_CLIENTS; k++)
		drop(&ag.cl[k]);
	ag.path[0] = 0;
	if (ag.on) {
		ag.on = 0;
		ag.owner = -1;
		ag.adopt_by_ms = fnt__recorder_kind() == FNT_REC_LIVE ? now_ms() + 5000 : 0;
		start_agent();
	}
}

void fnt__agent_exit(void)
{
	if (ag.path[0] && ag.pid == getpid())
		unlink(ag.path);
}

/*
 * unshare(CLONE_NEWUSER) and setns() into a user or mount namespace fail
 * with EINVAL in a process with more than one thread: the agent must not
 * be the thread that makes a program fail.  It returns for the call (it
 * waits in poll(), so that is at once) and starts again after, on the
 * same socket.  While a recording runs it stays, and the call fails as it
 * would with any other thread (docs/design.md, known limits).
 */
static int pause_agent(void)
{
	if (!__atomic_load_n(&ag.running, __ATOMIC_ACQUIRE) || fnt__recorder_kind())
		return 0;
	__atomic_store_n(&ag.quit, 1, __ATOMIC_RELEASE);
	fnt__agent_wake();
	pthread_join(ag.th, NULL);
	__atomic_store_n(&ag.running, 0, __ATOMIC_RELAXED);
	return 1;
}

static void resume_agent(int paused)
{
	int err;

	if (!paused)
		return;
	err = spawn();
	if (err)
		fnt__log("control endpoint lost: cannot restart its thread (%s)", strerror(err));
}

FNT_EXPORT int unshare(int flags)
{
	int saved, paused;
	long r;

	fnt__in_runtime++;
	paused = (flags & CLONE_NEWUSER) ? pause_agent() : 0;
	r = fnt__sys(SYS_unshare, flags);
	saved = (int)-r;
	resume_agent(paused);
	fnt__in_runtime--;
	if (r < 0) {
		errno = saved;
		return -1;
	}
	return 0;
}

FNT_EXPORT int setns(int fd, int nstype)
{
	int saved, paused;
	long r;

	fnt__in_runtime++;
	paused = (nstype == 0 || (nstype & (CLONE_NEWUSER | CLONE_NEWNS))) ? pause_agent() : 0;
	r = fnt__sys(SYS_setns, fd, nstype);
	saved = (int)-r;
	resume_agent(paused);
	fnt__in_runtime--;
	if (r < 0) {
		errno = saved;
		return -1;
	}
	return 0;
}
