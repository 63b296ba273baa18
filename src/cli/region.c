/*
 * region.c - creating a recording's shared region and the first records of
 * its trace file (see region.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "cli/region.h"
#include "ring/clock.h"
#include "ring/ring.h"

/* The address space all rings may span (sparse: an unused ring costs no
 * memory): 65536 rings of up to 16 MB, fewer of larger ones. */
#define MAX_RINGS_BYTES (1ull << 40)

void fnt__region_write_info(struct fnt_tf_writer *w, const struct fnt_rec_opts *o,
			    const char *cmdline, int clock, const char *extra)
{
	static const char *modes[] = { "lossless", "overwrite", "drop" };
	char info[16384], date[64];
	size_t n = 0;
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %z", &tm);
	n += snprintf(info + n, sizeof(info) - n, "cmdline=%.8000s", cmdline);
	n += snprintf(info + n, sizeof(info) - n,
		      "\ndate=%s\ntracer=%s\nmode=%s\nbuffer_size=%llu\nfilter=%s\nnotrace=%s\n"
		      "depth=%u\nthreshold_ns=%llu\nclock=%s\nfollow_fork=%d\n",
		      date, o->tracer == FNT_TRACER_FUNCTION ? "function" : "function_graph",
		      modes[o->mode], (unsigned long long)o->bufsize, o->filter, o->notrace,
		      o->depth, (unsigned long long)o->thresh_ns,
		      clock == FNT_CLOCK_TSC ? "tsc" : "monotonic", o->follow_fork);
	if (extra)
		n += snprintf(info + n, sizeof(info) - n, "%.4000s", extra);
	fnt__tf_write(w, FNT_TF_INFO, (struct iovec[]){ { info, n } }, 1);
}

/* Regions of fntrace processes that died without cleaning up (SIGKILL):
 * removed here, since nothing else would.  Dead means the creator's
 * flock() on the file can be taken (see fnt__shm_create()): the pid in the
 * name is no proof, since a recording in another PID namespace sharing
 * /dev/shm (a container run with --ipc=host) has a pid that means nothing
 * here.  Only our own files: root removes no one else's. */
static void remove_stale_regions(void)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat st, now;
		int pid, fd;

		if (sscanf(de->d_name, "fntrace-%d-", &pid) != 1 || pid <= 0)
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == getuid() &&
		    flock(fd, LOCK_EX | LOCK_NB) == 0 &&
		    fstatat(dirfd(d), de->d_name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
		    now.st_dev == st.st_dev && now.st_ino == st.st_ino)
			unlinkat(dirfd(d), de->d_name, 0);
		close(fd);
	}
	closedir(d);
}

/* Bytes free in /dev/shm (or its size), for messages (0 if unknown). */
uint64_t fnt__shm_bytes(int total)
{
	struct statvfs sv;

	if (statvfs("/dev/shm", &sv) < 0)
		return 0;
	return (uint64_t)(total ? sv.f_blocks : sv.f_bavail) * sv.f_frsize;
}

static uint64_t pow2_words(uint64_t bytes)
{
	uint64_t w = 2 * FNT_RING_PAGE;

	while (w * 8 < bytes)
		w <<= 1;
	return w;
}

void fnt__region_calibrate(struct fnt_region *r)
{
	uint64_t until = r->ck.a.ns + 10000000ull, now;

	if (r->ck.b.ns)
		return;
	for (;;) {
		struct fnt_clock_sample s;

		fnt__clock_sample(r->ck.kind, &s);
		now = s.ns;
		if (now >= until)
			break;
		nanosleep(&(struct timespec){ 0, (long)(until - now) }, NULL);
	}
	fnt__clock_sample(r->ck.kind, &r->ck.b);
}

int fnt__region_create(const struct fnt_rec_opts *o, int reader_pid, struct fnt_region *r)
{
	struct fnt_shm_hdr tmpl;
	struct timespec ts;
	int err;

	memset(r, 0, sizeof(*r));
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.mode = o->mode;
	tmpl.tracer = o->tracer;
	tmpl.clock = fnt__clock_detect();
	tmpl.follow_fork = o->follow_fork;
	tmpl.reader_pid = reader_pid;
	tmpl.stall_ms = o->stall_ms;
	tmpl.depth = o->tracer == FNT_TRACER_GRAPH ? o->depth : 0;
	tmpl.ring_words = pow2_words(o->bufsize);
	/* Rings are handed out on demand (shm.h): the count is a ceiling,
	 * and costs address space only, within MAX_RINGS_BYTES. */
	tmpl.nslots = FNT_SHM_MAX_SLOTS;
	if (tmpl.ring_words * 8 * tmpl.nslots > MAX_RINGS_BYTES)
		tmpl.nslots = (uint32_t)(MAX_RINGS_BYTES / (tmpl.ring_words * 8));
	if (getenv("FNTRACE_RINGS")) {
		unsigned long n = strtoul(getenv("FNTRACE_RINGS"), NULL, 10);

		if (n >= 1 && n <= tmpl.nslots)
			tmpl.nslots = (uint32_t)n;
	}

	/* The clock's first sample; the second is taken 10 ms later, before
	 * the region only if the threshold needs it (it is in ticks), else by
	 * fnt__region_calibrate(), so that a recording of a running process
	 * patches without waiting for it. */
	memset(&r->ck, 0, sizeof(r->ck));
	r->ck.kind = tmpl.clock;
	clock_gettime(CLOCK_REALTIME, &ts);
	r->ck.wall_ns = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	fnt__clock_sample(r->ck.kind, &r->ck.a);
	if (o->tracer == FNT_TRACER_GRAPH && o->thresh_ns) {
		uint64_t dt, dn;

		fnt__region_calibrate(r);
		dt = r->ck.b.ticks - r->ck.a.ticks;
		dn = r->ck.b.ns - r->ck.a.ns;
		tmpl.thresh_ticks = dn ? (uint64_t)((unsigned __int128)o->thresh_ns * dt / dn) : o->thresh_ns;
		if (!tmpl.thresh_ticks)
			tmpl.thresh_ticks = 1;
	}

	remove_stale_regions();
	snprintf(r->path, sizeof(r->path), "/dev/shm/fntrace-%d-%lx", (int)getpid(),
		 (unsigned long)(r->ck.a.ticks & 0xffffff));
	err = fnt__shm_create(r->path, &tmpl, &r->h, &r->lay);
	/* The ring table is address space, not memory, but a limit on address
	 * space (ulimit -v, valgrind) may refuse it whole: fewer rings then,
	 * down to 1024, rather than no recording. */
	while ((err == -ENOMEM || err == -EINVAL) && tmpl.nslots > 1024) {
		tmpl.nslots /= 2;
		err = fnt__shm_create(r->path, &tmpl, &r->h, &r->lay);
		if (!err)
			fprintf(stderr, "fntrace: address space is limited: room for %u threads' "
					"rings only\n", tmpl.nslots);
	}
	if (err == -ENOSPC) {
		struct fnt_shm_hdr sized = tmpl;

		fnt__shm_layout(&sized, tmpl.nslots, tmpl.ring_words);
		fprintf(stderr, "fntrace: /dev/shm has %llu KB free, the recording buffers need %llu KB "
				"before the first ring: enlarge /dev/shm\n",
			(unsigned long long)(fnt__shm_bytes(0) / 1024),
			(unsigned long long)(fnt__shm_reserved_size(&sized) / 1024));
		return -1;
	}
	if (err < 0) {
		fprintf(stderr, "fntrace: cannot create the recording buffers %s: %s\n", r->path,
			strerror(-err));
		return -1;
	}
	return 0;
}

void fnt__region_destroy(struct fnt_region *r)
{
	if (r->path[0])
		unlink(r->path);
	if (r->h)
		fnt__shm_unmap(r->h, &r->lay);
	r->h = NULL;
	r->path[0] = 0;
}
