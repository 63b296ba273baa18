/*
 * export_perfetto.c - 'fntrace dump --perfetto': Perfetto's protobuf
 * trace, a Trace message of TracePackets, about ten times smaller than
 * the JSON and read by ui.perfetto.dev and trace_processor.
 *
 * A TrackDescriptor per process and per thread, then a TrackEvent per
 * slice begin and end on its thread's track.  Every packet is on one
 * sequence (trusted_packet_sequence_id 1); the first one clears the
 * incremental state, and each function's name is interned (InternedData
 * event_names) in the first packet that uses it, so an event costs a few
 * bytes.  The encoder is our own, a few lines: varints and
 * length-delimited fields are all this needs, and a library would bring a
 * code generator for five messages.  The field numbers are those of
 * Perfetto's protos, each checked against google/perfetto's
 * protos/perfetto/trace/: trace.proto (Trace), trace_packet.proto
 * (TracePacket and its SequenceFlags), track_event/track_descriptor.proto,
 * track_event/process_descriptor.proto, track_event/thread_descriptor.proto,
 * track_event/track_event.proto (TrackEvent, its Type, EventName),
 * interned_data/interned_data.proto, track_event/debug_annotation.proto and
 * track_event/source_location.proto.
 *
 * With --srcline, a function's file and line are interned too
 * (InternedData.source_locations, with the same iid as its name) and its
 * slices' begins point at them (TrackEvent.source_location_iid, "the
 * function that executes during this event"): the UI shows them in the
 * slice's details, and each costs its begin two bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/export.h"

/* Field numbers. */
enum {
	TRACE_PACKET = 1,
	PKT_TIMESTAMP = 8,
	PKT_SEQ_ID = 10,
	PKT_TRACK_EVENT = 11,
	PKT_INTERNED = 12,
	PKT_SEQ_FLAGS = 13,
	PKT_TRACK_DESC = 60,
	TD_UUID = 1,
	TD_PARENT = 5,
	TD_PROCESS = 3,
	TD_THREAD = 4,
	PD_PID = 1,
	PD_NAME = 6,
	THD_PID = 1,
	THD_TID = 2,
	THD_NAME = 5,
	TE_ANNOT = 4,
	TE_TYPE = 9,
	TE_NAME_IID = 10,
	TE_TRACK = 11,
	TE_SRCLOC_IID = 34,
	ID_EVENT_NAMES = 2,
	ID_SOURCE_LOCATIONS = 4,
	SL_IID = 1,
	SL_FILE = 2,
	SL_FUNCTION = 3,
	SL_LINE = 4,
	EN_IID = 1,
	EN_NAME = 2,
	DA_BOOL = 2,
	DA_UINT = 3,
	DA_NAME = 10,
};

enum { SLICE_BEGIN = 1, SLICE_END = 2, INSTANT = 3 };
enum { SEQ_CLEARED = 1, SEQ_NEEDS_STATE = 2 };
enum { SENT_NAME = 1, SENT_SRCLOC = 2 };

#define SEQ_ID 1
/* Small uuids are short varints: a thread's is even, a process's odd. */
#define PROCESS_UUID(pid) (2 * (uint64_t)(uint32_t)(pid) + 1)
#define THREAD_UUID(id) (2 * (uint64_t)(id) + 2)

struct pb {
	uint8_t *b;
	size_t len, cap;
};

struct perfetto {
	struct pb pkt;		/* the packet being built */
	uint8_t *interned;	/* per function id: SENT_*, what was sent */
	size_t ninterned;
	uint32_t lost_iid;
	int first;		/* the next packet is the sequence's first */
};

static void room(struct pb *p, size_t n)
{
	if (p->len + n <= p->cap)
		return;
	while (p->len + n > p->cap)
		p->cap = p->cap ? p->cap * 2 : 256;
	p->b = fnt__xrealloc(p->b, p->cap);
}

static void varint(struct pb *p, uint64_t v)
{
	room(p, 10);
	while (v >= 0x80) {
		p->b[p->len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p->b[p->len++] = (uint8_t)v;
}

static void f_uint(struct pb *p, unsigned field, uint64_t v)
{
	varint(p, (uint64_t)field << 3);	/* wire type 0 */
	varint(p, v);
}

static void f_bytes(struct pb *p, unsigned field, const void *s, size_t n)
{
	varint(p, (uint64_t)field << 3 | 2);
	varint(p, n);
	room(p, n);
	memcpy(p->b + p->len, s, n);
	p->len += n;
}

/* A nested message: begin() notes where its content starts, end() puts
 * the tag and the length before it.  The content is moved by the few
 * bytes of its length, which keeps every varint minimal. */
static size_t begin(struct pb *p)
{
	return p->len;
}

static void end(struct pb *p, size_t start, unsigned field)
{
	uint8_t hdr[20];
	struct pb h = { hdr, 0, sizeof(hdr) };
	size_t n = p->len - start;

	varint(&h, (uint64_t)field << 3 | 2);
	varint(&h, n);
	room(p, h.len);
	memmove(p->b + start + h.len, p->b + start, n);
	memcpy(p->b + start, hdr, h.len);
	p->len += h.len;
}

/* Starts a packet: the sequence, the time, and the flags. */
static void packet(struct fnt_export *x, uint64_t ns, int timed, int needs_state)
{
	struct perfetto *pf = x->priv;

	pf->pkt.len = 0;
	if (timed)
		f_uint(&pf->pkt, PKT_TIMESTAMP, ns);
	f_uint(&pf->pkt, PKT_SEQ_ID, SEQ_ID);
	if (pf->first) {
		f_uint(&pf->pkt, PKT_SEQ_FLAGS, SEQ_CLEARED | (needs_state ? SEQ_NEEDS_STATE : 0));
		pf->first = 0;
	} else if (needs_state) {
		f_uint(&pf->pkt, PKT_SEQ_FLAGS, SEQ_NEEDS_STATE);
	}
}

/* Writes the packet as one element of the Trace's repeated packet. */
static void flush_packet(struct fnt_export *x)
{
	struct perfetto *pf = x->priv;
	uint8_t hdr[11];
	struct pb h = { hdr, 0, sizeof(hdr) };

	varint(&h, TRACE_PACKET << 3 | 2);
	varint(&h, pf->pkt.len);
	fnt_out_mem(&x->out, (const char *)hdr, h.len);
	fnt_out_mem(&x->out, (const char *)pf->pkt.b, pf->pkt.len);
}

/* Interns fid's source location "file:line" (iid fid + 1). */
static void intern_srcloc(struct fnt_export *x, uint32_t fid, const char *name, const char *sl)
{
	struct perfetto *pf = x->priv;
	const char *colon = strrchr(sl, ':');
	size_t a, b;

	if (!colon)
		return;
	a = begin(&pf->pkt);
	b = begin(&pf->pkt);
	f_uint(&pf->pkt, SL_IID, (uint64_t)fid + 1);
	f_bytes(&pf->pkt, SL_FILE, sl, (size_t)(colon - sl));
	f_bytes(&pf->pkt, SL_FUNCTION, name, strlen(name));
	f_uint(&pf->pkt, SL_LINE, strtoul(colon + 1, NULL, 10));
	end(&pf->pkt, b, ID_SOURCE_LOCATIONS);
	end(&pf->pkt, a, PKT_INTERNED);
	pf->interned[fid] |= SENT_SRCLOC;
}

/* Interns fid's name (and with --srcline its source location) in this
 * packet if it was never sent. */
static void intern(struct fnt_export *x, uint32_t fid)
{
	struct perfetto *pf = x->priv;
	const char *name = fnt_x_name(x, fid);
	size_t a, b;

	if (fid >= pf->ninterned) {
		size_t n = pf->ninterned ? pf->ninterned : 256;

		while (n <= fid)
			n *= 2;
		pf->interned = fnt__xrealloc(pf->interned, n);
		memset(pf->interned + pf->ninterned, 0, n - pf->ninterned);
		pf->ninterned = n;
	}
	if (pf->interned[fid])
		return;
	pf->interned[fid] = SENT_NAME;
	a = begin(&pf->pkt);
	b = begin(&pf->pkt);
	f_uint(&pf->pkt, EN_IID, (uint64_t)fid + 1);
	f_bytes(&pf->pkt, EN_NAME, name, strlen(name));
	end(&pf->pkt, b, ID_EVENT_NAMES);
	end(&pf->pkt, a, PKT_INTERNED);
	if (x->srcline) {
		const char *sl = fnt__xsrcline(x, fid);

		if (sl)
			intern_srcloc(x, fid, name, sl);
	}
}

static void annotation_bool(struct pb *p, const char *name)
{
	size_t a = begin(p);

	f_bytes(p, DA_NAME, name, strlen(name));
	f_uint(p, DA_BOOL, 1);
	end(p, a, TE_ANNOT);
}

static inline uint8_t *put_varint(uint8_t *q, uint64_t v)
{
	while (v >= 0x80) {
		*q++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*q++ = (uint8_t)v;
	return q;
}

/* The event of nearly every packet: a slice's begin whose name went out
 * already, or a plain end.  The same bytes as the general path below,
 * written straight into the output: the packet is under 64 bytes, so both
 * lengths are one byte, known once the fields are written.
 *
 *   0a LEN  40 ts  50 01  68 02  5a LEN  48 type  58 track [50 iid [90 02 iid]]
 *   packet  timestamp seq  flags  event  type     track    name  source location
 */
static void track_event_fast(struct fnt_export *x, const struct fnt_xthread *t, uint64_t ns,
			     int type, uint32_t fid, int srcloc)
{
	struct fnt_out *o = &x->out;
	uint8_t *p0, *q, *ev;

	if (o->len + 64 > o->cap)
		fnt__out_flush(o);
	p0 = (uint8_t *)o->buf + o->len;
	q = p0 + 2;
	*q++ = PKT_TIMESTAMP << 3;
	q = put_varint(q, ns);
	*q++ = PKT_SEQ_ID << 3;
	*q++ = SEQ_ID;
	*q++ = PKT_SEQ_FLAGS << 3;
	*q++ = SEQ_NEEDS_STATE;
	*q++ = PKT_TRACK_EVENT << 3 | 2;
	ev = q++;
	*q++ = TE_TYPE << 3;
	*q++ = (uint8_t)type;
	*q++ = TE_TRACK << 3;
	q = put_varint(q, THREAD_UUID(t->id));
	if (type == SLICE_BEGIN) {
		*q++ = TE_NAME_IID << 3;
		q = put_varint(q, (uint64_t)fid + 1);
		if (srcloc) {
			q = put_varint(q, TE_SRCLOC_IID << 3);
			q = put_varint(q, (uint64_t)fid + 1);
		}
	}
	*ev = (uint8_t)(q - ev - 1);
	p0[0] = TRACE_PACKET << 3 | 2;
	p0[1] = (uint8_t)(q - p0 - 2);
	o->len += (size_t)(q - p0);
}

/* A TrackEvent on thread t, the general way: anything track_event()
 * does not write itself.  Apart, so the common path saves no registers. */
static __attribute__((noinline)) void track_event_slow(struct fnt_export *x,
						       const struct fnt_xthread *t, uint64_t ns,
						       int type, uint32_t fid, const char *why,
						       uint64_t lost)
{
	struct perfetto *pf = x->priv;
	size_t a;

	packet(x, ns, 1, 1);
	if (type != SLICE_END)
		intern(x, fid);
	a = begin(&pf->pkt);
	f_uint(&pf->pkt, TE_TYPE, (uint64_t)type);
	f_uint(&pf->pkt, TE_TRACK, THREAD_UUID(t->id));
	if (type != SLICE_END)
		f_uint(&pf->pkt, TE_NAME_IID, (uint64_t)fid + 1);
	if (type == SLICE_BEGIN && (pf->interned[fid] & SENT_SRCLOC))
		f_uint(&pf->pkt, TE_SRCLOC_IID, (uint64_t)fid + 1);
	if (why)
		annotation_bool(&pf->pkt, why);
	if (type == INSTANT) {
		size_t d = begin(&pf->pkt);

		f_bytes(&pf->pkt, DA_NAME, "lost", 4);
		f_uint(&pf->pkt, DA_UINT, lost);
		end(&pf->pkt, d, TE_ANNOT);
	}
	end(&pf->pkt, a, PKT_TRACK_EVENT);
	flush_packet(x);
}

/* A TrackEvent on thread t: begin or instant (named) or end. */
static inline void track_event(struct fnt_export *x, const struct fnt_xthread *t, uint64_t ns,
			       int type, uint32_t fid, const char *why, uint64_t lost)
{
	struct perfetto *pf = x->priv;

	if (!pf->first && !why && (type == SLICE_END ||
				   (type == SLICE_BEGIN && fid < pf->ninterned && pf->interned[fid])))
		track_event_fast(x, t, ns, type, fid,
				 type == SLICE_BEGIN && (pf->interned[fid] & SENT_SRCLOC));
	else
		track_event_slow(x, t, ns, type, fid, why, lost);
}

static int perfetto_open(struct fnt_export *x)
{
	struct perfetto *pf = calloc(1, sizeof(*pf));

	if (!pf)
		return -1;
	pf->first = 1;
	x->priv = pf;
	pf->lost_iid = fnt__names_id(x->names, "lost events");
	return 0;
}

static const char *base(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

static void perfetto_thread(struct fnt_export *x, const struct fnt_xthread *t)
{
	struct perfetto *pf = x->priv;
	char tname[300];
	int seen = 0;
	size_t a, b;

	for (const struct fnt_xthread *u = x->threads; u < t; u++)
		seen |= u->s->pid == t->s->pid;
	if (!seen) {
		packet(x, 0, 0, 0);
		a = begin(&pf->pkt);
		f_uint(&pf->pkt, TD_UUID, PROCESS_UUID(t->s->pid));
		b = begin(&pf->pkt);
		f_uint(&pf->pkt, PD_PID, (uint64_t)(uint32_t)t->s->pid);
		f_bytes(&pf->pkt, PD_NAME, t->exe, strlen(t->exe));
		end(&pf->pkt, b, TD_PROCESS);
		end(&pf->pkt, a, PKT_TRACK_DESC);
		flush_packet(x);
	}
	if (t->s->tid == t->s->pid)
		snprintf(tname, sizeof(tname), "%s", base(t->exe));
	else
		snprintf(tname, sizeof(tname), "%s %d", base(t->exe), t->s->tid);
	packet(x, 0, 0, 0);
	a = begin(&pf->pkt);
	f_uint(&pf->pkt, TD_UUID, THREAD_UUID(t->id));
	f_uint(&pf->pkt, TD_PARENT, PROCESS_UUID(t->s->pid));
	b = begin(&pf->pkt);
	f_uint(&pf->pkt, THD_PID, (uint64_t)(uint32_t)t->s->pid);
	f_uint(&pf->pkt, THD_TID, (uint64_t)(uint32_t)t->s->tid);
	f_bytes(&pf->pkt, THD_NAME, tname, strlen(tname));
	end(&pf->pkt, b, TD_THREAD);
	end(&pf->pkt, a, PKT_TRACK_DESC);
	flush_packet(x);
}

static void perfetto_begin(struct fnt_export *x, struct fnt_xthread *t, size_t depth)
{
	const struct fnt_call *c = &t->stk.c[depth];

	track_event(x, t, c->ns, SLICE_BEGIN, c->fid, NULL, 0);
}

static void perfetto_end(struct fnt_export *x, struct fnt_xthread *t, size_t depth, uint64_t ns,
			 enum fnt_xend how)
{
	static const char *const why[] = {
		[FNT_XEND_RETURN] = NULL,
		[FNT_XEND_UNWOUND] = "unwound",
		[FNT_XEND_LOST] = "exit_lost",
		[FNT_XEND_CUT] = "cut_by_time_range",
		[FNT_XEND_OPEN] = "still_running",
	};

	track_event(x, t, ns, SLICE_END, 0, why[how], 0);
}

static void perfetto_complete(struct fnt_export *x, struct fnt_xthread *t, uint32_t fid,
			      uint32_t obj, uint64_t start, uint64_t dur, int untimed)
{
	track_event(x, t, start, SLICE_BEGIN, fid, untimed ? "untimed" : NULL, 0);
	track_event(x, t, start + dur, SLICE_END, 0, NULL, 0);
}

static void perfetto_lost(struct fnt_export *x, struct fnt_xthread *t, uint64_t ns, uint64_t n)
{
	struct perfetto *pf = x->priv;

	track_event(x, t, ns, INSTANT, pf->lost_iid, NULL, n);
}

static int perfetto_close(struct fnt_export *x, const char *partial)
{
	struct perfetto *pf = x->priv;

	free(pf->pkt.b);
	free(pf->interned);
	free(pf);
	x->priv = NULL;
	return 0;
}

const struct fnt_export_ops fnt__export_perfetto = {
	.open = perfetto_open,
	.thread = perfetto_thread,
	.begin = perfetto_begin,
	.end = perfetto_end,
	.complete = perfetto_complete,
	.lost = perfetto_lost,
	.close = perfetto_close,
};
