/*
 * int3.pml - a Promela model of the int3 live-patching protocol and of its
 * SIGTRAP handler (src/arch/x86_64/patch.c, docs/design.md section 4),
 * checked with spin by tests/e2e/model.sh.
 *
 * WHAT IS MODELLED, AND WHERE IT IS IN patch.c
 *
 *   proctype patcher    fnt__x86_apply_live() run on two batches one after
 *                       the other: the phase-0 checks, publish() (refs = 1,
 *                       then gen++), run_phase() 1, 2 and 3 each followed
 *                       by fnt__x86_sync(), then unpublish() (drop our
 *                       reference, wait for refs == 0, free the vector).
 *                       Every write is preceded by check()'s comparison,
 *                       as an assertion.
 *   proctype thread     any other thread of the traced program: it picks
 *                       an address, fetches the first byte and the tail
 *                       in either order and at any moment (patcher writes
 *                       may fall between the two fetches), then executes
 *                       what it fetched.  A sync throws away whatever a
 *                       thread has fetched and not yet executed: that is
 *                       what passing a serialization point means.  A sync
 *                       does NOT wait for trap handlers (neither membarrier
 *                       nor the signal fallback can), so the handler of a
 *                       trap may run at any later time.
 *   inline handler      fnt__x86_trap() on that thread, statement by
 *                       statement: g1 = gen; get_desc() (a relaxed load,
 *                       then inc-not-zero by compare-and-swap, retried);
 *                       lookup() (the binary search of ip-1 in the vector);
 *                       emulation of the entry's NEW instruction; put_desc();
 *                       the late path (byte at ip-1 not cc: resume at the
 *                       site; cc and gen == g1: not ours; else look again).
 *
 * The addresses are A < F < B.  A and B are patch sites (a nop5 that is
 * enabled into a call to the near trampoline, and back).  F holds a
 * program's own int3 (like the literal int3 of tests/progs/foreign.c),
 * which fntrace never writes; the handler must pass its traps on.  The
 * first batch enables {A, B}; the second disables {A} and reuses the
 * descriptor, so a late handler of the first batch can meet the second
 * one: with A (found again) or with B (absent, n = 1).
 *
 * WHAT IS CHECKED (assertions; run with -DSAFETY)
 *
 *   mix        a thread never executes a first byte and a tail of two
 *              different instructions, and what it executes whole is an
 *              instruction the site may hold at that moment (its current
 *              one, or the old or new one of the batch in flight);
 *   class      a trap at F is passed on, and a trap at A or B is not;
 *   freed      the handler reads the descriptor only while it is allocated;
 *   resume     an emulation is the new instruction of the trapping site
 *              itself (resume at site+5 or call from it), an instruction
 *              the site may hold at that moment; "resume at the site" is
 *              always right because the thread then fetches afresh;
 *   done       when apply_live returns, no int3 of its batch can still be
 *              executed: every int3 executed at a site was written by the
 *              batch that is running at that moment;
 *   check      every check() the patcher makes succeeds.
 *
 * THE MUTATIONS (each must give a counterexample; the test checks it)
 *
 *   -DMUT_GLOBAL_SITE   the handler compares ip-1 with one global "site
 *       being patched", set by the patcher before each site of each phase
 *       (the ftrace_update_func of seed 003), instead of looking it up in
 *       the batch.  A thread traps at A, the patcher moves on to B, the
 *       handler sees B, finds the cc still at A and gen unchanged, and
 *       passes our trap on as foreign: the program dies of SIGTRAP.
 *       (Violates "class".)
 *   -DMUT_NO_LAST_SYNC  no sync after phase 3.  A thread that fetched the
 *       cc before the new first byte was written executes it after
 *       apply_live has returned.  (Violates "done".)
 *   -DNO_DONE_CHECK     not a mutation: drops the "done" assertion.  With
 *       MUT_NO_LAST_SYNC it shows that every other property still holds
 *       without the last sync (see FINDINGS).
 *
 * WHAT IS ABSTRACTED, AND WHY
 *
 *   - Bytes.  A site holds one of two instructions, nop5 or call; its
 *     first byte is 0f, e8 or cc and its four tail bytes are one value.
 *     The tail is written only in phase 2, when every thread sees cc at
 *     byte 0 (the phase-1 sync is behind it), so how the memcpy of the
 *     tail tears cannot be observed: whoever fetches part of it executes
 *     the int3.
 *   - check() and poke() are one step: no one but the patcher writes a
 *     site, so nothing can come between them.  Corruption behind our back,
 *     the fail_freeze path, dead entries and fnt__x86_forget_object() are
 *     not modelled (the e2e test corrupt covers them); nor are the
 *     SigBlk check, the si_code filter, the trap delay hook and the text
 *     write methods, which do not change the protocol's interleavings.
 *   - lookup() and the emulation's reads of the entry are one atomic step
 *     with the use-after-free assertion at its start.  This loses no
 *     race: if the descriptor could be freed in the middle of a lookup, it
 *     could also be freed just before it, which the assertion catches.
 *   - Memory is sequentially consistent.  That is exact for this code on
 *     x86-64 (TSO), whose one relaxation is a load passing an earlier
 *     store: the handlers store only with locked instructions, and the
 *     one location the patcher loads that others write, refs, it loads
 *     after a locked read-modify-write (put_desc).
 *   - Two threads besides the patcher: enough for two handlers to hold
 *     references at once (refs = 3) and for one thread to fetch while
 *     another is in its handler.  Three take minutes instead of a second.
 *   - Each thread runs forever, so every interleaving of its fetches and
 *     traps with the two batches is explored; the printf lines only make
 *     a counterexample trail readable (spin -t).
 *
 * FINDINGS (differences between patch.c, docs/design.md and the model)
 *
 *   - No violation of mix, class, freed or resume is found, with or
 *     without the last sync.  The last sync's only job in fntrace is
 *     "done": without it a stale cc can be executed after the batch
 *     returned, and the handler copes with it (the byte at ip-1 is no
 *     longer cc, so it resumes at the site; or gen has moved).  That is
 *     H. Peter Anvin's view in seed 003.  In the kernel the last sync
 *     also waits for every int3 handler (an IPI cannot interrupt one),
 *     which a handler that trusts a global needs; membarrier waits for no
 *     signal handler, so fntrace could not lean on that anyway (hence
 *     MUT_GLOBAL_SITE fails with every sync in place).  Nothing in fntrace
 *     relies on "done" today, but design.md's late-handler paragraph
 *     assumes it: "the handler runs after the batch has ended (a slow
 *     signal delivery)" is, with the last sync, the only way.
 *   - The handler's ordering argument (a cc seen at ip-1 implies that the
 *     second load of gen sees the publish that preceded the write) holds
 *     on x86-64, not in the C11 model as written: the byte is read relaxed
 *     and gen with acquire, which does not order an earlier load, and the
 *     patcher's cc store is relaxed after the release increment of gen.
 *     It is correct because this file is x86-only; a port to a weaker
 *     architecture would need a fence between the two loads.
 *   - Not modelled, seen while reading: lookup() treats a dead entry (an
 *     object unloaded after a freeze) as absent, so the handler then
 *     reads the byte at ip-1 in text that may be unmapped, and faults.
 *     That takes a trap delivered after another thread unloaded the
 *     object the trapping thread is executing, which is the program's
 *     bug, but design.md does not mention dead entries at all.
 */

#ifndef NTHR
#define NTHR 2			/* threads besides the patcher */
#endif

#define NONE 0

/* Instructions, as bits so that a set of them fits in a byte. */
#define I_NOP 1			/* 0f 1f 44 00 00 */
#define I_CALL 2		/* e8 rel32 */

/* First-byte values: the first byte of each instruction, and int3. */
#define B_NOP I_NOP		/* 0f */
#define B_CALL I_CALL		/* e8 */
#define B_CC 3			/* cc */
/* Tail values (bytes 1..4): one per instruction. */
#define T_NOP I_NOP
#define T_CALL I_CALL

/* Addresses: two sites around a foreign int3. */
#define A 1
#define F 2
#define B 3
#define NADDR 4

/* What the handler decided. */
#define V_EMUL 1		/* emulated an entry's new instruction */
#define V_RESUME 2		/* breakpoint gone: resume at the site */
#define V_FOREIGN 3		/* returned 0: the program's trap */

#define OTHER(i) (I_NOP + I_CALL - (i))

/* Names for the printf lines of a trail: addresses, instructions (n: nop5,
 * c: call) and first bytes (f, e8, cc). */
#define AN(a) ((a) == A -> 'A' : ((a) == F -> 'F' : 'B'))
#define IN(i) ((i) == I_CALL -> 'c' : 'n')
#define BV(x) ((x) == B_CC -> 204 : ((x) == B_CALL -> 232 : 15))

/* --- the process's memory -------------------------------------------- */

byte b0[NADDR];			/* first byte at each address */
byte tl[NADDR];			/* tail at each address */

/* struct desc and gen.  d_addr/d_new are desc.vec[i].addr and the new
 * instruction of that entry (c->enable). */
byte refs;
byte gen;
byte d_n;
byte d_addr[2];
byte d_new[2];

#ifdef MUT_GLOBAL_SITE
/* The single "site being patched" and its new instruction. */
byte cur;
byte cur_new;
#endif

/* --- ghost state (what the properties are stated over) --------------- */

bool d_live;			/* the vector is allocated */
byte running;			/* batch inside apply_live, 0 when none */
byte ccof[NADDR];		/* batch that wrote the cc now at an address */
byte valid[NADDR];		/* instructions the site may hold now (set) */

/* What each thread has fetched and not executed yet (NONE: not fetched),
 * and which batch wrote the cc it fetched, if it fetched one. */
byte f0[NTHR];
byte ft[NTHR];
byte f0by[NTHR];

/* --- the patcher ----------------------------------------------------- */

/* fnt__x86_sync(): every thread passes a serialization point, so no
 * thread keeps bytes it fetched before. */
inline sync()
{
	d_step {
		i = 0;
		do
		:: i < NTHR -> f0[i] = NONE; ft[i] = NONE; i++
		:: else -> break
		od;
		i = 0;
		printf("P sync\n")
	}
}

/* check(): the bytes phase expects at the site of entry k. */
inline check(k, phase)
{
	assert(b0[ca[k]] == (phase >= 2 -> B_CC : OTHER(cn[k])) &&
	       tl[ca[k]] == (phase == 3 -> cn[k] : OTHER(cn[k])))
}

/* One batch of n entries (ca[k], cn[k]) sorted by address, as in
 * fnt__x86_apply_live(). */
inline apply_live(id)
{
	running = id;
	k = 0;
	do
	:: k < n -> check(k, 0); k++
	:: else -> break
	od;

	/* publish(): the vector is copied, then refs = 1 (release), then
	 * gen++ (release).  From here the sites may hold either instruction.
	 * (The skip keeps the loop's exit from jumping into a d_step, which
	 * spin refuses.) */
	skip;
	d_step {
		d_n = n; d_addr[0] = ca[0]; d_new[0] = cn[0];
		d_addr[1] = ca[1]; d_new[1] = cn[1]; d_live = 1;
		printf("P batch %d: vector allocated\n", id)
	}
	d_step {
		refs = 1;
		k = 0;
		do
		:: k < n -> valid[ca[k]] = valid[ca[k]] | cn[k]; k++
		:: else -> break
		od;
		k = 0;
		printf("P publish: refs = 1\n")
	}
	d_step { gen++; printf("P gen = %d\n", gen) };

	/* Phase 1: int3 on the first byte of every site. */
	k = 0;
	do
	:: k < n ->
#ifdef MUT_GLOBAL_SITE
		d_step { cur = ca[k]; cur_new = cn[k]; printf("P site being patched: %c\n", AN(cur)) }
#endif
		d_step { check(k, 1); b0[ca[k]] = B_CC; ccof[ca[k]] = id;
			 printf("P phase 1: cc at %c\n", AN(ca[k])) };
		k++
	:: else -> break
	od;
	sync();

	/* Phase 2: the new tail of every site. */
	k = 0;
	do
	:: k < n ->
#ifdef MUT_GLOBAL_SITE
		d_step { cur = ca[k]; cur_new = cn[k]; printf("P site being patched: %c\n", AN(cur)) }
#endif
		d_step { check(k, 2); tl[ca[k]] = cn[k];
			 printf("P phase 2: %c tail at %c\n", IN(cn[k]), AN(ca[k])) };
		k++
	:: else -> break
	od;
	sync();

	/* Phase 3: the new first byte of every site. */
	k = 0;
	do
	:: k < n ->
#ifdef MUT_GLOBAL_SITE
		d_step { cur = ca[k]; cur_new = cn[k]; printf("P site being patched: %c\n", AN(cur)) }
#endif
		d_step { check(k, 3); b0[ca[k]] = cn[k]; ccof[ca[k]] = NONE;
			 printf("P phase 3: %x at %c\n", BV(cn[k]), AN(ca[k])) };
		k++
	:: else -> break
	od;
#ifndef MUT_NO_LAST_SYNC
	sync();
#else
	skip;			/* (no jump into the d_step below) */
#endif

	/* unpublish(): drop our reference; from then on the sites hold
	 * their new instruction only.  Wait for refs == 0, free. */
	d_step {
#ifdef MUT_GLOBAL_SITE
		cur = NONE;
#endif
		refs--;
		k = 0;
		do
		:: k < n -> valid[ca[k]] = cn[k]; k++
		:: else -> break
		od;
		k = 0;
		printf("P unpublish: drops its reference, refs = %d\n", refs)
	}
	refs == 0;
	d_step {
		d_live = 0; d_n = 0;
		d_addr[0] = NONE; d_new[0] = NONE; d_addr[1] = NONE; d_new[1] = NONE;
		printf("P vector freed\n")
	}
	d_step { running = NONE; printf("P batch %d: apply_live returns\n", id) }
}

proctype patcher()
{
	byte ca[2], cn[2], n, k, i;

	/* Batch 1: enable A and B. */
	d_step { n = 2; ca[0] = A; cn[0] = I_CALL; ca[1] = B; cn[1] = I_CALL }
	apply_live(1);
	/* Batch 2: disable A only; the descriptor is reused. */
	d_step { n = 1; ca[0] = A; cn[0] = I_NOP; ca[1] = NONE; cn[1] = NONE }
	apply_live(2)
}

/* --- the trap handler ------------------------------------------------ */

/* lookup(addr): binary search of the vector; c = index + 1, or NONE.
 * On a hit, emul and at are the entry's new instruction and address. */
inline lookup(addr)
{
#ifndef MUT_GLOBAL_SITE
	lo = 0; hi = d_n; c = NONE;
	do
	:: lo < hi ->
		mid = (lo + hi) / 2;
		if
		:: d_addr[mid] == addr -> c = mid + 1; break
		:: d_addr[mid] < addr -> lo = mid + 1
		:: d_addr[mid] > addr -> hi = mid
		fi
	:: else -> break
	od;
	if
	:: c != NONE -> emul = d_new[c - 1]; at = d_addr[c - 1]
	:: else
	fi
#else
	if
	:: cur == addr -> c = 1; emul = cur_new; at = cur
	:: else -> c = NONE
	fi
#endif
}

/* fnt__x86_trap() for an int3 executed at address s; sets verdict. */
inline handler()
{
	do
	::
		atomic { g1 = gen; printf("T%d handler: g1 = %d\n", me, g1) };
		/* get_desc(): relaxed load, then inc-not-zero. */
		atomic { r = refs; got = 0 };
		do
		:: r == 0 -> printf("T%d handler: no reference\n", me); break
		:: atomic {
			r > 0 && refs == r -> refs = r + 1; got = 1;
			printf("T%d handler: reference taken, refs = %d\n", me, refs); break
		   }
		:: atomic { r > 0 && refs != r -> r = refs }
		od;
		if
		:: got ->
			atomic {
				assert(d_live);		/* freed */
				lookup(s);
				if
				:: c != NONE ->
					printf("T%d handler: emulates %c at %c\n", me, IN(emul), AN(at));
					/* resume: the trapping site's own entry,
					 * an instruction it may hold now. */
					assert(at == s && (valid[s] & emul) != 0)
				:: else -> printf("T%d handler: %c not found\n", me, AN(s))
				fi
			}
			/* put_desc() */
			if
			:: c != NONE -> refs--; verdict = V_EMUL; break
			:: else -> refs--
			fi
		:: else
		fi;
		/* The late path. */
		atomic { b = b0[s]; printf("T%d handler: byte at %c is %x\n", me, AN(s), BV(b)) };
		if
		:: b != B_CC -> printf("T%d handler: resumes at %c\n", me, AN(s)); verdict = V_RESUME; break
		:: else
		fi;
		if
		:: atomic { gen == g1 -> printf("T%d handler: gen = g1, not ours\n", me) };
			verdict = V_FOREIGN; break
		:: else -> printf("T%d handler: gen moved, looks again\n", me)
		fi
	od
}

/* --- the program's threads ------------------------------------------- */

proctype thread(byte me)
{
	byte s, b, t, fb, g1, r, c, emul, at, verdict, lo, hi, mid;
	bool got;

	do
	::
		if
		:: s = A
		:: s = F
		:: s = B
		fi;
		/* Fetch both parts in any order, at any moment; execute once
		 * both are there (a sync in between discards them). */
		do
		:: atomic {
			f0[me] == NONE -> f0[me] = b0[s]; f0by[me] = ccof[s];
			printf("T%d fetches byte 0 at %c: %x\n", me, AN(s), BV(f0[me]))
		   }
		:: atomic {
			ft[me] == NONE -> ft[me] = tl[s];
			printf("T%d fetches the tail at %c: %c\n", me, AN(s), IN(ft[me]))
		   }
		:: atomic {
			f0[me] != NONE && ft[me] != NONE ->
			b = f0[me]; t = ft[me]; fb = f0by[me];
			f0[me] = NONE; ft[me] = NONE; f0by[me] = NONE;
			if
			:: b != B_CC ->
				printf("T%d executes %x+%c at %c\n", me, BV(b), IN(t), AN(s));
				/* mix */
				assert(b == t && (valid[s] & b) != 0)
			:: else ->
				printf("T%d executes the int3 at %c\n", me, AN(s));
#ifndef NO_DONE_CHECK
				/* done */
				assert(s == F || running == fb)
#endif
			fi;
			break
		   }
		od;
		if
		:: b == B_CC ->
			handler();
			/* class */
			assert((s == F) == (verdict == V_FOREIGN));
			d_step { verdict = NONE; g1 = 0; r = 0; c = NONE; emul = NONE; at = NONE; got = 0 }
		:: else
		fi;
		d_step { s = NONE; b = NONE; t = NONE; fb = NONE; lo = 0; hi = 0; mid = 0 }
	od
}

init
{
	byte i;

	d_step {
		b0[A] = B_NOP; tl[A] = T_NOP; valid[A] = I_NOP;
		b0[B] = B_NOP; tl[B] = T_NOP; valid[B] = I_NOP;
		b0[F] = B_CC; tl[F] = T_NOP
	}
	atomic {
		run patcher();
		i = 0;
		do
		:: i < NTHR -> run thread(i); i++
		:: else -> break
		od
	}
}
