/*
 * insn.c - the x86-64 bytes of a patch site: which entry forms we accept,
 * how each is turned into a 5-byte NOP, and the NOP and call encodings.
 *
 *   clang -fpatchable-function-entry=5           0f 1f 44 00 08     NOP5
 *   gcc -pg -mfentry -mrecord-mcount -mnop-mcount 0f 1f 44 00 00     NOP5
 *   gcc -pg -mfentry -mrecord-mcount (non-PIC)    e8 <rel32>         call __fentry__
 *   gcc -pg -mfentry -mrecord-mcount (PIE)        ff 15 <disp32>     call *__fentry__@GOTPCREL
 *   gcc -fpatchable-function-entry=5              90 90 90 90 90     five 1-byte NOPs
 *   any of them after endbr64                     f3 0f 1e fa ...
 *
 * Enabled, a site is "e8 <rel32>" to its object's near trampoline.  The
 * 6-byte form becomes NOP5 + 0x90, so the call (5 bytes) returns onto the
 * one-byte NOP.  Anything else is refused: nothing is guessed.
 *
 * Exit sites (gcc -minstrument-return=nop5 -mrecord-return) are NOP5
 * right before the instruction that leaves the function: a ret, or the jmp
 * of a tail call (direct or indirect).  Enabled, they call the near page's
 * second entry (before a ret) or third (before a jmp), which reach the exit
 * and tail trampolines.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86_64/x86.h"

const uint8_t fnt__nop5[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };
static const uint8_t nop5_clang[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x08 };
static const uint8_t nop1x5[5] = { 0x90, 0x90, 0x90, 0x90, 0x90 };
static const uint8_t endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };

static int32_t rd32(const uint8_t *p)
{
	int32_t v;

	memcpy(&v, p, 4);
	return v;
}

void fnt__x86_encode_call(uintptr_t at, uintptr_t target, uint8_t out[5])
{
	int32_t rel = (int32_t)(target - (at + 5));

	out[0] = 0xe8;
	memcpy(out + 1, &rel, 4);
}

static int in_plt(const struct fnt_elf *e, uint64_t v)
{
	return (v >= e->plt_lo && v < e->plt_hi) || (v >= e->plt2_lo && v < e->plt2_hi);
}

/* The bytes are read from memory at bias + vaddr: the caller has checked
 * that the whole range lies inside the object's executable text. */
int fnt__x86_classify(struct fnt_object *o, const struct fnt_elf *e, struct fnt_site *s,
			char *why, size_t whylen)
{
	const uint8_t *p = (const uint8_t *)s->addr;
	uint64_t link = s->addr - o->bias;

	if (!memcmp(p, endbr64, 4)) {
		/* The table names the function start; the site follows endbr64. */
		s->addr += 4;
		p += 4;
		link += 4;
	}
	if (!memcmp(p, fnt__nop5, 5)) {
		s->form = X86_NOP5;
		s->len = 5;
		return 0;
	}
	if (!memcmp(p, nop5_clang, 5)) {
		s->form = X86_NOP5_CLANG;
		s->len = 5;
		return 0;
	}
	if (!memcmp(p, nop1x5, 5)) {
		s->form = X86_NOP1X5;
		s->len = 5;
		return 0;
	}
	if (p[0] == 0xe8) {
		uint64_t t = link + 5 + (int64_t)rd32(p + 1);

		if ((e->fentry_sym && t == e->fentry_sym) || in_plt(e, t)) {
			s->form = X86_CALL_FENTRY;
			s->len = 5;
			return 0;
		}
		snprintf(why, whylen, "call to 0x%llx, which is neither __fentry__ nor a PLT entry",
			 (unsigned long long)t);
		return -EINVAL;
	}
	if (p[0] == 0xff && p[1] == 0x15) {
		uint64_t slot = link + 6 + (int64_t)rd32(p + 2);

		if (e->fentry_got && slot == e->fentry_got) {
			s->form = X86_CALL_FENTRY_GOT;
			s->len = 6;
			return 0;
		}
		snprintf(why, whylen, "indirect call through 0x%llx, which is not __fentry__'s GOT slot",
			 (unsigned long long)slot);
		return -EINVAL;
	}
	snprintf(why, whylen, "unknown entry bytes %02x %02x %02x %02x %02x", p[0], p[1], p[2], p[3],
		 p[4]);
	return -EINVAL;
}

/* How does the instruction at p leave the function: X86_EXIT_NOP5 (a
 * return), X86_EXIT_TAIL (a jump), or 0 if it does not. */
static int leaves(const uint8_t *p)
{
	if ((p[0] == 0xf3 && p[1] == 0xc3) || p[0] == 0xc3 || p[0] == 0xc2)
		return X86_EXIT_NOP5;				/* (rep) ret, ret imm16 */
	if (p[0] == 0xe9 || p[0] == 0xeb)
		return X86_EXIT_TAIL;				/* jmp rel32, rel8 */
	if (p[0] == 0x3e || (p[0] >= 0x40 && p[0] <= 0x4f))	/* notrack, REX */
		p++;
	return p[0] == 0xff && ((p[1] >> 3) & 7) == 4 ? X86_EXIT_TAIL : 0; /* jmp r/m64 */
}

/* The bytes are read from memory: the caller has checked that the site
 * lies inside the text; the next instruction is read too, which a NOP the
 * compiler put before it is always followed by. */
int fnt__x86_classify_exit(struct fnt_object *o, struct fnt_site *s, uintptr_t *to, char *why,
			   size_t whylen)
{
	const uint8_t *p = (const uint8_t *)s->addr;
	int form;

	*to = 0;
	if (memcmp(p, fnt__nop5, 5)) {
		snprintf(why, whylen, "unknown exit bytes %02x %02x %02x %02x %02x", p[0], p[1],
			 p[2], p[3], p[4]);
		return -EINVAL;
	}
	form = leaves(p + 5);
	if (!form) {
		snprintf(why, whylen, "the NOP is not followed by a return or a jump (%02x %02x)",
			 p[5], p[6]);
		return -EINVAL;
	}
	s->form = (uint8_t)form;
	s->len = 5;
	if (p[5] == 0xe9)
		*to = s->addr + 10 + (int64_t)rd32(p + 6);
	else if (p[5] == 0xeb)
		*to = s->addr + 7 + (int8_t)p[6];
	return 0;
}

int fnt__x86_exit_is_tail(const struct fnt_site *s)
{
	return s->form == X86_EXIT_TAIL;
}

/*
 * Five 1-byte NOPs can't become one instruction while a thread might be
 * between two of them: it would resume in the middle of the new one.  A
 * call to __fentry__ (a plain return in our runtime) has no such problem
 * in theory; rewriting it live would need the int3 protocol too, and the
 * objects that carry it are registered before they run anyway, so every
 * conversion is done only while no thread can run the object.
 */
int fnt__x86_needs_convert(const struct fnt_site *s)
{
	return s->form == X86_NOP1X5 || s->form == X86_CALL_FENTRY || s->form == X86_CALL_FENTRY_GOT;
}


/* The canonical disabled bytes of a converted site. */
static void disabled_bytes(const struct fnt_site *s, uint8_t *out)
{
	memcpy(out, s->form == X86_NOP5_CLANG ? nop5_clang : fnt__nop5, 5);
	if (s->len == 6)
		out[5] = 0x90;
}

int fnt__x86_convert(struct fnt_object *o, struct fnt_site *s)
{
	uint8_t want[FNT_MAX_INSN];
	uint8_t *p = (uint8_t *)s->addr;
	int form = s->form;

	/* Re-verify the form right before the write (non-negotiable 2). */
	if ((form == X86_NOP1X5 && memcmp(p, nop1x5, 5)) ||
	    (form == X86_CALL_FENTRY && p[0] != 0xe8) ||
	    (form == X86_CALL_FENTRY_GOT && (p[0] != 0xff || p[1] != 0x15))) {
		uint8_t exp[FNT_MAX_INSN] = { 0 };

		if (form == X86_NOP1X5)
			memcpy(exp, nop1x5, 5);
		else if (form == X86_CALL_FENTRY)
			exp[0] = 0xe8;
		else {
			exp[0] = 0xff;
			exp[1] = 0x15;
		}
		fnt__site_bug(o, s, -EINVAL, "converting the entry form", exp, p, s->len);
		return -EINVAL;
	}
	s->form = X86_NOP5;
	disabled_bytes(s, want);
	memcpy(p, want, s->len);
	return 0;
}

void fnt__x86_prepare(struct fnt_change *c)
{
	uint8_t nop[FNT_MAX_INSN], call[FNT_MAX_INSN];

	c->target = c->site->form == X86_EXIT_NOP5   ? fnt__x86_near_exit(c->obj)
		    : c->site->form == X86_EXIT_TAIL ? fnt__x86_near_tail(c->obj)
						     : fnt__x86_near_entry(c->obj);
	disabled_bytes(c->site, nop);
	memcpy(call, nop, sizeof(call));
	fnt__x86_encode_call(c->addr, c->target, call);
	c->len = 5;	/* a 6-byte site keeps its trailing 0x90 */
	memcpy(c->old, c->enable ? nop : call, 5);
	memcpy(c->new, c->enable ? call : nop, 5);
}
