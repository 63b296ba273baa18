/*
 * ctl_fuzz.c - throws random and mutated control messages at a traced
 * process's agent (src/runtime/agent.c), for tests/e2e/live_fuzz.sh.
 * Plain C: it links nothing of fntrace and takes only the protocol's
 * constants and header layout from src/ctl/proto.h (build with -Isrc).
 *
 *   ctl_fuzz SOCKET fuzz N SEED DIR   N cases against a dormant process
 *   ctl_fuzz SOCKET set N SEED        N random SETs (and STATUS) against
 *                                     a process being recorded
 *
 * Cases (fuzz): random bytes; valid headers with random bodies; valid
 * types with random keys and values; truncated messages; oversized
 * lengths; wrong magic, versions and types; descriptors of every kind
 * attached (SCM_RIGHTS, up to 8 at once, on any message); START with a
 * descriptor that is no recording region; messages split into many sends
 * or several in one; connections closed mid-message or half-closed; many
 * connections at once, idle ones, and ones that stop half-way through a
 * message (the agent's 2 s limit).
 *
 * What it checks itself: every reply is well formed and numbered as its
 * request (or 0, unasked); a well-formed HELLO or STATUS is answered with
 * state=dormant and enabled=0 (fuzz), or with a reply (set); a START with
 * a wrong descriptor is refused; a "busy" refusal is the only excuse.
 * Exit status 0 if all held, 1 with a line on stderr per failure, 2 if the
 * agent stopped accepting connections.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl/proto.h"

#define HDR ((uint32_t)sizeof(struct fnt_ctl_hdr))

static const char *sock_path;
static uint64_t rs;
static long n_msgs, n_replies, n_errors, n_busy, n_fds, n_conns, n_backlog, failures;
static char buf[HDR + FNT_CTL_MAX + 65536];

static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static uint32_t below(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

static void failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void failure(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ctl_fuzz: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (++failures > 20)
		exit(1);
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A connection to the agent, or -1 (backlog full: counted). */
static int conn(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct timeval tv = { 5, 0 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		perror("ctl_fuzz: socket");
		exit(2);
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
	for (int tries = 0; connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0; tries++) {
		if ((errno == EAGAIN || errno == EINTR) && tries < 100) {
			n_backlog++;
			usleep(2000);
			continue;
		}
		fprintf(stderr, "ctl_fuzz: connect %s: %s\n", sock_path, strerror(errno));
		exit(2);
	}
	n_conns++;
	return fd;
}

/* Sends len bytes of p, with nfds descriptors on the first byte.  Returns
 * 0, or -1 if the agent closed first (which it may). */
static int send_all(int fd, const void *p, size_t len, const int *fds, int nfds)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 16)];
	} cm;
	size_t off = 0;

	do {
		struct iovec iov = { (char *)p + off, len - off };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t r;

		if (nfds && off == 0) {
			memset(&cm, 0, sizeof(cm));
			m.msg_control = &cm;
			m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			cm.h.cmsg_level = SOL_SOCKET;
			cm.h.cmsg_type = SCM_RIGHTS;
			cm.h.cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(&cm.h), fds, sizeof(int) * nfds);
			n_fds += nfds;
			if (len == 0) {
				/* Descriptors need a byte to ride on. */
				static const char z;

				iov.iov_base = (void *)&z;
				iov.iov_len = 1;
			}
		}
		r = sendmsg(fd, &m, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		off += (size_t)r;
	} while (off < len);
	return 0;
}

struct reply {
	struct fnt_ctl_hdr h;
	char body[FNT_CTL_MAX + 1];
};

static int read_full(int fd, void *p, size_t len, int timeout_ms)
{
	size_t off = 0;
	long until = now_ms() + timeout_ms;

	while (off < len) {
		struct pollfd pf = { fd, POLLIN, 0 };
		long left = until - now_ms();
		ssize_t r;

		if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
			return -2;	/* timed out */
		r = recv(fd, (char *)p + off, len - off, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;	/* closed */
		off += (size_t)r;
	}
	return 0;
}

/* Reads one reply: 1, 0 if the connection closed, -2 on a timeout; a
 * malformed reply is a failure (and returns -1). */
static int get_reply(int fd, struct reply *rp, int timeout_ms)
{
	int r = read_full(fd, &rp->h, HDR, timeout_ms);

	if (r == -1)
		return 0;
	if (r < 0)
		return -2;
	if (rp->h.magic != FNT_CTL_MAGIC || rp->h.version != FNT_CTL_VERSION ||
	    (rp->h.type != FNT_CTL_REPLY && rp->h.type != FNT_CTL_ERROR) || rp->h.len > FNT_CTL_MAX) {
		failure("malformed reply header: magic %#x version %u type %#x len %u", rp->h.magic,
			rp->h.version, rp->h.type, rp->h.len);
		return -1;
	}
	if (read_full(fd, rp->body, rp->h.len, timeout_ms) < 0) {
		failure("reply body cut short (%u bytes announced)", rp->h.len);
		return -1;
	}
	rp->body[rp->h.len] = 0;
	/* key=value lines, each ended by a newline */
	for (uint32_t i = 0; i < rp->h.len;) {
		uint32_t k = i;

		while (i < rp->h.len && rp->body[i] != '=' && rp->body[i] != '\n')
			i++;
		if (i == k || i >= rp->h.len || rp->body[i] != '=') {
			failure("malformed reply body: '%.200s'", rp->body);
			return -1;
		}
		while (i < rp->h.len && rp->body[i] != '\n')
			i++;
		if (i >= rp->h.len) {
			failure("reply body's last line not terminated");
			return -1;
		}
		i++;
	}
	n_replies++;
	if (rp->h.type == FNT_CTL_ERROR) {
		n_errors++;
		if (strstr(rp->body, "error=busy:"))
			n_busy++;
	}
	return 1;
}

static int has_line(const struct reply *rp, const char *line)
{
	size_t l = strlen(line);

	for (const char *p = rp->body; (p = strstr(p, line)); p++)
		if ((p == rp->body || p[-1] == '\n') && p[l] == '\n')
			return 1;
	return 0;
}

static uint32_t put_hdr(char *b, uint32_t magic, uint16_t ver, uint16_t type, uint32_t len,
			uint32_t seq)
{
	struct fnt_ctl_hdr h = { magic, ver, type, len, seq };

	memcpy(b, &h, HDR);
	return HDR;
}

/* The body grammar of proto.h: lines "key=value\n", keys of [a-z_0-9]
 * (1 to 32), values of bytes 0x20 and up but 0x7f. */
static int body_ok(const char *b, uint32_t len)
{
	for (uint32_t i = 0; i < len;) {
		uint32_t k = i;

		while (i < len && ((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') ||
				   b[i] == '_'))
			i++;
		if (i == k || i - k > 32 || i >= len || b[i] != '=')
			return 0;
		for (i++; i < len && b[i] != '\n'; i++)
			if ((unsigned char)b[i] < 0x20 || b[i] == 0x7f)
				return 0;
		if (i >= len)
			return 0;
		i++;
	}
	return 1;
}

static const char *keys[] = { "filter", "notrace", "depth", "thresh_ticks", "tracer", "pid",
			      "version", "state", "error", "exe", "x", "owner_pid", "seq" };
static const char *values[] = { "", "*", "main", "step", "mix", "!", "[", "[a-", "\\", "*,*",
				"step,mix", "0", "1", "100000", "100001", "18446744073709551615",
				"18446744073709551616", "-1", "function", "function_graph", "nop",
				"w*", "?*?", "main,,", ",", "{a,b}", "**", "a*b*c*d*e*f*g*h*i*j*" };

/* A random body of key=value lines, mostly well formed; *valid says if it
 * is (body_ok). */
static uint32_t kv_body(char *b, uint32_t cap, int *valid)
{
	uint32_t n = 0, lines = below(6);

	for (uint32_t l = 0; l < lines; l++) {
		char k[80], v[6000];
		uint32_t kl, vl;

		if (below(4)) {
			snprintf(k, sizeof(k), "%s", keys[below(sizeof(keys) / sizeof(keys[0]))]);
		} else {
			kl = 1 + below(below(8) ? 20 : 40);
			for (uint32_t i = 0; i < kl; i++)
				k[i] = "abcdefghijklmnopqrstuvwxyz_0123456789"[below(37)];
			k[kl] = 0;
		}
		if (below(3)) {
			snprintf(v, sizeof(v), "%s", values[below(sizeof(values) / sizeof(values[0]))]);
		} else {
			vl = below(below(10) ? 60 : 5000);
			for (uint32_t i = 0; i < vl; i++)
				v[i] = (char)(0x20 + below(0x5f));
			v[vl] = 0;
		}
		if (!below(30)) {	/* a control byte in the value */
			size_t at = strlen(v);

			v[at] = (char)below(0x20);
			if (v[at] == '\n' || v[at] == 0)
				v[at] = 1;
			v[at + 1] = 0;
		}
		kl = (uint32_t)strlen(k);
		vl = (uint32_t)strlen(v);
		if (n + kl + vl + 2 > cap)
			break;
		memcpy(b + n, k, kl);
		b[n + kl] = '=';
		memcpy(b + n + kl + 1, v, vl);
		b[n + kl + 1 + vl] = '\n';
		n += kl + vl + 2;
	}
	if (n && !below(25))	/* the last newline lost */
		n--;
	if (!below(40)) {	/* a line without '=' */
		if (n + 4 <= cap) {
			memcpy(b + n, "abc\n", 4);
			n += 4;
		}
	}
	/* What was meant may not fit: what was made decides. */
	*valid = body_ok(b, n);
	return n;
}

/* Descriptors to pass: of every kind, and the wrong ones for START. */
static int pool[16], npool, bad_start[10], nbad;

static void make_pool(const char *dir)
{
	char path[4096];
	int p[2], s[2], fd;
	static char junk[1 << 20];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)rnd();
	pool[npool++] = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (pipe2(p, O_CLOEXEC) == 0) {
		pool[npool++] = p[0];
		pool[npool++] = p[1];
		bad_start[nbad++] = p[0];
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) == 0) {
		pool[npool++] = s[0];
		bad_start[nbad++] = s[1];
	}
	pool[npool++] = eventfd(0, EFD_CLOEXEC);
	pool[npool++] = epoll_create1(EPOLL_CLOEXEC);
	fd = memfd_create("ctl_fuzz-empty", MFD_CLOEXEC);
	pool[npool++] = fd;
	bad_start[nbad++] = fd;
	fd = memfd_create("ctl_fuzz-junk", MFD_CLOEXEC);
	if (fd >= 0 && write(fd, junk, sizeof(junk)) == (ssize_t)sizeof(junk))
		bad_start[nbad++] = fd;
	fd = memfd_create("ctl_fuzz-zero", MFD_CLOEXEC);	/* 64 MB of zeros */
	if (fd >= 0 && ftruncate(fd, 64 << 20) == 0)
		bad_start[nbad++] = fd;
	bad_start[nbad++] = open("/dev/zero", O_RDWR | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/small", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, "not a region\n", 13) != 13) {
		perror("ctl_fuzz: small file");
		exit(2);
	}
	pool[npool++] = fd;
	bad_start[nbad++] = fd;
	snprintf(path, sizeof(path), "%s/big", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, junk, sizeof(junk)) != (ssize_t)sizeof(junk)) {
		perror("ctl_fuzz: big file");
		exit(2);
	}
	bad_start[nbad++] = fd;
	bad_start[nbad++] = open(path, O_RDONLY | O_CLOEXEC);	/* cannot be mapped for writing */
	bad_start[nbad - 1] = bad_start[nbad - 1] < 0 ? fd : bad_start[nbad - 1];
	pool[npool++] = open(path, O_PATH | O_CLOEXEC);
	pool[npool++] = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (int i = 0; i < npool; i++)
		if (pool[i] < 0) {
			perror("ctl_fuzz: pool");
			exit(2);
		}
}

static int random_fds(int *fds)
{
	int n = 1 + (int)below(below(4) ? 2 : 8);

	for (int i = 0; i < n; i++)
		fds[i] = below(3) ? pool[below((uint32_t)npool)] : bad_start[below((uint32_t)nbad)];
	return n;
}

/* A well-formed request of type t, and what its answer must be. */
static void expect_answer(int fd, uint16_t t, uint32_t seq, int body_valid, const char *what)
{
	struct reply rp;
	int r = get_reply(fd, &rp, 5000);

	if (r == -2) {
		failure("%s (type %u): no answer within 5 s", what, t);
		return;
	}
	if (r <= 0) {
		if (r == 0)
			failure("%s (type %u): connection closed without an answer", what, t);
		return;
	}
	if (rp.h.seq != seq && rp.h.seq != 0)
		failure("%s: reply numbered %u, request %u", what, rp.h.seq, seq);
	if (rp.h.type == FNT_CTL_ERROR && strstr(rp.body, "error=busy:"))
		return;
	if (!body_valid) {
		if (rp.h.type != FNT_CTL_ERROR)
			failure("%s: a malformed body was accepted (type %u)", what, t);
		return;
	}
	switch (t) {
	case FNT_CTL_HELLO:
	case FNT_CTL_STATUS:
		if (rp.h.type != FNT_CTL_REPLY || !has_line(&rp, "state=dormant") ||
		    !has_line(&rp, "enabled=0"))
			failure("%s: STATUS/HELLO answered '%.300s'", what, rp.body);
		break;
	case FNT_CTL_START:
		if (rp.h.type != FNT_CTL_ERROR)
			failure("%s: START without a region was accepted: '%.300s'", what, rp.body);
		break;
	case FNT_CTL_SET:
	case FNT_CTL_ADOPT:
		if (rp.h.type != FNT_CTL_ERROR)
			failure("%s: type %u in a dormant process was accepted", what, t);
		break;
	case FNT_CTL_STOP:
		if (rp.h.type != FNT_CTL_REPLY)
			failure("%s: STOP in a dormant process refused: '%.300s'", what, rp.body);
		break;
	}
}

/* An ERROR must come, then the connection must close. */
static void expect_refusal(int fd, const char *what)
{
	struct reply rp;
	int r = get_reply(fd, &rp, 5000);

	if (r == 1 && rp.h.type != FNT_CTL_ERROR)
		failure("%s: answered with a reply, not an error", what);
	if (r == -2)
		failure("%s: neither refused nor closed within 5 s", what);
	if (r == 1 && !strstr(rp.body, "error=busy:")) {
		r = get_reply(fd, &rp, 5000);
		if (r != 0)
			failure("%s: the connection stayed open after the refusal", what);
	}
}

static void one_case(void)
{
	uint32_t seq = (uint32_t)rnd(), n = 0, len;
	uint16_t t = (uint16_t)(1 + below(6));
	int fd = conn(), fds[8], nfds = 0, valid, r = (int)below(100);

	if (r < 10) {				/* random bytes */
		len = below(below(8) ? 64 : 20000);
		for (uint32_t i = 0; i < len; i++)
			buf[i] = (char)rnd();
		if (len >= 4 && below(2))
			memcpy(buf, &(uint32_t){ FNT_CTL_MAGIC }, 4);
		send_all(fd, buf, len, NULL, 0);
		n_msgs++;
	} else if (r < 20) {			/* valid header, random body */
		len = below(below(4) ? 100 : FNT_CTL_MAX + 1);
		n = put_hdr(buf, FNT_CTL_MAGIC, FNT_CTL_VERSION, t, len, seq);
		for (uint32_t i = 0; i < len; i++)
			buf[n + i] = (char)rnd();
		send_all(fd, buf, n + len, NULL, 0);
		n_msgs++;
		/* Random bytes are almost never a good body. */
		if (body_ok(buf + n, len))
			expect_answer(fd, t, seq, 1, "valid header, random (but good) body");
		else
			expect_refusal(fd, "valid header, random body");
	} else if (r < 36) {			/* valid types, random keys and values */
		len = kv_body(buf + HDR, FNT_CTL_MAX, &valid);
		n = put_hdr(buf, FNT_CTL_MAGIC, FNT_CTL_VERSION, t, len, seq);
		send_all(fd, buf, n + len, NULL, 0);
		n_msgs++;
		expect_answer(fd, t, seq, valid, "random keys and values");
	} else if (r < 44) {			/* truncated, then closed */
		len = kv_body(buf + HDR, FNT_CTL_MAX, &valid);
		n = put_hdr(buf, FNT_CTL_MAGIC, FNT_CTL_VERSION, t, len + 1 + below(100), seq);
		send_all(fd, buf, below(n + len), NULL, 0);
		n_msgs++;
	} else if (r < 50) {			/* oversized */
		len = FNT_CTL_MAX + 1 + below(below(2) ? 10 : 0xffffffffu - FNT_CTL_MAX - 1);
		n = put_hdr(buf, FNT_CTL_MAGIC, FNT_CTL_VERSION, t, len, seq);
		memset(buf + n, 'a', 200);
		send_all(fd, buf, n + below(200), NULL, 0);
		n_msgs++;
		expect_refusal(fd, "oversized length");
	} else if (r < 58) {			/* wrong magic, version or type */
		uint32_t magic = FNT_CTL_MAGIC;
		uint16_t ver = FNT_CTL_VERSION;

		switch (below(3)) {
		case 0:
			magic ^= 1u << below(32);
			break;
		case 1:
			ver = below(2) ? (uint16_t)(2 + below(5)) : (uint16_t)rnd();
			if (ver == FNT_CTL_VERSION)
				ver = 0;
			break;
		default: {
			static const uint16_t bad[] = { 0, FNT_CTL_ARM + 1, FNT_CTL_ARM + 2, 0x7f, FNT_CTL_REPLY, FNT_CTL_ERROR, 0x82, 0xffff };

			t = bad[below(sizeof(bad) / sizeof(bad[0]))];
		}
		}
		len = kv_body(buf + HDR, FNT_CTL_MAX, &valid);
		n = put_hdr(buf, magic, ver, t, len, seq);
		send_all(fd, buf, n + len, NULL, 0);
		n_msgs++;
		expect_refusal(fd, "wrong magic, version or type");
	} else if (r < 72) {			/* descriptors on any message */
		nfds = random_fds(fds);
		if (below(2)) {
			len = kv_body(buf + HDR, FNT_CTL_MAX, &valid);
			n = put_hdr(buf, FNT_CTL_MAGIC, below(10) ? FNT_CTL_VERSION : 9,
				    (uint16_t)(below(10) ? t : 0x99), len, seq);
			len += n;
		} else {
			len = below(300);
			for (uint32_t i = 0; i < len; i++)
				buf[i] = (char)rnd();
		}
		if (below(3) == 0)
			len = below(len + 1);	/* cut short */
		send_all(fd, buf, len, fds, nfds);
		n_msgs++;
		/* Read whatever comes, so the agent is done with it.  No
		 * descriptor of the pool is a region: a START is refused. */
		if (below(2)) {
			struct reply rp;

			/* The end of what we send: the agent need not wait 2 s
			 * for the rest of a message cut short. */
			shutdown(fd, SHUT_WR);
			if (get_reply(fd, &rp, 3000) == 1 && rp.h.type == FNT_CTL_REPLY &&
			    len >= HDR && ((struct fnt_ctl_hdr *)buf)->type == FNT_CTL_START)
				failure("START with descriptors of the pool accepted");
		}
	} else if (r < 82) {			/* START with a descriptor that is no region */
		int valid2;

		len = kv_body(buf + HDR, FNT_CTL_MAX, &valid2);
		n = put_hdr(buf, FNT_CTL_MAGIC, FNT_CTL_VERSION, FNT_CTL_START, len, seq);
		fds[0] = bad_start[below((uint32_t)nbad)];
		send_all(fd, buf, n + len, fds, 1);
		n_msgs++;
		expect_answer(fd, FNT_CTL_START, seq, body_ok(buf + n, len),
			      "START with a wrong descriptor");
	} else if (r < 87) {			/* one message in many sends */
		uint16_t tt = below(2) ? FNT_CTL_STATUS : FNT_CTL_HELLO;
		uint32_t off = 0;

		len = below(2) ? kv_body(buf + HDR, FNT_CTL_MAX, &valid) : (valid = 1, 0);
		n = put_hdr(buf, FNT_CTL_MAGIC, FNT_CTL_VERSION, tt, len, seq);
		while (off < n + len) {
			uint32_t k = 1 + below(below(2) ? 3 : 40);

			if (k > n + len - off)
				k = n + len - off;
			if (send_all(fd, buf + off, k, NULL, 0) < 0)
				break;
			off += k;
		}
		n_msgs++;
		expect_answer(fd, tt, seq, valid, "a message in pieces");
	} else if (r < 92) {			/* several messages in one send */
		uint16_t types[6];
		uint32_t seqs[6];
		int vals[6], k = 2 + (int)below(4);

		for (int i = 0; i < k; i++) {
			static const uint16_t ok[] = { FNT_CTL_HELLO, FNT_CTL_STATUS, FNT_CTL_STOP,
						       FNT_CTL_SET, FNT_CTL_ADOPT };

			types[i] = ok[below(5)];
			seqs[i] = (uint32_t)rnd();
			len = below(2) ? kv_body(buf + n + HDR, 2000, &vals[i]) : (vals[i] = 1, 0);
			/* The agent closes after a malformed one: keep them good. */
			if (!vals[i])
				len = 0, vals[i] = 1;
			n += put_hdr(buf + n, FNT_CTL_MAGIC, FNT_CTL_VERSION, types[i], len, seqs[i]);
			n += len;
		}
		send_all(fd, buf, n, NULL, 0);
		n_msgs += k;
		for (int i = 0; i < k; i++)
			expect_answer(fd, types[i], seqs[i], vals[i], "pipelined messages");
	} else if (r < 96) {			/* a descriptor, then closed mid-body */
		len = 50 + below(1000);
		n = put_hdr(buf, FNT_CTL_MAGIC, FNT_CTL_VERSION, FNT_CTL_START, len, seq);
		memset(buf + n, 'a', len);
		fds[0] = bad_start[below((uint32_t)nbad)];
		send_all(fd, buf, n + below(len), fds, 1);
		n_msgs++;
	} else {				/* half-closed after a whole message */
		n = put_hdr(buf, FNT_CTL_MAGIC, FNT_CTL_VERSION, FNT_CTL_STATUS, 0, seq);
		send_all(fd, buf, n, NULL, 0);
		shutdown(fd, SHUT_WR);
		n_msgs++;
		expect_answer(fd, FNT_CTL_STATUS, seq, 1, "half-closed STATUS");
	}
	close(fd);
}

/* A STATUS on a fresh connection: 1 answered (dormant), 0 busy. */
static int status_now(const char *what)
{
	struct reply rp;
	uint32_t seq = (uint32_t)rnd();
	int fd = conn(), r;

	put_hdr(buf, FNT_CTL_MAGIC, FNT_CTL_VERSION, FNT_CTL_STATUS, 0, seq);
	send_all(fd, buf, HDR, NULL, 0);
	n_msgs++;
	r = get_reply(fd, &rp, 5000);
	close(fd);
	if (r != 1) {
		failure("%s: STATUS not answered", what);
		return -1;
	}
	if (rp.h.type == FNT_CTL_ERROR && strstr(rp.body, "error=busy:"))
		return 0;
	if (rp.h.type != FNT_CTL_REPLY || !has_line(&rp, "state=dormant"))
		failure("%s: STATUS answered '%.300s'", what, rp.body);
	return 1;
}

/* Many connections at once: junk, nothing, or half a message on each;
 * then every one closes. */
static void crowd(void)
{
	int fds[16], k = 4 + (int)below(12);

	for (int i = 0; i < k; i++) {
		uint32_t len = below(40);

		fds[i] = conn();
		for (uint32_t j = 0; j < len; j++)
			buf[j] = (char)rnd();
		if (below(2))
			put_hdr(buf, FNT_CTL_MAGIC, FNT_CTL_VERSION, FNT_CTL_STATUS, 100, 1);
		if (len)
			send_all(fds[i], buf, len, NULL, 0);
		n_msgs++;
	}
	status_now("a STATUS among many connections");
	for (int i = 0; i < k; i++)
		close(fds[i]);
}

/* Slots held: by idle connections (until they close), and by messages
 * begun and never finished (until the agent's 2 s limit).  Either way a
 * fifth controller is told "busy", and the agent answers again after. */
static void hold(int idle)
{
	int fds[4], busy = 0;
	long t0;

	for (int i = 0; i < 4; i++) {
		fds[i] = conn();
		if (!idle) {
			put_hdr(buf, FNT_CTL_MAGIC, FNT_CTL_VERSION, FNT_CTL_STATUS, 10, 7);
			send_all(fds[i], buf, 5 + below(14), NULL, 0);
			n_msgs++;
		}
	}
	usleep(100000);
	/* Other controllers (fntrace ps of anyone) may come and go: tried a
	 * few times. */
	for (int i = 0; i < 5 && !busy; i++)
		busy = status_now(idle ? "a STATUS past 4 idle connections"
				       : "a STATUS past 4 unfinished messages") == 0;
	if (!busy)
		failure("%s: a fifth controller was not told busy",
			idle ? "4 idle connections" : "4 unfinished messages");
	t0 = now_ms();
	if (!idle) {
		/* The agent gives up on each after 2 s, and says so. */
		for (int i = 0; i < 4; i++) {
			struct reply rp;
			int r = get_reply(fds[i], &rp, 4000);

			if (r == 1 && strstr(rp.body, "error=busy:"))
				continue;	/* a slot was someone else's */
			if (r != 1 || rp.h.type != FNT_CTL_ERROR || !strstr(rp.body, "not finished"))
				failure("an unfinished message: no 'not finished' error (%d)", r);
			else if (get_reply(fds[i], &rp, 2000) != 0)
				failure("an unfinished message: the connection stayed open");
		}
		if (now_ms() - t0 < 1500)
			failure("unfinished messages dropped after %ld ms, before the 2 s limit",
				now_ms() - t0);
	}
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	for (int i = 0; i < 50; i++) {
		if (status_now("a STATUS after the slots were freed") == 1)
			return;
		usleep(20000);
	}
	failure("the agent stayed busy after the slots were freed");
}

/* SET with random settings while a recording runs; every answer must be
 * well formed, a STATUS must be answered with a reply. */
static void set_case(void)
{
	static const char *globs[] = { "*", "step", "mix", "work", "worker", "main", "s*", "*i*",
				       "nomatch", "!mix", "step,mix", "", "[", "[]", "*[a-z]*", "?" };
	char body[FNT_CTL_MAX], v[5000];
	uint32_t len = 0, seq = (uint32_t)rnd();
	int fd = conn();
	uint16_t t = below(5) ? FNT_CTL_SET : FNT_CTL_STATUS;
	struct reply rp;

	for (int i = 0, k = 1 + (int)below(4); i < k && t == FNT_CTL_SET; i++) {
		const char *key;

		switch (below(6)) {
		case 0:
			key = "filter";
			break;
		case 1:
			key = "notrace";
			break;
		case 2:
			key = "depth";
			break;
		case 3:
			key = "thresh_ticks";
			break;
		case 4:
			key = "tracer";
			break;
		default:
			key = "filter";
		}
		if (!strcmp(key, "depth") || !strcmp(key, "thresh_ticks")) {
			snprintf(v, sizeof(v), "%llu", below(3) ? (unsigned long long)below(50)
								 : (unsigned long long)rnd());
		} else if (!strcmp(key, "tracer")) {
			snprintf(v, sizeof(v), "%s", below(3) ? (below(2) ? "function" : "function_graph")
							     : "nop");
		} else if (below(20) == 0) {
			size_t l = 4000 + below(900);	/* around the 4096 limit */

			memset(v, '*', l);
			v[l] = 0;
		} else {
			snprintf(v, sizeof(v), "%s%s%s", globs[below(16)], below(3) ? "" : ",",
				 below(3) ? "" : globs[below(16)]);
		}
		if (len + strlen(key) + strlen(v) + 2 > sizeof(body))
			break;
		len += (uint32_t)sprintf(body + len, "%s=%s\n", key, v);
	}
	put_hdr(buf, FNT_CTL_MAGIC, FNT_CTL_VERSION, t, len, seq);
	memcpy(buf + HDR, body, len);
	send_all(fd, buf, HDR + len, NULL, 0);
	n_msgs++;
	switch (get_reply(fd, &rp, 10000)) {
	case 1:
		if (rp.h.seq != seq && rp.h.seq != 0)
			failure("SET: reply numbered %u, request %u", rp.h.seq, seq);
		if (t == FNT_CTL_STATUS && rp.h.type != FNT_CTL_REPLY && !strstr(rp.body, "error=busy:"))
			failure("STATUS during a recording: '%.300s'", rp.body);
		break;
	case -2:
		failure("SET '%.100s': no answer within 10 s", body);
		break;
	case 0:
		failure("SET '%.100s': connection closed without an answer", body);
		break;
	}
	close(fd);
}

int main(int argc, char **argv)
{
	long n, t0 = now_ms();

	if (argc < 5 || (strcmp(argv[2], "fuzz") && strcmp(argv[2], "set")) ||
	    (!strcmp(argv[2], "fuzz") && argc < 6)) {
		fprintf(stderr, "usage: ctl_fuzz SOCKET fuzz N SEED DIR | ctl_fuzz SOCKET set N SEED\n");
		return 2;
	}
	sock_path = argv[1];
	n = atol(argv[3]);
	rs = strtoull(argv[4], NULL, 0) * 0x9e3779b97f4a7c15ull + 1;
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(argv[2], "set")) {
		for (long i = 0; i < n; i++)
			set_case();
	} else {
		make_pool(argv[5]);
		hold(1);
		for (long i = 0; i < n; i++) {
			one_case();
			if (i % 500 == 499)
				crowd();
			if (i == n / 2)
				hold(0);
		}
	}
	printf("ctl_fuzz %s: %ld messages on %ld connections in %ld ms: %ld replies (%ld errors, "
	       "%ld busy), %ld descriptors passed, %ld connects retried; %ld failures\n",
	       argv[2], n_msgs, n_conns, now_ms() - t0, n_replies, n_errors, n_busy, n_fds, n_backlog,
	       failures);
	return failures ? 1 : 0;
}
