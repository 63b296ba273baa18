/*
 * trampoline.S - the trampolines a patched site reaches.
 *
 * A patched site is "call near", where near is its object's near page
 * (tramp.c): "movabs $object, %r11; jmp *fnt__tramp_entry".  r11 is a
 * scratch register at every function entry in the SysV ABI (the PLT
 * clobbers it too); r10, the static chain, is preserved.
 *
 * fnt__tramp_entry, on entry:
 *   (%rsp)   site + 5          (our return address)
 *   8(%rsp)  the return address into the traced function's caller
 * The stack is NOT assumed aligned: gcc calls a function of its own unit
 * that it knows needs no alignment with %rsp misaligned, so both
 * trampolines align it themselves before calling C.
 * It saves the integer argument registers (%al too, for varargs, and
 * %r10), calls fnt__hook_entry(object, &site_ret), restores and returns to
 * the site.  With the kill switch on it returns at once.  While
 * fnt__direct is set (runtime.h) it calls the recorder's own path,
 * fnt__direct_entry(), instead; at the return, fnt__direct_exit().
 *
 * No vector register is saved, here or at the return: the C code a hook
 * runs is built with -mgeneral-regs-only and calls no libc routine that
 * uses vector registers (tests/e2e/novec.sh checks the binary), so it
 * cannot change them (saving xmm0-7 cost 20 of the 462 instructions of a
 * function_graph call, callgrind).  A user's callback can change them: the hooks call it
 * through fnt__call_saved() below, which saves everything.
 *
 * fnt__tramp_exit is where an enabled exit site (a NOP gcc put before a
 * return) goes through the near page's second entry: the same code,
 * calling fnt__hook_exit_site() (or fnt__direct_exit_site()).  An exit site
 * before a tail jump goes to fnt__tramp_tail and fnt__hook_tail_site().
 *
 * fnt__tramp_return is where a hooked return lands: the hook replaced the
 * return address with it.  It saves the return registers, asks
 * fnt__hook_exit() for the real return address and returns there.
 */
	.text
/*
 * An entry-like trampoline: name, the general hook, the direct one, the
 * labels of their return addresses (patch.c's hook_ret_slot), and what it
 * saves.  The exit sites' are the same code: at an exit site, too, (%rsp)
 * is site + 5 and 8(%rsp) the function's return address.
 *
 * save=args (the entry, the tail site): the argument registers, live at an
 * entry and at a tail call's jmp.  save=ret (the site before a ret): only
 * %rax and %rdx, as at a hooked return.  No other call-clobbered register
 * is live at a ret: gcc builds -pg code with -fipa-ra off, so no caller
 * keeps a value in one across a call, and the C code the hooks run uses
 * no vector or x87 register (see above).
 */
.macro	TRAMP name, hook, direct, rh, rd, save
	.globl	\name
	.hidden	\name
	.type	\name, @function
	.p2align 4
\name:
	.cfi_startproc
	cmpl	$0, fnt__killed(%rip)
	jne	1f
	pushq	%rbp
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %rbp, 0
	movq	%rsp, %rbp
	.cfi_def_cfa_register %rbp
	andq	$-16, %rsp
.ifc \save,args
	subq	$64, %rsp
	movq	%rax, 0(%rsp)
	movq	%rdi, 8(%rsp)
	movq	%rsi, 16(%rsp)
	movq	%rdx, 24(%rsp)
	movq	%rcx, 32(%rsp)
	movq	%r8, 40(%rsp)
	movq	%r9, 48(%rsp)
	movq	%r10, 56(%rsp)
.else
	subq	$16, %rsp
	movq	%rax, 0(%rsp)
	movq	%rdx, 8(%rsp)
.endif
	movq	%r11, %rdi
	leaq	8(%rbp), %rsi
	cmpl	$0, fnt__direct(%rip)
	jne	2f
	call	\hook
	.globl	\rh
	.hidden	\rh
\rh:					/* the hooks' guard checks these (patch.c) */
	jmp	3f
2:	call	\direct
	.globl	\rd
	.hidden	\rd
\rd:
.ifc \save,args
3:	movq	56(%rsp), %r10
	movq	48(%rsp), %r9
	movq	40(%rsp), %r8
	movq	32(%rsp), %rcx
	movq	24(%rsp), %rdx
	movq	16(%rsp), %rsi
	movq	8(%rsp), %rdi
	movq	0(%rsp), %rax
.else
3:	movq	8(%rsp), %rdx
	movq	0(%rsp), %rax
.endif
	movq	%rbp, %rsp
	popq	%rbp
	.cfi_def_cfa %rsp, 8
1:	ret
	.cfi_endproc
	.size	\name, .-\name
.endm

	TRAMP	fnt__tramp_entry, fnt__hook_entry, fnt__direct_entry, fnt__tramp_entry_rh, fnt__tramp_entry_rd, args
	TRAMP	fnt__tramp_tail, fnt__hook_tail_site, fnt__direct_tail_site, fnt__tramp_tail_rh, fnt__tramp_tail_rd, args
	TRAMP	fnt__tramp_exit, fnt__hook_exit_site, fnt__direct_exit_site, fnt__tramp_exit_rh, fnt__tramp_exit_rd, ret

	.globl	fnt__tramp_return
	.hidden	fnt__tramp_return
	.type	fnt__tramp_return, @function
	.p2align 4
fnt__tramp_return:
	/*
	 * %rsp = the hooked frame's return slot + 8.  The real return
	 * address leaves through %r11 (scratch at a return, not a return
	 * register) with an indirect jump: a "ret" here would be predicted
	 * from the return stack, which the hijack already broke, and would
	 * miss every time; the indirect predictor learns the callers.
	 */
	pushq	%rbp
	movq	%rsp, %rbp
	andq	$-16, %rsp
	subq	$16, %rsp
	movq	%rax, 0(%rsp)
	movq	%rdx, 8(%rsp)
	leaq	8(%rbp), %rdi
	cmpl	$0, fnt__direct(%rip)
	jne	2f
	call	fnt__hook_exit
	.globl	fnt__tramp_return_rh
	.hidden	fnt__tramp_return_rh
fnt__tramp_return_rh:
	jmp	3f
2:	call	fnt__direct_exit
	.globl	fnt__tramp_return_rd
	.hidden	fnt__tramp_return_rd
fnt__tramp_return_rd:
3:	movq	%rax, %r11
	movq	8(%rsp), %rdx
	movq	0(%rsp), %rax
	movq	%rbp, %rsp
	popq	%rbp
	jmp	*%r11
	.size	fnt__tramp_return, .-fnt__tramp_return

/*
 * int fnt__call_saved(fn, call, data): fn(call, data) with the whole
 * extended state (x87, MXCSR, xmm/ymm/zmm, opmasks) saved before and
 * restored after, for callbacks the runtime did not build (user ops).
 * The area (fnt__xs_size bytes, 64-byte aligned) is on the stack; its
 * 64-byte XSAVE header must start zeroed, or XRSTOR faults.  The caller
 * may be a hook in a signal handler: nothing here allocates or locks.
 */
	.globl	fnt__call_saved
	.hidden	fnt__call_saved
	.type	fnt__call_saved, @function
	.p2align 4
fnt__call_saved:
	.cfi_startproc
	pushq	%rbp
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %rbp, 0
	movq	%rsp, %rbp
	.cfi_def_cfa_register %rbp
	pushq	%rbx
	.cfi_offset %rbx, -24
	pushq	%r12
	.cfi_offset %r12, -32
	pushq	%r13
	.cfi_offset %r13, -40
	pushq	%r14
	.cfi_offset %r14, -48
	movq	%rdi, %r13		/* fn */
	movq	%rdx, %r14		/* data */
	movq	%rsi, %r12		/* call */
	movl	fnt__xs_size(%rip), %eax
	subq	%rax, %rsp
	andq	$-64, %rsp
	movq	%rsp, %rbx
	xorl	%eax, %eax
	movq	%rax, 512(%rbx)
	movq	%rax, 520(%rbx)
	movq	%rax, 528(%rbx)
	movq	%rax, 536(%rbx)
	movq	%rax, 544(%rbx)
	movq	%rax, 552(%rbx)
	movq	%rax, 560(%rbx)
	movq	%rax, 568(%rbx)
	movl	fnt__xs_mask(%rip), %eax
	movl	fnt__xs_mask+4(%rip), %edx
	movl	fnt__xs_kind(%rip), %ecx
	cmpl	$2, %ecx
	je	2f
	cmpl	$1, %ecx
	je	1f
	fxsave64 (%rbx)
	jmp	3f
1:	xsave64	(%rbx)
	jmp	3f
2:	xsavec64 (%rbx)
3:	movq	%r12, %rdi
	movq	%r14, %rsi
	call	*%r13
	movl	%eax, %r12d		/* fn's result */
	movl	fnt__xs_mask(%rip), %eax
	movl	fnt__xs_mask+4(%rip), %edx
	cmpl	$0, fnt__xs_kind(%rip)
	je	4f
	xrstor64 (%rbx)			/* either layout: the header says which */
	jmp	5f
4:	fxrstor64 (%rbx)
5:	movl	%r12d, %eax
	leaq	-32(%rbp), %rsp
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	.cfi_def_cfa %rsp, 8
	ret
	.cfi_endproc
	.size	fnt__call_saved, .-fnt__call_saved

/* __fentry__ for programs built with gcc -pg -mfentry -mrecord-mcount:
 * until a site is converted (before the object runs) it is a plain
 * return, so such programs run whether traced or not. */
	.globl	__fentry__
	.type	__fentry__, @function
	.p2align 4
__fentry__:
	.cfi_startproc
	ret
	.cfi_endproc
	.size	__fentry__, .-__fentry__

/*
 * The dynamic linker's debugger hook, patched into `call <near page>` by
 * rbrk.c, arrives here with the call's return address (hook + 5) on top
 * and the hook's caller's below it: dropping the first makes the handler's
 * own return go straight back to that caller, as the hook's `ret` did
 * (and leaves %rsp as at a function's entry, 8 mod 16).  The handler is a
 * C function: it keeps what the ABI says a callee keeps.
 */
	.globl	fnt__rbrk_tramp
	.hidden	fnt__rbrk_tramp
	.type	fnt__rbrk_tramp, @function
	.p2align 4
fnt__rbrk_tramp:
	.cfi_startproc
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
	jmp	fnt__rbrk_hit
	.cfi_endproc
	.size	fnt__rbrk_tramp, .-fnt__rbrk_tramp

	.section .note.GNU-stack,"",@progbits
