/*
 * utf8.h -- strict UTF-8 checking (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), whole or one octet at a time.
 * Shared by the WebSocket session (text messages, close reasons, across
 * fragments) and the bridge (request strings, error messages).
 */
#ifndef NET_UTF8_H
#define NET_UTF8_H

#include <stddef.h>

/* utf8_next() states; any other value: inside a sequence. */
#define UTF8_ACCEPT		0
#define UTF8_REJECT		8

/* The state after octet c (start from UTF8_ACCEPT); UTF8_REJECT stays. */
unsigned int	 utf8_next(unsigned int state, unsigned int c);
/* 1 if the n octets at p are UTF-8, whole characters only. */
int		 utf8_valid(const void *p, size_t n);

#endif /* NET_UTF8_H */
