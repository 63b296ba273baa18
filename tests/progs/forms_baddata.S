/*
 * forms_baddata.S - a site table entry outside the text: __mcount_loc
 * names a data object.  Writing there would corrupt the program's data,
 * so the runtime must report the anomaly and disable patching for good.
 */
	.data
	.globl	junk_data
	.type	junk_data, @object
junk_data:
	.quad	0x1122334455667788
	.size	junk_data, 8

	.section __mcount_loc, "a"
	.quad	junk_data
	.section .note.GNU-stack, "", @progbits
