/*
 * proto.c - framing and checking of control messages (see proto.h).
 *
 * Used by both ends: the agent inside a traced process, where it is
 * built -mgeneral-regs-only with the rest of the runtime, and the fntrace
 * command.  So it calls no libc routine but memcpy and memcmp, and
 * formats numbers itself.
 */
#include <errno.h>
#include <string.h>

#include "ctl/proto.h"

int fnt__ctl_check_hdr(const struct fnt_ctl_hdr *h, const char **why)
{
	if (h->magic != FNT_CTL_MAGIC)
		return *why = "not a control message (bad magic)", -EPROTO;
	if (h->version != FNT_CTL_VERSION)
		return *why = "protocol version 1 expected", -EPROTO;
	if (h->len > FNT_CTL_MAX)
		return *why = "message too long", -EPROTO;
	if (!(h->type >= FNT_CTL_HELLO && h->type <= FNT_CTL_ARM) && h->type != FNT_CTL_REPLY &&
	    h->type != FNT_CTL_ERROR)
		return *why = "unknown message type", -EPROTO;
	return 0;
}

static int key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

int fnt__ctl_check_body(const char *b, uint32_t len, const char **why)
{
	uint32_t i = 0;

	if (len > FNT_CTL_MAX)
		return *why = "message too long", -EPROTO;
	while (i < len) {
		uint32_t k = i;

		while (i < len && key_char(b[i]))
			i++;
		if (i == k || i - k > 32 || i >= len || b[i] != '=')
			return *why = "malformed line (key=value expected)", -EPROTO;
		for (i++; i < len && b[i] != '\n'; i++)
			if ((unsigned char)b[i] < 0x20 || b[i] == 0x7f)
				return *why = "control character in a value", -EPROTO;
		if (i >= len)
			return *why = "last line not terminated", -EPROTO;
		i++;
	}
	return 0;
}

/* The value of key: its offset in *off and length in *vl, or -ENOENT. */
static int find(const char *b, uint32_t len, const char *key, uint32_t *off, uint32_t *vl)
{
	size_t kl = strlen(key);
	uint32_t i = 0;

	while (i < len) {
		uint32_t s = i, e;

		while (i < len && b[i] != '\n')
			i++;
		e = i++;
		if (e - s > kl && memcmp(b + s, key, kl) == 0 && b[s + kl] == '=') {
			*off = s + (uint32_t)kl + 1;
			*vl = e - *off;
			return 0;
		}
	}
	return -ENOENT;
}

int fnt__ctl_get(const char *b, uint32_t len, const char *key, char *out, size_t cap)
{
	uint32_t off, vl;

	if (find(b, len, key, &off, &vl))
		return -ENOENT;
	if (vl >= cap)
		return -E2BIG;
	memcpy(out, b + off, vl);
	out[vl] = 0;
	return (int)vl;
}

int fnt__ctl_get_u64(const char *b, uint32_t len, const char *key, uint64_t max, uint64_t *v)
{
	uint32_t off, vl;
	uint64_t x = 0;

	if (find(b, len, key, &off, &vl))
		return -ENOENT;
	if (vl == 0 || vl > 20)
		return -EINVAL;
	for (uint32_t i = 0; i < vl; i++) {
		unsigned d = (unsigned)(b[off + i] - '0');

		if (d > 9 || x > (UINT64_MAX - d) / 10)
			return -EINVAL;
		x = x * 10 + d;
	}
	if (x > max)
		return -EINVAL;
	*v = x;
	return 0;
}

int fnt__ctl_put(char *buf, size_t cap, uint32_t *len, const char *key, const char *val)
{
	size_t kl = strlen(key), vl = 0;

	while (val[vl] && val[vl] != '\n')
		vl++;
	if (*len + kl + vl + 2 > cap)
		return -E2BIG;
	memcpy(buf + *len, key, kl);
	buf[*len + kl] = '=';
	memcpy(buf + *len + kl + 1, val, vl);
	buf[*len + kl + 1 + vl] = '\n';
	*len += (uint32_t)(kl + vl + 2);
	return 0;
}

int fnt__ctl_put_u64(char *buf, size_t cap, uint32_t *len, const char *key, uint64_t v)
{
	char d[24], *p = d + sizeof(d);

	*--p = 0;
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	return fnt__ctl_put(buf, cap, len, key, p);
}
