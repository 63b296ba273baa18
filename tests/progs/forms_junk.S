/*
 * forms_junk.S - garbage in a site table.  junk_fn starts with an ordinary
 * prologue, not a patch site, yet __mcount_loc lists it: the runtime must
 * refuse that site by name ("unknown entry bytes") and trace the rest.
 */
	.text
	.globl	junk_fn
	.type	junk_fn, @function
junk_fn:
	push	%rbp
	mov	%rsp, %rbp
	lea	1(%rdi), %eax
	pop	%rbp
	ret
	.size	junk_fn, . - junk_fn

	.section __mcount_loc, "a"
	.quad	junk_fn
	.section .note.GNU-stack, "", @progbits
