/*
 * kbuf.c -- bounded reader and capped writer for the Kafka wire format.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "kafka/kbuf.h"

void
kr_init(struct kreader *r, const void *p, size_t len)
{
	r->p = p;
	r->end = len ? r->p + len : r->p;	/* no arithmetic on NULL */
	r->err = 0;
}

size_t
kr_left(const struct kreader *r)
{
	return (size_t)(r->end - r->p);
}

void
kr_fail(struct kreader *r)
{
	r->err = 1;
	r->p = r->end;
}

static const uint8_t *
kr_take(struct kreader *r, size_t n)
{
	const uint8_t	*p;

	if (r->err || kr_left(r) < n) {
		kr_fail(r);
		return NULL;
	}
	p = r->p;
	r->p += n;
	return p;
}

int8_t
kr_i8(struct kreader *r)
{
	const uint8_t	*p = kr_take(r, 1);

	return p ? (int8_t)p[0] : 0;
}

int16_t
kr_i16(struct kreader *r)
{
	const uint8_t	*p = kr_take(r, 2);

	return p ? (int16_t)(((uint16_t)p[0] << 8) | p[1]) : 0;
}

uint32_t
kr_u32(struct kreader *r)
{
	const uint8_t	*p = kr_take(r, 4);

	if (p == NULL)
		return 0;
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

int32_t
kr_i32(struct kreader *r)
{
	return (int32_t)kr_u32(r);
}

int64_t
kr_i64(struct kreader *r)
{
	uint64_t	 hi, lo;

	hi = kr_u32(r);
	lo = kr_u32(r);
	return (int64_t)((hi << 32) | lo);
}

static uint64_t
kr_uvar(struct kreader *r, int maxbytes)
{
	uint64_t	 v = 0;
	int		 i;
	uint8_t		 b;

	for (i = 0; i < maxbytes; i++) {
		if (r->err || r->p >= r->end) {
			kr_fail(r);
			return 0;
		}
		b = *r->p++;
		/* The 10th byte of a varlong holds only bit 63. */
		if (i == 9 && b > 1)
			break;
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if ((b & 0x80) == 0)
			return v;
	}
	kr_fail(r);		/* too long, or overflows 64 bits */
	return 0;
}

uint32_t
kr_uvarint_any(struct kreader *r)
{
	uint64_t	 v = kr_uvar(r, 5);

	if (v > UINT32_MAX) {
		kr_fail(r);
		return 0;
	}
	return (uint32_t)v;
}

int64_t
kr_varlong_any(struct kreader *r)
{
	uint64_t	 v = kr_uvar(r, 10);

	return (int64_t)((v >> 1) ^ (~(v & 1) + 1));
}

const uint8_t *
kr_raw(struct kreader *r, size_t n)
{
	return kr_take(r, n);
}

void
kr_skip(struct kreader *r, size_t n)
{
	(void)kr_take(r, n);
}

void
kr_sub(struct kreader *r, size_t n, struct kreader *sub)
{
	const uint8_t	*p = kr_take(r, n);

	if (p == NULL) {
		kr_init(sub, r->end, 0);
		sub->err = 1;
		return;
	}
	kr_init(sub, p, n);
}

static struct kstr
kr_view(struct kreader *r, int64_t len)
{
	struct kstr	 s = { NULL, -1 };

	if (len < 0)
		return s;
	if (r->err || len > INT32_MAX || (uint64_t)len > kr_left(r)) {
		kr_fail(r);
		return s;
	}
	s.p = r->p;
	s.len = (int32_t)len;
	r->p += len;
	return s;
}

struct kstr
kr_str(struct kreader *r, int flexible)
{
	int64_t		 len;

	len = flexible ? (int64_t)kr_uvarint(r) - 1 : kr_i16(r);
	if (len < -1)
		kr_fail(r);
	return kr_view(r, len);
}

struct kstr
kr_bytes(struct kreader *r, int flexible)
{
	int64_t		 len;

	len = flexible ? (int64_t)kr_uvarint(r) - 1 : kr_i32(r);
	if (len < -1)
		kr_fail(r);
	return kr_view(r, len);
}

int32_t
kr_array(struct kreader *r, int flexible, size_t min_elem)
{
	int64_t		 n;

	n = flexible ? (int64_t)kr_uvarint(r) - 1 : kr_i32(r);
	if (r->err)
		return -1;
	if (n < -1 || n > INT32_MAX) {
		kr_fail(r);
		return -1;
	}
	if (n > 0 && (uint64_t)n * (min_elem ? min_elem : 1) > kr_left(r)) {
		kr_fail(r);
		return -1;
	}
	return (int32_t)n;
}

void
kr_tags(struct kreader *r, int flexible)
{
	uint32_t	 n, i, size;

	if (!flexible)
		return;
	n = kr_uvarint(r);
	for (i = 0; i < n && !r->err; i++) {
		(void)kr_uvarint(r);		/* tag */
		size = kr_uvarint(r);
		kr_skip(r, size);
	}
}

void
kw_init(struct kwriter *w, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->max = max;
}

void
kw_free(struct kwriter *w)
{
	if (w->buf != NULL)
		explicit_bzero(w->buf, w->cap);
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

void
kw_reset(struct kwriter *w)
{
	/* Requests may carry credentials (SaslAuthenticate): wipe them. */
	if (w->buf != NULL)
		explicit_bzero(w->buf, w->len);
	w->len = 0;
	w->err = 0;
}

static uint8_t *
kw_room(struct kwriter *w, size_t n)
{
	size_t		 ncap;
	uint8_t		*nbuf;

	if (w->err)
		return NULL;
	if (n > w->max || w->len > w->max - n) {
		w->err = 1;
		return NULL;
	}
	if (w->len + n > w->cap) {
		ncap = w->cap ? w->cap : 256;
		while (ncap < w->len + n) {
			if (ncap > w->max / 2) {
				ncap = w->max;	/* and never overflow */
				break;
			}
			ncap *= 2;
		}
		if (ncap > w->max)
			ncap = w->max;
		/* Not realloc(): the old copy is wiped before it is freed. */
		if ((nbuf = malloc(ncap)) == NULL) {
			w->err = 1;
			return NULL;
		}
		if (w->buf != NULL) {
			memcpy(nbuf, w->buf, w->len);
			explicit_bzero(w->buf, w->cap);
			free(w->buf);
		}
		w->buf = nbuf;
		w->cap = ncap;
	}
	w->len += n;
	return w->buf + w->len - n;
}

void
kw_raw(struct kwriter *w, const void *p, size_t n)
{
	uint8_t		*d;

	if (n == 0)
		return;
	if ((d = kw_room(w, n)) != NULL)
		memcpy(d, p, n);
}

void
kw_i8(struct kwriter *w, int8_t v)
{
	uint8_t		 b = (uint8_t)v;

	kw_raw(w, &b, 1);
}

void
kw_i16(struct kwriter *w, int16_t v)
{
	uint8_t		 b[2];

	b[0] = (uint8_t)((uint16_t)v >> 8);
	b[1] = (uint8_t)v;
	kw_raw(w, b, 2);
}

static void
kw_be32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

void
kw_i32(struct kwriter *w, int32_t v)
{
	uint8_t		 b[4];

	kw_be32(b, (uint32_t)v);
	kw_raw(w, b, 4);
}

void
kw_i64(struct kwriter *w, int64_t v)
{
	kw_i32(w, (int32_t)((uint64_t)v >> 32));
	kw_i32(w, (int32_t)(uint32_t)v);
}

static void
kw_uvar(struct kwriter *w, uint64_t v)
{
	uint8_t		 b[10];
	size_t		 n = 0;

	while (v >= 0x80) {
		b[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b[n++] = (uint8_t)v;
	kw_raw(w, b, n);
}

void
kw_uvarint(struct kwriter *w, uint32_t v)
{
	kw_uvar(w, v);
}

void
kw_varint(struct kwriter *w, int32_t v)
{
	kw_uvar(w, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

void
kw_varlong(struct kwriter *w, int64_t v)
{
	kw_uvar(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void
kw_str(struct kwriter *w, int flexible, const char *s, int32_t len)
{
	if (len < 0) {
		if (flexible)
			kw_uvarint(w, 0);
		else
			kw_i16(w, -1);
		return;
	}
	if (len > INT16_MAX && !flexible) {
		w->err = 1;
		return;
	}
	if (flexible)
		kw_uvarint(w, (uint32_t)len + 1);
	else
		kw_i16(w, (int16_t)len);
	kw_raw(w, s, (size_t)len);
}

void
kw_bytes(struct kwriter *w, int flexible, const void *p, int32_t len)
{
	if (len < 0) {
		if (flexible)
			kw_uvarint(w, 0);
		else
			kw_i32(w, -1);
		return;
	}
	if (flexible)
		kw_uvarint(w, (uint32_t)len + 1);
	else
		kw_i32(w, len);
	kw_raw(w, p, (size_t)len);
}

void
kw_array(struct kwriter *w, int flexible, int32_t count)
{
	if (flexible)
		kw_uvarint(w, count < 0 ? 0 : (uint32_t)count + 1);
	else
		kw_i32(w, count);
}

void
kw_tags(struct kwriter *w, int flexible)
{
	if (flexible)
		kw_uvarint(w, 0);
}

void
kw_put_i32(struct kwriter *w, size_t pos, int32_t v)
{
	if (w->err || pos > w->len || w->len - pos < 4) {
		w->err = 1;
		return;
	}
	kw_be32(w->buf + pos, (uint32_t)v);
}
