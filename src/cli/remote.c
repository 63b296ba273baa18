/*
 * remote.c - 'fntrace record -p PID' and 'live -p PID': recording processes
 * that are already running, through their agents (src/runtime/agent.c).
 *
 *   connect to every PID, HELLO          (refuse what cannot be recorded,
 *                                         before anything is changed)
 *   create the region and the file
 *   START, passing the region's fd       the agent patches the sites live
 *   loop: drain (consumer.c); follow      forked children are ADOPTed, an
 *         children and execs; watch       exec'd image STARTed again;
 *         each connection                 an unasked ERROR: it stopped
 *   until -d, Ctrl-C, or every process is gone
 *   STOP each, draining until it         every site is a NOP again when the
 *   answers; final drain; END             reply comes
 *
 * If this process dies instead, each agent sees its connection close and
 * stops the recording itself: the targets never depend on us to go on.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cli/attach.h"
#include "cli/cli.h"
#include "cli/consumer.h"
#include "cli/ctlclient.h"
#include "cli/livefeed.h"
#include "cli/region.h"
#include "ring/clock.h"
#include "ring/ring.h"

#define MAX_TARGETS 256
/* A forked child's agent needs a moment to listen: tried this long. */
#define ADOPT_MS 3000
/* An exec'd image's agent, likewise. */
#define REEXEC_MS 2000

enum tstate {
	T_PENDING,	/* a child seen in the region, not yet adopted */
	T_ON,		/* recording, connection owned */
	T_STOPPING,	/* STOP sent */
	T_DONE,
};

struct target {
	int pid;
	enum tstate st;
	struct fnt_ctl_conn c;
	long since_ms;	/* T_PENDING: first try; T_ON after exec: first retry */
	int execs;	/* images STARTed again after an exec */
	int reexec;	/* the connection closed while the process lives */
};

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int alive(int pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

/*
 * START in t's process; fd is a fresh descriptor of the region.  The
 * buffers are drained while the agent works: it patches the sites and
 * waits for the hooks in flight, which in lossless mode may be waiting
 * for room in their rings (without the drain, the reply came only once
 * they gave up, after the drain timeout, and the recording stopped).
 */
static int start(struct target *t, const struct fnt_rec_opts *o, const char *shm_path,
		 struct fnt_consumer *d, char *err, size_t cap)
{
	static char body[FNT_CTL_MAX];
	const char *rb;
	uint32_t len = 0, rlen;
	int fd = open(shm_path, O_RDWR | O_CLOEXEC), r, type;
	long until = now_ms() + 30000;
	char msg[512];

	if (fd < 0) {
		snprintf(err, cap, "cannot open the recording buffers: %s", strerror(errno));
		return -errno;
	}
	fnt__ctl_put(body, sizeof(body), &len, "filter", o->filter);
	fnt__ctl_put(body, sizeof(body), &len, "notrace", o->notrace);
	r = fnt__ctl_send(&t->c, FNT_CTL_START, body, len, fd);
	close(fd);
	if (r < 0) {
		snprintf(err, cap, "process %d closed its control connection", t->pid);
		return r;
	}
	for (;;) {
		r = fnt__ctl_recv(&t->c, 0, &type, &rb, &rlen);
		if (r < 0) {
			snprintf(err, cap, r == -EPROTO ? "process %d sent a malformed reply"
							: "process %d closed its control connection",
				 t->pid);
			return r;
		}
		/* As fnt__ctl_call(): an error numbered 0 came unasked. */
		if (r == 1 && (t->c.in.h.seq == t->c.seq || t->c.in.h.seq == 0)) {
			if (type != FNT_CTL_ERROR)
				return 0;
			if (fnt__ctl_get(rb, rlen, "error", msg, sizeof(msg)) < 0)
				snprintf(msg, sizeof(msg), "unknown error");
			snprintf(err, cap, "process %d: %s", t->pid, msg);
			return -EREMOTEIO;
		}
		if (r == 1)
			continue;
		if (now_ms() >= until) {
			snprintf(err, cap, "process %d did not answer within %d ms", t->pid, 30000);
			return -ETIMEDOUT;
		}
		if (fnt__consumer_drain(d, 0) == 0)
			nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
}

static int same_pidns(int pid)
{
	struct stat a, b;
	char p[64];

	snprintf(p, sizeof(p), "/proc/%d/ns/pid", pid);
	return stat("/proc/self/ns/pid", &a) == 0 && stat(p, &b) == 0 && a.st_ino == b.st_ino &&
	       a.st_dev == b.st_dev;
}

static void cmdline_of(int pid, char *out, size_t cap)
{
	char p[64];
	FILE *f;
	size_t n = 0;

	snprintf(p, sizeof(p), "/proc/%d/cmdline", pid);
	out[0] = 0;
	f = fopen(p, "re");
	if (!f)
		return;
	n = fread(out, 1, cap - 1, f);
	fclose(f);
	out[n] = 0;
	for (size_t i = 0; i + 1 < n; i++)
		if (!out[i])
			out[i] = ' ';
}

/* Looks at t's connection: an unasked ERROR (the agent stopped the
 * recording) or a close (the process exited, or exec'd). */
static void watch(struct target *t)
{
	const char *b;
	uint32_t len;
	int type, r;
	char msg[512];

	if (t->c.fd < 0)
		return;
	while ((r = fnt__ctl_recv(&t->c, 0, &type, &b, &len)) == 1) {
		if (type == FNT_CTL_ERROR && t->st == T_ON) {
			if (fnt__ctl_get(b, len, "error", msg, sizeof(msg)) < 0)
				snprintf(msg, sizeof(msg), "stopped");
			fprintf(stderr, "fntrace: process %d: %s\n", t->pid, msg);
			fnt__ctl_close(&t->c);
			t->st = T_DONE;
			return;
		}
	}
	if (r < 0) {
		fnt__ctl_close(&t->c);
		if (t->st == T_ON && alive(t->pid) && t->execs < 16) {
			/* Maybe an exec: the new image has an agent of its own. */
			t->reexec = 1;
			t->since_ms = now_ms();
		} else {
			t->st = T_DONE;
		}
	}
}

/* Children the region names that we do not know yet. */
static void find_children(struct fnt_consumer *d, struct target *t, int *nt, uint32_t *seen)
{
	const struct fnt_shm_image *im = fnt_shm_images(d->h, &d->lay);

	for (; *seen < d->images_seen && *seen < FNT_SHM_MAX_IMAGES; (*seen)++) {
		int pid = __atomic_load_n(&im[*seen].pid, __ATOMIC_RELAXED), k;

		if (pid <= 0)
			continue;
		for (k = 0; k < *nt && t[k].pid != pid; k++)
			;
		if (k < *nt || *nt == MAX_TARGETS)
			continue;
		memset(&t[*nt], 0, sizeof(t[*nt]));
		t[*nt].pid = pid;
		t[*nt].c.fd = -1;
		t[*nt].st = T_PENDING;
		t[*nt].since_ms = now_ms();
		(*nt)++;
	}
}

/* Takes a pending child over, or retries an exec'd image. */
static void follow(struct target *t, const struct fnt_rec_opts *o, const char *shm_path,
		   struct fnt_consumer *d)
{
	char err[512];
	const char *b;
	uint32_t len;
	long now = now_ms();

	if (t->st == T_PENDING) {
		/* A child that exec'd before it was taken over (fork and exec
		 * at once, as a shell does) has a dormant image: it is STARTed
		 * as the image of a process exec'd later would be. */
		if (fnt__ctl_open(&t->c, t->pid, err, sizeof(err)) == 0 &&
		    (strcmp(t->c.state, "dormant") == 0
			     ? start(t, o, shm_path, d, err, sizeof(err)) == 0 && ++t->execs
			     : fnt__ctl_call(&t->c, FNT_CTL_ADOPT, "", 0, -1, 5000, &b, &len, err,
					     sizeof(err)) == 0)) {
			t->st = T_ON;
			return;
		}
		fnt__ctl_close(&t->c);
		if (!alive(t->pid) || now - t->since_ms > ADOPT_MS)
			t->st = T_DONE;	/* it stops recording by itself (agent.c) */
		return;
	}
	if (fnt__ctl_open(&t->c, t->pid, err, sizeof(err)) == 0) {
		if (strcmp(t->c.state, "dormant") == 0 && start(t, o, shm_path, d, err, sizeof(err)) == 0) {
			t->execs++;
			t->reexec = 0;
			return;
		}
		fnt__ctl_close(&t->c);
	}
	if (!alive(t->pid) || now - t->since_ms > REEXEC_MS) {
		t->reexec = 0;
		t->st = T_DONE;
	}
}

int fnt__record_pids(const struct fnt_rec_opts *o, struct fnt_livefeed *feed)
{
	static struct target t[MAX_TARGETS];
	char err[600], cmdline[8192], extra[1024];
	struct fnt_region rg;
	struct fnt_tf_writer w;
	struct fnt_tf_end end;
	struct fnt_consumer d;
	struct sigaction sa;
	int nt = 0, ret = 1, samens = 1, on;
	uint32_t images_seen = 0;
	long t0, deadline;
	size_t n = 0;

	/* Every process first: nothing is changed unless all can be. */
	for (int i = 0; i < o->npids; i++) {
		t[nt].pid = o->pids[i];
		if (fnt__ctl_open_attach(&t[nt].c, o->pids[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "fntrace: %s\n", err);
			goto out_close;
		}
		nt++;
		if (strcmp(t[nt - 1].c.state, "dormant") != 0) {
			const char *b;
			uint32_t len;
			char who[64] = "";

			if (fnt__ctl_call(&t[nt - 1].c, FNT_CTL_STATUS, "", 0, -1, 5000, &b, &len, err,
					  sizeof(err)) == 0 &&
			    fnt__ctl_get(b, len, "owner_pid", who, sizeof(who)) > 0)
				fprintf(stderr, "fntrace: process %d is being recorded already, by fntrace "
						"pid %s (stop that one first)\n", o->pids[i], who);
			else
				fprintf(stderr, "fntrace: process %d is being recorded already (by "
						"'fntrace record'; see 'fntrace ctl -p %d')\n",
					o->pids[i], o->pids[i]);
			goto out_close;
		}
		samens &= same_pidns(o->pids[i]);
	}
	if (fnt__region_create(o, samens ? getpid() : 0, &rg) < 0)
		goto out_close;
	if (fnt__tf_create(&w, o->out) < 0) {
		fprintf(stderr, "fntrace: cannot create '%s': %s\n", o->out, strerror(errno));
		goto out_region;
	}
	if (feed) {
		w.tap = fnt__livefeed_tap;
		w.tap_arg = feed;
	}
	cmdline_of(o->pids[0], cmdline, sizeof(cmdline));
	for (int i = 0; i < o->npids && n < sizeof(extra) - 16; i++)
		n += snprintf(extra + n, sizeof(extra) - n, "%s%d", i ? "," : "attached_pids=",
			      o->pids[i]);
	snprintf(extra + n, sizeof(extra) - n, "\n");
	fnt__region_write_info(&w, o, cmdline, rg.ck.kind, extra);
	/* The calibration's 10 ms wait comes after the patching (readers
	 * take the last CLOCK record), but for a live view, which converts
	 * times as the events come. */
	if (feed) {
		fnt__region_calibrate(&rg);
		fnt__tf_write(&w, FNT_TF_CLOCK, (struct iovec[]){ { &rg.ck, sizeof(rg.ck) } }, 1);
	}
	if (fnt__consumer_init(&d, rg.h, &rg.lay, rg.path, &w) < 0) {
		fprintf(stderr, "fntrace: out of memory\n");
		goto out_file;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (int i = 0; i < nt; i++) {
		if (start(&t[i], o, rg.path, &d, err, sizeof(err)) < 0) {
			fprintf(stderr, "fntrace: %s\n", err);
			/* Those already started stop when their connection closes. */
			fnt__consumer_fini(&d);
			goto out_file;
		}
		t[i].st = T_ON;
	}
	if (!feed) {
		fnt__region_calibrate(&rg);
		fnt__tf_write(&w, FNT_TF_CLOCK, (struct iovec[]){ { &rg.ck, sizeof(rg.ck) } }, 1);
	}
	fnt__tf_publish(&w);
	t0 = now_ms();
	deadline = o->duration_ns ? t0 + (long)(o->duration_ns / 1000000) : 0;

	for (;;) {
		uint32_t kick = __atomic_load_n(&rg.h->kick, __ATOMIC_ACQUIRE);

		if (stop_sig || (deadline && now_ms() >= deadline))
			break;
		on = 0;
		for (int i = 0; i < nt; i++) {
			if (t[i].st == T_ON && !t[i].reexec)
				watch(&t[i]);
			if (t[i].st == T_PENDING || (t[i].st == T_ON && t[i].reexec))
				follow(&t[i], o, rg.path, &d);
			on += t[i].st != T_DONE;
		}
		if (!on)
			break;
		if (fnt__consumer_drain(&d, 0) == 0) {
			struct timespec to = { 0, 2000000 };

			syscall(SYS_futex, &rg.h->kick, FUTEX_WAIT, kick, &to, NULL, 0);
		}
		if (o->follow_fork)
			find_children(&d, t, &nt, &images_seen);
		if (feed) {
			fnt__livefeed_flush(feed);
			/* 'live -p PID | head': the reader is gone, so is the point. */
			if (fnt__livefeed_error(feed))
				break;
		}
	}

	/* STOP everyone, draining meanwhile: a lossless writer may be waiting
	 * for room, and the agent's STOP waits for it. */
	for (int i = 0; i < nt; i++)
		if (t[i].st == T_ON && t[i].c.fd >= 0 &&
		    fnt__ctl_send(&t[i].c, FNT_CTL_STOP, "", 0, -1) == 0)
			t[i].st = T_STOPPING;
	deadline = now_ms() + (o->stall_ms ? (long)o->stall_ms : 10000) + 5000;
	for (;;) {
		on = 0;
		for (int i = 0; i < nt; i++) {
			const char *b;
			uint32_t len;
			int type, r;

			if (t[i].st != T_STOPPING)
				continue;
			while ((r = fnt__ctl_recv(&t[i].c, 0, &type, &b, &len)) == 1 &&
			       t[i].c.in.h.seq != t[i].c.seq)
				;
			if (r != 0)
				t[i].st = T_DONE;
			else
				on++;
		}
		if (!on || now_ms() >= deadline)
			break;
		if (fnt__consumer_drain(&d, 0) == 0)
			nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
		if (feed)
			fnt__livefeed_flush(feed);
	}
	for (int i = 0; i < nt; i++)
		if (t[i].st == T_STOPPING)
			fprintf(stderr, "fntrace: process %d did not confirm the end of its recording; "
					"it ends it when this connection closes\n", t[i].pid);
	fnt__consumer_drain(&d, 1);

	fnt__clock_sample(rg.ck.kind, &rg.ck.b);
	fnt__tf_write(&w, FNT_TF_CLOCK, (struct iovec[]){ { &rg.ck, sizeof(rg.ck) } }, 1);
	memset(&end, 0, sizeof(end));
	end.lost_noslot = rg.h->lost_noslot + rg.h->lost_noreader;
	if (end.lost_noslot < rg.h->lost_noslot)
		end.lost_noslot = UINT64_MAX;
	if (end.lost_noslot + rg.h->lost_nomem < end.lost_noslot)
		end.lost_noslot = UINT64_MAX;
	else
		end.lost_noslot += rg.h->lost_nomem;
	end.events = d.events;
	end.lost = d.lost + end.lost_noslot;
	if (end.lost < d.lost)
		end.lost = UINT64_MAX;
	end.damaged = d.damaged;
	end.lost_unwritten = d.unwritten;
	end.duration_ns = rg.ck.b.ns - rg.ck.a.ns;
	end.nprocs = d.images_seen;
	end.stopped_by = stop_sig;
	fnt__tf_write(&w, FNT_TF_END, (struct iovec[]){ { &end, sizeof(end) } }, 1);
	if (feed)
		fnt__livefeed_flush(feed);
	if (d.damaged)
		fprintf(stderr, "fntrace: the shared recording buffers were overwritten by a traced "
				"process (%llu findings): the trace is damaged\n",
			(unsigned long long)d.damaged);
	if (end.lost)
		fprintf(stderr, "fntrace: %llu events lost (of %llu); see 'fntrace info -i %s'\n",
			(unsigned long long)end.lost, (unsigned long long)(end.lost + end.events),
			o->out);
	if (!end.events && !end.lost)
		fprintf(stderr, "fntrace: no traced call recorded: was the program built with the "
				"flags of 'fntrace cflags', and does the filter match?\n");
	fnt__consumer_fini(&d);
	ret = fnt__tf_finish(&w) < 0 || w.err ? 1 : 0;
	if (w.err)
		fprintf(stderr, "fntrace: writing '%s' failed: %s\n", o->out, strerror(-w.err));
	goto out_region;

out_file:
	fnt__tf_discard(&w);
out_region:
	fnt__region_destroy(&rg);
out_close:
	for (int i = 0; i < nt; i++)
		fnt__ctl_close(&t[i].c);
	return ret;
}
