/*
 * utf8.c -- strict UTF-8 checking (see utf8.h).
 */
#include "config.h"

#include <stddef.h>

#include "net/utf8.h"

/*
 * One step of a UTF-8 decoder (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF): the state after octet c, or
 * UTF8_REJECT.  States 1-3: that many continuation octets (80-BF) to go;
 * 4: after E0 (A0-BF next), 5: after ED (80-9F), 6: after F0 (90-BF),
 * 7: after F4 (80-8F), each then with 1 or 2 continuation octets to go.
 */
unsigned int
utf8_next(unsigned int state, unsigned int c)
{
	switch (state) {
	case UTF8_ACCEPT:
		if (c < 0x80)
			return UTF8_ACCEPT;
		if (c >= 0xc2 && c <= 0xdf)
			return 1;
		if (c == 0xe0)
			return 4;
		if (c == 0xed)
			return 5;
		if (c >= 0xe1 && c <= 0xef)
			return 2;
		if (c == 0xf0)
			return 6;
		if (c >= 0xf1 && c <= 0xf3)
			return 3;
		if (c == 0xf4)
			return 7;
		return UTF8_REJECT;
	case 1:
	case 2:
	case 3:
		return (c & 0xc0) == 0x80 ? state - 1 : UTF8_REJECT;
	case 4:
		return c >= 0xa0 && c <= 0xbf ? 1 : UTF8_REJECT;
	case 5:
		return c >= 0x80 && c <= 0x9f ? 1 : UTF8_REJECT;
	case 6:
		return c >= 0x90 && c <= 0xbf ? 2 : UTF8_REJECT;
	case 7:
		return c >= 0x80 && c <= 0x8f ? 2 : UTF8_REJECT;
	default:
		return UTF8_REJECT;
	}
}

int
utf8_valid(const void *p, size_t n)
{
	const unsigned char	*c = p;
	unsigned int		 st = UTF8_ACCEPT;
	size_t			 i;

	for (i = 0; i < n && st != UTF8_REJECT; i++)
		st = utf8_next(st, c[i]);
	return st == UTF8_ACCEPT;
}
