/*
 * event.h - the 64-bit event words written into the rings and, unchanged,
 * into trace files.
 *
 * Every record is one word, so a position in a ring counts words and a
 * nested writer never splits another writer's record.  A traced call costs
 * one word per event (entry, exit): 8 bytes, half of uftrace's 16.
 *
 *   bits  0..2   type
 *   bits  3..29  time delta (27 bits, clock ticks since the last TIME_BASE)
 *   bits 30..63  site id: object id (14 bits) << 20 | site index (20 bits)
 *
 * A FNT_EV_FUNC word (function tracer) gives bits 3..4 to the slot of its
 * caller in a 4-entry cache the CALLER records fill, and has a 25-bit delta:
 * a loop's few callers cost no word after the first time.
 *
 * FNT_EV_EXT words carry a sub-type in bits 3..7 and a 56-bit payload in
 * bits 8..63: an absolute time (TIME_BASE for every later word of the
 * outermost writer, TIME_ONCE for the next event only: nested writers use
 * it so that they never move the base an interrupted writer relies on), a
 * caller address, a count of lost events, or a duration.
 */
#ifndef FNT_RING_EVENT_H
#define FNT_RING_EVENT_H

#include <stdint.h>

enum fnt_ev_type {
	FNT_EV_ENTRY = 0,	/* function_graph entry */
	FNT_EV_EXIT = 1,	/* function_graph return */
	FNT_EV_UNWOUND = 2,	/* frame left by longjmp/exception/thread exit */
	FNT_EV_FUNC = 3,	/* function tracer hit; caller from a CALLER slot */
	FNT_EV_EXIT_DUR = 4,	/* a call at least --time-threshold long; after a DUR */
	FNT_EV_EXT = 7,
};

enum fnt_ext_type {
	FNT_EXT_TIME_BASE = 1,	/* payload: time; later deltas are relative to it */
	FNT_EXT_TIME_ONCE = 2,	/* payload: time of the next event only */
	FNT_EXT_CALLER = 3,	/* payload: slot << 54 | caller address, for later FUNC events */
	FNT_EXT_CALLER_ONCE = 4, /* payload: caller address of the next FUNC only */
	FNT_EXT_LOST = 5,	/* payload: events lost here */
	FNT_EXT_DUR = 6,	/* payload: depth << 48 | duration in ticks */
	FNT_EXT_PAD = 7,	/* nothing: a reservation whose writer was abandoned */
};

#define FNT_EV_DELTA_BITS 27
#define FNT_EV_DELTA_MAX ((1ull << FNT_EV_DELTA_BITS) - 1)
#define FNT_EV_FUNC_DELTA_MAX ((1ull << 25) - 1)
#define FNT_EV_CALLERS 4	/* caller slots */
#define FNT_EV_ADDR_MASK ((1ull << 48) - 1)
#define FNT_EV_OBJ_BITS 14
#define FNT_EV_IDX_BITS 20
#define FNT_EV_OBJ_MAX ((1u << FNT_EV_OBJ_BITS) - 1)
#define FNT_EV_IDX_MAX ((1u << FNT_EV_IDX_BITS) - 1)
#define FNT_EV_PAYLOAD_MASK ((1ull << 56) - 1)
#define FNT_EV_DUR_MASK ((1ull << 48) - 1)

static inline uint64_t fnt_ev_make(unsigned type, uint64_t delta, uint32_t obj, uint32_t idx)
{
	uint64_t site = ((uint64_t)obj << FNT_EV_IDX_BITS) | idx;

	return type | (delta << 3) | (site << 30);
}

static inline uint64_t fnt_ev_make_func(uint64_t delta, unsigned slot, uint32_t obj, uint32_t idx)
{
	uint64_t site = ((uint64_t)obj << FNT_EV_IDX_BITS) | idx;

	return FNT_EV_FUNC | ((uint64_t)slot << 3) | (delta << 5) | (site << 30);
}

static inline uint64_t fnt_ev_ext(unsigned sub, uint64_t payload)
{
	return FNT_EV_EXT | ((uint64_t)sub << 3) | ((payload & FNT_EV_PAYLOAD_MASK) << 8);
}

static inline unsigned fnt_ev_type(uint64_t w) { return w & 7; }
static inline uint64_t fnt_ev_delta(uint64_t w)
{
	if ((w & 7) == FNT_EV_FUNC)
		return (w >> 5) & FNT_EV_FUNC_DELTA_MAX;
	return (w >> 3) & FNT_EV_DELTA_MAX;
}

static inline unsigned fnt_ev_func_slot(uint64_t w) { return (w >> 3) & 3; }
static inline uint32_t fnt_ev_obj(uint64_t w) { return (uint32_t)(w >> (30 + FNT_EV_IDX_BITS)); }
static inline uint32_t fnt_ev_idx(uint64_t w) { return (uint32_t)(w >> 30) & FNT_EV_IDX_MAX; }
static inline unsigned fnt_ev_sub(uint64_t w) { return (w >> 3) & 31; }
static inline uint64_t fnt_ev_payload(uint64_t w) { return w >> 8; }

/* Is w an event (counted in totals), rather than a time/caller/lost record? */
static inline int fnt_ev_is_event(uint64_t w) { return fnt_ev_type(w) != FNT_EV_EXT; }

#endif
