/*
 * errors.c - messages for the runtime's error codes (see errors.h).
 */
#include "util/errors.h"

const char *fnt__strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
#define FNT_ERR_CASE(code, msg) \
	case -code:             \
		return msg " (" #code ")";
		FNT_ERRNO_MAP(FNT_ERR_CASE)
#undef FNT_ERR_CASE
	default:
		return err < 0 ? "unknown error" : "not an error code";
	}
}
