/*
 * kbuf.h -- bounded reader and capped writer for the Kafka wire format.
 *
 * The reader is a view over caller memory with a sticky error: every read
 * past the end sets r->err, returns zero and leaves the cursor at the end,
 * so a decoder reads a whole structure and checks the error once.  Nothing
 * here allocates except the writer, which grows up to a fixed maximum.
 */
#ifndef KAFKA_KBUF_H
#define KAFKA_KBUF_H

#include <stddef.h>
#include <stdint.h>

struct kreader {
	const uint8_t	*p;
	const uint8_t	*end;
	int		 err;		/* sticky: 1 after any underflow or bad value */
};

/* A view of a STRING or BYTES field: not NUL-terminated; len -1 means null. */
struct kstr {
	const uint8_t	*p;
	int32_t		 len;
};

void		 kr_init(struct kreader *, const void *, size_t);
size_t		 kr_left(const struct kreader *);
void		 kr_fail(struct kreader *);
int8_t		 kr_i8(struct kreader *);
int16_t		 kr_i16(struct kreader *);
int32_t		 kr_i32(struct kreader *);
int64_t		 kr_i64(struct kreader *);
uint32_t	 kr_u32(struct kreader *);
uint32_t	 kr_uvarint_any(struct kreader *);	/* at most 5 bytes */
int64_t		 kr_varlong_any(struct kreader *);
const uint8_t	*kr_raw(struct kreader *, size_t);	/* view of n bytes */
void		 kr_skip(struct kreader *, size_t);
/* Carve the next n bytes out as an independent reader. */
void		 kr_sub(struct kreader *, size_t, struct kreader *);
/*
 * STRING/NULLABLE_STRING (INT16 length) or, if flexible, COMPACT_STRING
 * (UNSIGNED_VARINT length + 1).
 */
struct kstr	 kr_str(struct kreader *, int flexible);
/* BYTES (INT32 length) or COMPACT_BYTES. */
struct kstr	 kr_bytes(struct kreader *, int flexible);
/*
 * ARRAY count (INT32, -1 null) or COMPACT_ARRAY (varint N+1, 0 null).
 * Returns -1 for null.  A count larger than the bytes left (each element
 * takes at least min_elem bytes) is an error: this bounds any allocation a
 * decoder makes from it.
 */
int32_t		 kr_array(struct kreader *, int flexible, size_t min_elem);
/* Skip a TAG_BUFFER if flexible; no-op otherwise. */
void		 kr_tags(struct kreader *, int flexible);

/*
 * The writer wipes the bytes it held when it is reset, grows or is freed:
 * requests may carry credentials (SaslAuthenticate).
 */
struct kwriter {
	uint8_t		*buf;
	size_t		 len;
	size_t		 cap;
	size_t		 max;		/* never grows past this */
	int		 err;		/* sticky: 1 after allocation failure or max */
};

void		 kw_init(struct kwriter *, size_t max);
void		 kw_free(struct kwriter *);
void		 kw_reset(struct kwriter *);
void		 kw_raw(struct kwriter *, const void *, size_t);
void		 kw_i8(struct kwriter *, int8_t);
void		 kw_i16(struct kwriter *, int16_t);
void		 kw_i32(struct kwriter *, int32_t);
void		 kw_i64(struct kwriter *, int64_t);
void		 kw_uvarint(struct kwriter *, uint32_t);
void		 kw_varint(struct kwriter *, int32_t);
void		 kw_varlong(struct kwriter *, int64_t);
/* len -1 writes a null string; flexible selects the compact form. */
void		 kw_str(struct kwriter *, int flexible, const char *, int32_t len);
void		 kw_bytes(struct kwriter *, int flexible, const void *, int32_t len);
void		 kw_array(struct kwriter *, int flexible, int32_t count);
void		 kw_tags(struct kwriter *, int flexible);	/* empty TAG_BUFFER */
/* Overwrite 4 bytes at pos (a length or count written earlier). */
void		 kw_put_i32(struct kwriter *, size_t pos, int32_t);

/*
 * Varints, inline for the common one- and two-octet cases (record
 * fields are read by the million); any other goes to the out-of-line
 * decoder.
 */
static inline uint32_t
kr_uvarint(struct kreader *r)			/* at most 5 bytes */
{
	uint32_t	 v;

	if (r->err || r->end - r->p < 2)
		return kr_uvarint_any(r);
	if ((v = r->p[0]) < 0x80) {
		r->p++;
		return v;
	}
	if (r->p[1] < 0x80) {
		v = (v & 0x7f) | (uint32_t)r->p[1] << 7;
		r->p += 2;
		return v;
	}
	return kr_uvarint_any(r);
}

static inline int32_t
kr_varint(struct kreader *r)			/* zig-zag, at most 5 bytes */
{
	uint32_t	 v = kr_uvarint(r);

	return (int32_t)((v >> 1) ^ (~(v & 1) + 1));
}

static inline int64_t
kr_varlong(struct kreader *r)			/* zig-zag, at most 10 bytes */
{
	uint64_t	 v;

	if (r->p < r->end && *r->p < 0x80 && !r->err) {
		v = *r->p++;
		return (int64_t)((v >> 1) ^ (~(v & 1) + 1));
	}
	return kr_varlong_any(r);
}

#endif /* KAFKA_KBUF_H */
