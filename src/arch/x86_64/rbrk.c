/*
 * rbrk.c - a call in the dynamic linker's debugger hook (r_brk), for a
 * runtime that was attached and so has no LD_AUDIT: the dynamic linker
 * calls _dl_debug_state() around every change of its object list (RT_ADD
 * and RT_CONSISTENT around a load, RT_DELETE before an unmap), as gdb
 * relies on.
 *
 * The hook is an empty function: a `ret` (after an endbr64 in a CET build)
 * followed by the padding up to the next function, which nothing executes.
 * Its first five bytes become `call` to a near page whose `jmp` reaches
 * fnt__rbrk_tramp (trampoline.S), which drops that call's return address
 * and goes to the runtime's handler, so the handler returns straight to
 * the hook's caller, as the `ret` did.  Only those bytes are accepted:
 * anything else there is refused (the hook is verified like a site).
 *
 * The five bytes are written by fntrace with every other thread stopped
 * (src/cli/attach.c): no thread can be in them meanwhile, since only the
 * first is ever executed, and it is the start of both the old and the new
 * instruction.
 */
#include <errno.h>
#include <string.h>

#include "arch/x86_64/x86.h"

extern char fnt__rbrk_tramp[];

/* Length of the NOP instruction at p (at most n bytes), or 0. */
static size_t nop_len(const uint8_t *p, size_t n)
{
	static const uint8_t forms[][8] = {
		{ 0x90 },
		{ 0x0f, 0x1f, 0x00 },
		{ 0x0f, 0x1f, 0x40, 0x00 },
		{ 0x0f, 0x1f, 0x44, 0x00, 0x00 },
		{ 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00 },
		{ 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
	};
	static const size_t lens[] = { 1, 3, 4, 5, 7, 8 };
	size_t pre = 0;

	if (n && p[0] == 0xcc)
		return 1;	/* int3 padding */
	/* Operand-size and segment prefixes (66 66 2e 0f 1f 84 ...). */
	while (pre < n && pre < 6 && (p[pre] == 0x66 || p[pre] == 0x2e))
		pre++;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		if (pre + lens[i] <= n && !memcmp(p + pre, forms[i], lens[i]) &&
		    (pre == 0 || forms[i][0] == 0x0f || (pre == 1 && forms[i][0] == 0x90)))
			return pre + lens[i];
	return 0;
}

int fnt__x86_rbrk_prepare(uintptr_t rbrk, const uint8_t *cur, size_t n, uint8_t old[5],
			  uint8_t new_[5], void **page)
{
	static const uint8_t endbr_ret[5] = { 0xf3, 0x0f, 0x1e, 0xfa, 0xc3 };
	uint64_t tramp = (uintptr_t)fnt__rbrk_tramp;
	uint8_t *p;

	if (n < 16)
		return -EINVAL;
	if (memcmp(cur, endbr_ret, 5) != 0) {
		size_t at = 1;

		/* A ret, then padding at least to the fifth byte. */
		if (cur[0] != 0xc3)
			return -EINVAL;
		while (at < 5) {
			size_t l = nop_len(cur + at, n - at);

			if (!l)
				return -EINVAL;
			at += l;
		}
	}
	p = fnt__x86_map_near(rbrk, rbrk + 5);
	if (!p)
		return -ENOMEM;
	memcpy(p, "\xff\x25\x00\x00\x00\x00", 6);
	memcpy(p + 6, &tramp, 8);
	if (fnt__x86_seal_near(p) < 0)
		return -EPERM;
	memcpy(old, cur, 5);
	fnt__x86_encode_call(rbrk, (uintptr_t)p, new_);
	*page = p;
	return 0;
}
