/*
 * record.c -- decode the RECORDS field of a Fetch response (pure codec).
 *
 * Record batches (magic 2) and legacy message sets (magic 0 and 1), the
 * four compression codecs, CRC-32C.  The wire format is in
 * kafka-protocol.md section 8, the contract in record.h.
 *
 * CRC-32C checks every batch, so it is on the fetch path's profile: on
 * x86-64 with SSE4.2 (found at run time, the rest of the build needing no
 * -msse4.2) it takes the crc32 instruction, 8 bytes at a time in three
 * interleaved streams; elsewhere slice-by-8 tables.
 *
 * Records below info->next_offset are skipped: it starts at min_offset
 * and moves past each batch consumed, so a fetch from the middle of a
 * batch delivers nothing below the requested offset, and overlapping
 * batches (never sent by a sane broker) deliver no offset twice and
 * nothing out of order.
 *
 * Every batch is read in two passes over its records: the first checks
 * them all, the second delivers.  A batch is therefore delivered whole or
 * not at all (unless the callback stops), and an error never comes after
 * part of the same batch was delivered.  Parsing a record twice costs a
 * few varints; it allocates nothing.
 *
 * READ_COMMITTED (kafka_records_decode_txn()): the aborted list is copied
 * and sorted by first_offset, and the distinct producer ids it names are
 * put in a table sorted by id with an "aborted now" flag each, so that
 * each batch costs a binary search whatever the list's size.  Aborted
 * batches are skipped on their header alone, undecompressed; only the
 * first record of a control batch of an aborted producer is parsed.
 */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZLIB_CONST
#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CRC32C_SSE42		1
#include <nmmintrin.h>
#endif

#include "kafka/kbuf.h"
#include "kafka/record.h"

#define LOG_OVERHEAD		12	/* baseOffset, batchLength */
#define MAGIC_OFFSET		16	/* magic INT8, in every format */
#define V2_ATTR_OFFSET		21	/* the CRC covers attributes..end */
#define V2_OVERHEAD		61	/* RECORD_BATCH_OVERHEAD */
#define V0_OVERHEAD		14	/* crc, magic, attributes, key and value
					   lengths: RECORD_OVERHEAD_V0 */
#define V1_OVERHEAD		22	/* the same plus timestamp INT64 */

#define ATTR_CODEC		0x07	/* compression codec */
#define ATTR_LOG_APPEND_TIME	0x08	/* timestamp type LogAppendTime */
#define ATTR_TRANSACTIONAL	0x10	/* transactional batch (magic 2) */
#define ATTR_CONTROL		0x20	/* control batch (magic 2) */

#define CODEC_NONE		0
#define CODEC_GZIP		1
#define CODEC_SNAPPY		2
#define CODEC_LZ4		3
#define CODEC_ZSTD		4

#define CONTROL_ABORT		0	/* control record key type */
#define CONTROL_KEY_SIZE	4	/* version INT16, type INT16 */

#define ARENA_DEFAULT_MAX	((size_t)64 * 1024 * 1024)
#define OUT_MIN			((size_t)64 * 1024)	/* first output buffer
							   of unknown size */
/* The base offset leaves room for any offset delta plus one. */
#define BASE_OFFSET_MAX		(INT64_MAX - INT32_MAX - 1)

/*
 * Bytes per stream of the hardware CRC's three interleaved streams: the
 * crc32 instruction has a latency of three cycles and a throughput of one,
 * so three independent streams keep it busy; the three CRCs are then
 * combined with a table that moves a CRC past so many zero bytes.  LONG
 * streams for big buffers (the combine costs two shifts per 24 KiB),
 * SHORT ones for the rest down to 768 bytes.
 */
#define CRC32C_LONG		8192
#define CRC32C_SHORT		256

struct kafka_arena_buf {
	struct kafka_arena_buf	*next;
	size_t			 cap;		/* bytes in data */
	uint8_t			 data[];
};

/*
 * A producer id of the aborted list; aborted: the current position is
 * inside one of its aborted transactions.
 */
struct txn_pid {
	int64_t		 producer_id;
	int		 aborted;
};

/* READ_COMMITTED state: empty (n 0) for READ_UNCOMMITTED. */
struct txn {
	struct kafka_aborted_txn *list;	/* sorted by first_offset */
	size_t		 n;
	size_t		 next;		/* list[next] not reached yet */
	struct txn_pid	*pids;		/* distinct, sorted by producer_id */
	size_t		 npids;
};

/* One kafka_records_decode_txn() call. */
struct rdec {
	struct kafka_arena		*arena;
	kafka_record_cb			 cb;
	void				*arg;
	struct kafka_records_info	*info;
	int64_t				 batch;	/* base offset of the
						   batch being decoded */
	z_stream			 zs;
	int				 zs_init; /* zs needs inflateEnd() */
	LZ4F_dctx			*lz4;	/* created on first use */
	ZSTD_DCtx			*zstd;	/* created on first use */
	struct txn			 txn;
};

/* Decompressed output: always the head buffer of the arena. */
struct obuf {
	uint8_t		*p;		/* the head buffer's data */
	size_t		 len;		/* bytes written */
	size_t		 cap;		/* bytes allocated */
	int		 open;		/* p is the arena's head */
};

/* The fields of a magic 2 batch header that records need. */
struct v2batch {
	int64_t		 base;		/* baseOffset */
	int32_t		 last_delta;	/* lastOffsetDelta */
	int64_t		 base_ts;	/* baseTimestamp */
	int64_t		 max_ts;	/* maxTimestamp */
	int32_t		 count;		/* recordsCount */
	int		 log_append;	/* every timestamp is maxTimestamp */
};

/* A legacy (magic 0 or 1) message. */
struct legacy_msg {
	int64_t		 offset;
	int		 magic;
	int		 attr;
	int64_t		 timestamp;	/* -1 for magic 0 */
	struct kstr	 key;
	struct kstr	 value;
};

static void	 crc32c_init(void);
static uint32_t	 le32(const uint8_t *);
static uint32_t	 crc32c_sw(uint32_t, const void *, size_t);
#ifdef CRC32C_SSE42
static void	 crc32c_zeros(uint32_t[4][256], size_t);
static uint32_t	 crc32c_shift(const uint32_t[4][256], uint32_t);
static uint64_t	 le64(const uint8_t *);
static uint32_t	 crc32c_sse42(uint32_t, const void *, size_t)
		    __attribute__((target("sse4.2")));
#endif
static int	 rd_err(struct rdec *, enum kafka_records_err, const char *,
		    ...) __attribute__((format(printf, 3, 4)));
static size_t	 arena_max(const struct kafka_arena *);
static size_t	 arena_room(const struct kafka_arena *);
static void	 arena_pop(struct kafka_arena *);
static int	 arena_resize(struct kafka_arena *, size_t);
static size_t	 out_hint(struct rdec *, size_t);
static int	 ob_open(struct rdec *, struct obuf *, size_t);
static int	 ob_grow(struct rdec *, struct obuf *);
static int	 dec_gzip(struct rdec *, const uint8_t *, size_t,
		    struct obuf *);
static int	 dec_snappy(struct rdec *, const uint8_t *, size_t,
		    struct obuf *);
static int	 dec_xerial(struct rdec *, const uint8_t *, size_t,
		    struct obuf *);
static uint32_t	 xxh32_small(const uint8_t *, size_t);
static int	 dec_lz4(struct rdec *, const uint8_t *, size_t, struct obuf *,
		    int);
static int	 dec_zstd(struct rdec *, const uint8_t *, size_t,
		    struct obuf *);
static int	 decompress(struct rdec *, int, int, const uint8_t *, size_t,
		    struct obuf *);
static int	 txn_cmp_offset(const void *, const void *);
static int	 txn_cmp_pid(const void *, const void *);
static int	 txn_init(struct txn *, const struct kafka_aborted_txn *,
		    size_t);
static void	 txn_free(struct txn *);
static struct txn_pid *txn_find(const struct txn *, int64_t);
static void	 txn_reach(struct txn *, int64_t);
static int	 control_abort(struct rdec *, const struct v2batch *, int,
		    const uint8_t *, size_t);
static void	 advance(struct rdec *, int64_t);
static int	 deliver(struct rdec *, const struct kafka_record *);
static const char *record_next(struct kreader *, struct kafka_record *,
		    int32_t *, int64_t *);
static int	 v2_records(struct rdec *, const struct v2batch *,
		    const uint8_t *, size_t, int);
static int	 decode_v2(struct rdec *, const uint8_t *, size_t);
static int	 legacy_parse(struct rdec *, const uint8_t *, size_t, int,
		    struct legacy_msg *);
static int	 legacy_inner(struct rdec *, const struct legacy_msg *,
		    const uint8_t *, size_t, int, int64_t *);
static int	 legacy_wrapper(struct rdec *, const struct legacy_msg *);
static int	 decode_legacy(struct rdec *, const uint8_t *, size_t);

static uint32_t		 crc32c_tab[8][256];
#ifdef CRC32C_SSE42
static uint32_t		 crc32c_long[4][256];	/* past CRC32C_LONG zeros */
static uint32_t		 crc32c_short[4][256];	/* past CRC32C_SHORT zeros */
#endif
static kafka_crc32c_fn	 crc32c_best;		/* what kafka_crc32c() runs */
static pthread_once_t	 crc32c_once = PTHREAD_ONCE_INIT;

static const uint8_t	 xerial_magic[8] = {
	0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0
};

/*
 * CRC-32C, reflected polynomial 0x82F63B78.  Both implementations work on
 * the bare CRC register; kafka_crc32c()'s crc in and out is its complement
 * (zlib's convention: 0 to start, a result to continue).
 *
 * The tables are made here, once: table k advances the CRC of one byte by
 * k more zero bytes (slice-by-8), and where the crc32 instruction is found,
 * the shift tables of the interleaved streams.
 */
static void
crc32c_init(void)
{
	uint32_t	 c;
	int		 i, j;

	for (i = 0; i < 256; i++) {
		c = (uint32_t)i;
		for (j = 0; j < 8; j++)
			c = (c >> 1) ^ (0x82F63B78U & (0U - (c & 1)));
		crc32c_tab[0][i] = c;
	}
	for (i = 0; i < 256; i++) {
		c = crc32c_tab[0][i];
		for (j = 1; j < 8; j++) {
			c = (c >> 8) ^ crc32c_tab[0][c & 0xff];
			crc32c_tab[j][i] = c;
		}
	}
	crc32c_best = crc32c_sw;
#ifdef CRC32C_SSE42
	if (__builtin_cpu_supports("sse4.2")) {
		crc32c_zeros(crc32c_long, CRC32C_LONG);
		crc32c_zeros(crc32c_short, CRC32C_SHORT);
		crc32c_best = crc32c_sse42;
	}
#endif
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
	    ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/*
 * Software: slice-by-8, eight lookups for eight bytes and no loop-carried
 * shift chain.  Any CPU, any byte order.
 */
static uint32_t
crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	const uint32_t	(*t)[256] = (const uint32_t (*)[256])crc32c_tab;
	const uint8_t	*p = buf;
	uint32_t	 lo, hi;

	crc = ~crc;
	while (len >= 8) {
		lo = crc ^ le32(p);
		hi = le32(p + 4);
		crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^
		    t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
		    t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^
		    t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

#ifdef CRC32C_SSE42
/*
 * Fill z so that crc32c_shift(z, c) is the register c run over n zero
 * bytes.  That map is linear over GF(2), so it is the XOR of its values on
 * the bits set in c; each bit's value is found by running it through n
 * zero bytes with the byte table (32 x n lookups, once).
 */
static void
crc32c_zeros(uint32_t z[4][256], size_t n)
{
	uint32_t	 bit[32], c;
	size_t		 k;
	int		 b, i, j;

	for (b = 0; b < 32; b++) {
		c = 1U << b;
		for (k = 0; k < n; k++)
			c = (c >> 8) ^ crc32c_tab[0][c & 0xff];
		bit[b] = c;
	}
	for (b = 0; b < 4; b++)
		for (i = 0; i < 256; i++) {
			c = 0;
			for (j = 0; j < 8; j++)
				if (i & (1 << j))
					c ^= bit[8 * b + j];
			z[b][i] = c;
		}
}

static uint32_t
crc32c_shift(const uint32_t z[4][256], uint32_t c)
{
	return z[0][c & 0xff] ^ z[1][(c >> 8) & 0xff] ^
	    z[2][(c >> 16) & 0xff] ^ z[3][c >> 24];
}

/* An unaligned little-endian load (x86 is little-endian: one mov). */
static uint64_t
le64(const uint8_t *p)
{
	uint64_t	 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * SSE4.2's crc32 instruction, 8 bytes at a time once p is aligned.  Above
 * 3 x CRC32C_SHORT bytes, three streams run side by side over three
 * consecutive blocks, the second and third from a zero register; then
 * crc(A B) = shift(crc(A), |B|) ^ crc0(B) joins them (crc0: from zero).
 */
static uint32_t
crc32c_sse42(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t	*p = buf, *end;
	uint64_t	 c0, c1, c2;

	c0 = (uint32_t)~crc;
	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		c0 = _mm_crc32_u8((uint32_t)c0, *p++);
		len--;
	}
	while (len >= 3 * CRC32C_LONG) {
		c1 = c2 = 0;
		for (end = p + CRC32C_LONG; p < end; p += 8) {
			c0 = _mm_crc32_u64(c0, le64(p));
			c1 = _mm_crc32_u64(c1, le64(p + CRC32C_LONG));
			c2 = _mm_crc32_u64(c2, le64(p + 2 * CRC32C_LONG));
		}
		c0 = crc32c_shift(crc32c_long, (uint32_t)c0) ^ c1;
		c0 = crc32c_shift(crc32c_long, (uint32_t)c0) ^ c2;
		p += 2 * CRC32C_LONG;
		len -= 3 * CRC32C_LONG;
	}
	while (len >= 3 * CRC32C_SHORT) {
		c1 = c2 = 0;
		for (end = p + CRC32C_SHORT; p < end; p += 8) {
			c0 = _mm_crc32_u64(c0, le64(p));
			c1 = _mm_crc32_u64(c1, le64(p + CRC32C_SHORT));
			c2 = _mm_crc32_u64(c2, le64(p + 2 * CRC32C_SHORT));
		}
		c0 = crc32c_shift(crc32c_short, (uint32_t)c0) ^ c1;
		c0 = crc32c_shift(crc32c_short, (uint32_t)c0) ^ c2;
		p += 2 * CRC32C_SHORT;
		len -= 3 * CRC32C_SHORT;
	}
	for (; len >= 8; len -= 8, p += 8)
		c0 = _mm_crc32_u64(c0, le64(p));
	while (len-- > 0)
		c0 = _mm_crc32_u8((uint32_t)c0, *p++);
	return ~(uint32_t)c0;
}
#endif /* CRC32C_SSE42 */

kafka_crc32c_fn
kafka_crc32c_impl(enum kafka_crc32c_which which)
{
	(void)pthread_once(&crc32c_once, crc32c_init);
	switch (which) {
	case KAFKA_CRC32C_BEST:
		return crc32c_best;
	case KAFKA_CRC32C_SW:
		return crc32c_sw;
	case KAFKA_CRC32C_HW:
		return crc32c_best != crc32c_sw ? crc32c_best : NULL;
	}
	return NULL;
}

uint32_t
kafka_crc32c(uint32_t crc, const void *buf, size_t len)
{
	(void)pthread_once(&crc32c_once, crc32c_init);
	return crc32c_best(crc, buf, len);
}

/* Set the error and its message, prefixed with the batch; returns -1. */
static int
rd_err(struct rdec *d, enum kafka_records_err err, const char *fmt, ...)
{
	struct kafka_records_info	*info = d->info;
	va_list				 ap;
	int				 n;

	info->err = err;
	n = snprintf(info->errmsg, sizeof(info->errmsg),
	    "batch at offset %lld: ", (long long)d->batch);
	if (n < 0 || (size_t)n >= sizeof(info->errmsg))
		return -1;
	va_start(ap, fmt);
	(void)vsnprintf(info->errmsg + n, sizeof(info->errmsg) - (size_t)n,
	    fmt, ap);
	va_end(ap);
	return -1;
}

void
kafka_arena_init(struct kafka_arena *a, size_t max)
{
	a->head = NULL;
	a->total = 0;
	a->max = max;
}

void
kafka_arena_free(struct kafka_arena *a)
{
	while (a->head != NULL)
		arena_pop(a);
	a->total = 0;
}

static size_t
arena_max(const struct kafka_arena *a)
{
	return a->max != 0 ? a->max : ARENA_DEFAULT_MAX;
}

static size_t
arena_room(const struct kafka_arena *a)
{
	size_t		 max = arena_max(a);

	return a->total < max ? max - a->total : 0;
}

static void
arena_pop(struct kafka_arena *a)
{
	struct kafka_arena_buf	*b = a->head;

	a->head = b->next;
	a->total -= b->cap;
	free(b);
}

/* Resize the head buffer; the caller checked the cap. */
static int
arena_resize(struct kafka_arena *a, size_t cap)
{
	struct kafka_arena_buf	*b;

	if ((b = realloc(a->head, sizeof(*b) + cap)) == NULL)
		return -1;
	a->total = a->total - b->cap + cap;
	b->cap = cap;
	a->head = b;
	return 0;
}

/* A first output size for len compressed bytes of unknown ratio. */
static size_t
out_hint(struct rdec *d, size_t len)
{
	size_t		 room = arena_room(d->arena), n;

	n = len < room / 4 ? len * 4 : room;
	if (n < OUT_MIN)
		n = OUT_MIN;
	return n < room ? n : room;
}

/* Open an output buffer of cap bytes at the head of the arena. */
static int
ob_open(struct rdec *d, struct obuf *o, size_t cap)
{
	struct kafka_arena	*a = d->arena;
	struct kafka_arena_buf	*b;

	if (cap > arena_room(a))
		return rd_err(d, KAFKA_RECORDS_ETOOBIG,
		    "decompressed size %zu over the arena cap %zu",
		    cap, arena_max(a));
	if ((b = malloc(sizeof(*b) + cap)) == NULL)
		return rd_err(d, KAFKA_RECORDS_ENOMEM,
		    "cannot allocate %zu bytes", cap);
	b->next = a->head;
	b->cap = cap;
	a->head = b;
	a->total += cap;
	o->p = b->data;
	o->len = 0;
	o->cap = cap;
	o->open = 1;
	return 0;
}

/* Double the output buffer, up to what the arena allows. */
static int
ob_grow(struct rdec *d, struct obuf *o)
{
	struct kafka_arena	*a = d->arena;
	size_t			 room = arena_room(a), add;

	if (room == 0)
		return rd_err(d, KAFKA_RECORDS_ETOOBIG,
		    "decompressed data over the arena cap %zu", arena_max(a));
	add = o->cap > OUT_MIN ? o->cap : OUT_MIN;
	if (add > room)
		add = room;
	if (arena_resize(a, o->cap + add) == -1)
		return rd_err(d, KAFKA_RECORDS_ENOMEM,
		    "cannot allocate %zu bytes", o->cap + add);
	o->p = a->head->data;
	o->cap += add;
	return 0;
}

static int
dec_gzip(struct rdec *d, const uint8_t *src, size_t len, struct obuf *o)
{
	z_stream	*zs = &d->zs;
	size_t		 avail;
	int		 zr;

	if (!d->zs_init) {
		memset(zs, 0, sizeof(*zs));
		/* 32: accept the gzip header (and a zlib one). */
		if (inflateInit2(zs, 15 + 32) != Z_OK)
			return rd_err(d, KAFKA_RECORDS_ENOMEM,
			    "gzip: inflateInit2 failed");
		d->zs_init = 1;
	} else if (inflateReset(zs) != Z_OK)
		return rd_err(d, KAFKA_RECORDS_ECODEC,
		    "gzip: inflateReset failed");
	if (ob_open(d, o, out_hint(d, len)) == -1)
		return -1;
	zs->next_in = src;
	zs->avail_in = (uInt)len;	/* < 2^31: bounded by batchLength */
	for (;;) {
		if (o->len == o->cap && ob_grow(d, o) == -1)
			return -1;
		avail = o->cap - o->len;
		if (avail > UINT_MAX)
			avail = UINT_MAX;
		zs->next_out = o->p + o->len;
		zs->avail_out = (uInt)avail;
		zr = inflate(zs, Z_NO_FLUSH);
		o->len += avail - zs->avail_out;
		if (zr == Z_STREAM_END) {
			if (zs->avail_in == 0)
				return 0;
			/* Concatenated members, as GZIPInputStream reads. */
			if (inflateReset(zs) != Z_OK)
				return rd_err(d, KAFKA_RECORDS_ECODEC,
				    "gzip: inflateReset failed");
			continue;
		}
		if (zr == Z_BUF_ERROR && zs->avail_out != 0)
			return rd_err(d, KAFKA_RECORDS_ECODEC,
			    "gzip: truncated stream");
		if (zr != Z_OK && zr != Z_BUF_ERROR)
			return rd_err(d, KAFKA_RECORDS_ECODEC, "gzip: %s",
			    zs->msg != NULL ? zs->msg : "inflate failed");
	}
}

/*
 * Java writes xerial snappy-java framing, librdkafka raw snappy; read
 * both (kafka-protocol.md 8c).
 */
static int
dec_snappy(struct rdec *d, const uint8_t *src, size_t len, struct obuf *o)
{
	size_t		 n, olen;

	if (len >= 16 && memcmp(src, xerial_magic, sizeof(xerial_magic)) == 0)
		return dec_xerial(d, src + 16, len - 16, o);
	if (snappy_uncompressed_length((const char *)src, len, &n) !=
	    SNAPPY_OK)
		return rd_err(d, KAFKA_RECORDS_ECODEC,
		    "snappy: bad length preamble");
	if (ob_open(d, o, n) == -1)
		return -1;
	olen = n;
	if (snappy_uncompress((const char *)src, len, (char *)o->p, &olen) !=
	    SNAPPY_OK || olen != n)
		return rd_err(d, KAFKA_RECORDS_ECODEC, "snappy: corrupt data");
	o->len = olen;
	return 0;
}

/*
 * The blocks after the 16-byte xerial header: INT32 length, raw snappy.
 * Sum the sizes first so the output is allocated once, exactly.
 */
static int
dec_xerial(struct rdec *d, const uint8_t *src, size_t len, struct obuf *o)
{
	struct kreader	 r;
	const uint8_t	*p;
	size_t		 room = arena_room(d->arena), total = 0, n, olen;
	int32_t		 blen;
	int		 pass, i;

	for (pass = 0; pass < 2; pass++) {
		kr_init(&r, src, len);
		for (i = 0; kr_left(&r) > 0; i++) {
			blen = kr_i32(&r);
			if (r.err || blen <= 0 || (size_t)blen > kr_left(&r))
				return rd_err(d, KAFKA_RECORDS_ECODEC,
				    "snappy (xerial): block %d: bad length %d",
				    i, blen);
			p = kr_raw(&r, (size_t)blen);
			if (snappy_uncompressed_length((const char *)p,
			    (size_t)blen, &n) != SNAPPY_OK)
				return rd_err(d, KAFKA_RECORDS_ECODEC,
				    "snappy (xerial): block %d: bad length "
				    "preamble", i);
			if (pass == 0) {
				if (n > room - total)
					return rd_err(d, KAFKA_RECORDS_ETOOBIG,
					    "decompressed size over the arena "
					    "cap %zu", arena_max(d->arena));
				total += n;
				continue;
			}
			olen = o->cap - o->len;
			if (n > olen || snappy_uncompress((const char *)p,
			    (size_t)blen, (char *)o->p + o->len, &olen) !=
			    SNAPPY_OK || olen != n)
				return rd_err(d, KAFKA_RECORDS_ECODEC,
				    "snappy (xerial): block %d: corrupt data",
				    i);
			o->len += olen;
		}
		if (pass == 0 && ob_open(d, o, total) == -1)
			return -1;
	}
	return 0;
}

/* XXH32 with seed 0 of fewer than 16 bytes (an LZ4 frame descriptor). */
static uint32_t
xxh32_small(const uint8_t *p, size_t len)
{
	const uint32_t	 p1 = 2654435761U, p2 = 2246822519U,
			 p3 = 3266489917U, p4 = 668265263U, p5 = 374761393U;
	uint32_t	 h = p5 + (uint32_t)len;

	for (; len >= 4; p += 4, len -= 4) {
		h += le32(p) * p3;
		h = ((h << 17) | (h >> 15)) * p4;
	}
	for (; len > 0; p++, len--) {
		h += *p * p5;
		h = ((h << 11) | (h >> 21)) * p1;
	}
	h ^= h >> 15;
	h *= p2;
	h ^= h >> 13;
	h *= p3;
	h ^= h >> 16;
	return h;
}

/*
 * LZ4 frame format.  For magic 0 (fixhc), the header checksum is not
 * verified: Kafka 0.8/0.9 computed it over the magic number too
 * (KAFKA-3160), so it is recomputed over the descriptor and the header
 * fed from a patched copy.
 */
static int
dec_lz4(struct rdec *d, const uint8_t *src, size_t len, struct obuf *o,
    int fixhc)
{
	LZ4F_decompressOptions_t opt;
	uint8_t		 hdr[19];
	size_t		 pos = 0, hlen, dsz, ssz, hint;

	memset(&opt, 0, sizeof(opt));
	if (d->lz4 == NULL) {
		if (LZ4F_isError(LZ4F_createDecompressionContext(&d->lz4,
		    LZ4F_VERSION))) {
			d->lz4 = NULL;
			return rd_err(d, KAFKA_RECORDS_ENOMEM,
			    "lz4: cannot create a context");
		}
	} else
		LZ4F_resetDecompressionContext(d->lz4);
	if (ob_open(d, o, out_hint(d, len)) == -1)
		return -1;
	if (fixhc) {
		/* magic, FLG, BD, [content size 8], [dictID 4], HC */
		hlen = len > 4 ? 7 + ((src[4] & 0x08) ? 8 : 0) +
		    ((src[4] & 0x01) ? 4 : 0) : 7;
		if (len < hlen)
			return rd_err(d, KAFKA_RECORDS_ECODEC,
			    "lz4: truncated frame header");
		memcpy(hdr, src, hlen);
		hdr[hlen - 1] = (uint8_t)(xxh32_small(hdr + 4, hlen - 5) >> 8);
		dsz = 0;
		ssz = hlen;
		hint = LZ4F_decompress(d->lz4, o->p, &dsz, hdr, &ssz, &opt);
		if (LZ4F_isError(hint) || ssz != hlen)
			return rd_err(d, KAFKA_RECORDS_ECODEC,
			    "lz4: bad frame header");
		pos = hlen;
	}
	for (;;) {
		if (o->len == o->cap && ob_grow(d, o) == -1)
			return -1;
		dsz = o->cap - o->len;
		ssz = len - pos;
		hint = LZ4F_decompress(d->lz4, o->p + o->len, &dsz, src + pos,
		    &ssz, &opt);
		if (LZ4F_isError(hint))
			return rd_err(d, KAFKA_RECORDS_ECODEC, "lz4: %s",
			    LZ4F_getErrorName(hint));
		pos += ssz;
		o->len += dsz;
		/* 0: a frame ended; another may follow. */
		if (hint == 0 && pos == len)
			return 0;
		if (ssz == 0 && dsz == 0 && o->len < o->cap)
			return rd_err(d, KAFKA_RECORDS_ECODEC,
			    "lz4: truncated frame");
	}
}

static int
dec_zstd(struct rdec *d, const uint8_t *src, size_t len, struct obuf *o)
{
	ZSTD_inBuffer		 in;
	ZSTD_outBuffer		 out;
	unsigned long long	 fcs;
	size_t			 zr, hint, inpos;

	if (d->zstd == NULL && (d->zstd = ZSTD_createDCtx()) == NULL)
		return rd_err(d, KAFKA_RECORDS_ENOMEM,
		    "zstd: cannot create a context");
	fcs = ZSTD_getFrameContentSize(src, len);
	if (fcs == ZSTD_CONTENTSIZE_ERROR)
		return rd_err(d, KAFKA_RECORDS_ECODEC,
		    "zstd: bad frame header");
	hint = out_hint(d, len);
	if (fcs != ZSTD_CONTENTSIZE_UNKNOWN) {
		if (fcs > arena_room(d->arena))
			return rd_err(d, KAFKA_RECORDS_ETOOBIG,
			    "zstd: content size %llu over the arena cap %zu",
			    fcs, arena_max(d->arena));
		hint = (size_t)fcs;
		if (ZSTD_findFrameCompressedSize(src, len) == len) {
			/* One frame of known size: in one go. */
			if (ob_open(d, o, hint) == -1)
				return -1;
			zr = ZSTD_decompressDCtx(d->zstd, o->p, o->cap, src,
			    len);
			if (ZSTD_isError(zr) || zr != hint)
				return rd_err(d, KAFKA_RECORDS_ECODEC,
				    "zstd: %s", ZSTD_isError(zr) ?
				    ZSTD_getErrorName(zr) : "short frame");
			o->len = zr;
			return 0;
		}
	}
	/* Java's zstd-jni streams: the content size is unknown. */
	(void)ZSTD_DCtx_reset(d->zstd, ZSTD_reset_session_only);
	if (ob_open(d, o, hint) == -1)
		return -1;
	in.src = src;
	in.size = len;
	in.pos = 0;
	for (;;) {
		if (o->len == o->cap && ob_grow(d, o) == -1)
			return -1;
		out.dst = o->p;
		out.size = o->cap;
		out.pos = o->len;
		inpos = in.pos;
		zr = ZSTD_decompressStream(d->zstd, &out, &in);
		if (ZSTD_isError(zr))
			return rd_err(d, KAFKA_RECORDS_ECODEC, "zstd: %s",
			    ZSTD_getErrorName(zr));
		if (zr == 0 && in.pos == in.size) {
			o->len = out.pos;
			return 0;
		}
		if (in.pos == inpos && out.pos == o->len && out.pos < o->cap)
			return rd_err(d, KAFKA_RECORDS_ECODEC,
			    "zstd: truncated frame");
		o->len = out.pos;
	}
}

/*
 * Decompress into a new arena buffer, trimmed to its length.  On error
 * the buffer is released.
 */
static int
decompress(struct rdec *d, int codec, int magic, const uint8_t *src,
    size_t len, struct obuf *o)
{
	int		 rc;

	memset(o, 0, sizeof(*o));
	switch (codec) {
	case CODEC_GZIP:
		rc = dec_gzip(d, src, len, o);
		break;
	case CODEC_SNAPPY:
		rc = dec_snappy(d, src, len, o);
		break;
	case CODEC_LZ4:
		rc = dec_lz4(d, src, len, o, magic == 0);
		break;
	case CODEC_ZSTD:
		/* zstd exists for magic 2 only (KIP-110). */
		if (magic != 2)
			return rd_err(d, KAFKA_RECORDS_ECODEC,
			    "unknown compression codec %d for magic %d", codec,
			    magic);
		rc = dec_zstd(d, src, len, o);
		break;
	default:
		return rd_err(d, KAFKA_RECORDS_ECODEC,
		    "unknown compression codec %d for magic %d", codec, magic);
	}
	if (rc == -1) {
		if (o->open)
			arena_pop(d->arena);
		o->open = 0;
		return -1;
	}
	/* Give back the unused tail; on failure the buffer stays as is. */
	if (o->len < o->cap && arena_resize(d->arena, o->len) == 0) {
		o->p = d->arena->head->data;
		o->cap = o->len;
	}
	return 0;
}

static int
txn_cmp_offset(const void *a, const void *b)
{
	const struct kafka_aborted_txn	*x = a, *y = b;

	if (x->first_offset != y->first_offset)
		return x->first_offset < y->first_offset ? -1 : 1;
	if (x->producer_id != y->producer_id)
		return x->producer_id < y->producer_id ? -1 : 1;
	return 0;
}

static int
txn_cmp_pid(const void *a, const void *b)
{
	const struct txn_pid	*x = a, *y = b;

	if (x->producer_id != y->producer_id)
		return x->producer_id < y->producer_id ? -1 : 1;
	return 0;
}

/*
 * Copy and sort the aborted list, and build the table of its producer
 * ids.  Both are n entries at most.  Returns 0 or -1 (out of memory).
 */
static int
txn_init(struct txn *t, const struct kafka_aborted_txn *list, size_t n)
{
	size_t		 i, j;

	memset(t, 0, sizeof(*t));
	if (list == NULL || n == 0)
		return 0;
	if (n > SIZE_MAX / sizeof(*t->list) ||
	    (t->list = malloc(n * sizeof(*t->list))) == NULL ||
	    (t->pids = malloc(n * sizeof(*t->pids))) == NULL) {
		txn_free(t);
		return -1;
	}
	memcpy(t->list, list, n * sizeof(*t->list));
	t->n = n;
	qsort(t->list, n, sizeof(*t->list), txn_cmp_offset);
	for (i = 0; i < n; i++) {
		t->pids[i].producer_id = list[i].producer_id;
		t->pids[i].aborted = 0;
	}
	qsort(t->pids, n, sizeof(*t->pids), txn_cmp_pid);
	for (i = j = 0; i < n; i++)
		if (j == 0 ||
		    t->pids[i].producer_id != t->pids[j - 1].producer_id)
			t->pids[j++] = t->pids[i];
	t->npids = j;
	return 0;
}

static void
txn_free(struct txn *t)
{
	free(t->list);
	free(t->pids);
	memset(t, 0, sizeof(*t));
}

/* The table entry of a producer id, or NULL if the list never names it. */
static struct txn_pid *
txn_find(const struct txn *t, int64_t producer_id)
{
	struct txn_pid	 key;

	if (t->npids == 0)
		return NULL;
	key.producer_id = producer_id;
	key.aborted = 0;
	return bsearch(&key, t->pids, t->npids, sizeof(*t->pids),
	    txn_cmp_pid);
}

/*
 * Move to a batch ending at offset last: every aborted transaction that
 * starts at or before it has begun (consumeAbortedTransactionsUpTo).
 */
static void
txn_reach(struct txn *t, int64_t last)
{
	struct txn_pid	*tp;

	for (; t->next < t->n && t->list[t->next].first_offset <= last;
	    t->next++)
		if ((tp = txn_find(t, t->list[t->next].producer_id)) != NULL)
			tp->aborted = 1;
}

/*
 * Whether a control batch is an ABORT marker: the type in the key of its
 * first record (ControlRecordType.parse).  The batch's records section is
 * p, len (compressed per attr).  Returns 1 (ABORT), 0 (COMMIT, another
 * type or no records) or -1.
 */
static int
control_abort(struct rdec *d, const struct v2batch *b, int attr,
    const uint8_t *p, size_t len)
{
	struct kreader		 r, k;
	struct kafka_record	 rec;
	struct obuf		 o;
	const char		*why;
	int64_t			 tsdelta;
	int32_t			 delta;
	int16_t			 version, type = -1;

	if (b->count == 0)
		return 0;
	o.open = 0;
	if ((attr & ATTR_CODEC) != CODEC_NONE) {
		if (decompress(d, attr & ATTR_CODEC, 2, p, len, &o) == -1)
			return -1;
		p = o.p;
		len = o.len;
	}
	kr_init(&r, p, len);
	if ((why = record_next(&r, &rec, &delta, &tsdelta)) == NULL) {
		if (rec.key_len < CONTROL_KEY_SIZE)
			why = "key shorter than 4 bytes";
		else {
			kr_init(&k, rec.key, (size_t)rec.key_len);
			version = kr_i16(&k);
			type = kr_i16(&k);
			if (version < 0)
				why = "negative key version";
		}
	}
	if (o.open)
		arena_pop(d->arena);
	if (why != NULL)
		return rd_err(d, KAFKA_RECORDS_ECORRUPT,
		    "control record: %s", why);
	return type == CONTROL_ABORT;
}

static void
advance(struct rdec *d, int64_t next)
{
	if (next > d->info->next_offset)
		d->info->next_offset = next;
}

/* Returns 1 when the callback asks to stop. */
static int
deliver(struct rdec *d, const struct kafka_record *rec)
{
	d->info->delivered++;
	if (d->cb(d->arg, rec) != 0) {
		d->info->stopped = 1;
		d->info->next_offset = rec->offset + 1;
		return 1;
	}
	return 0;
}

/*
 * Parse the next record of a magic 2 batch in its own length-bounded
 * reader (DefaultRecord.readFrom).  Fills everything but offset and
 * timestamp.  Returns NULL, or what is wrong.
 */
static const char *
record_next(struct kreader *r, struct kafka_record *rec, int32_t *delta,
    int64_t *tsdelta)
{
	struct kreader	 rr;
	int32_t		 len, klen, vlen, hcount, hk, hv, i;

	len = kr_varint(r);
	if (r->err)
		return "bad length varint";
	if (len < 0)
		return "negative length";
	if ((size_t)len > kr_left(r))
		return "length exceeds the batch";
	kr_sub(r, (size_t)len, &rr);
	(void)kr_i8(&rr);			/* attributes: unused */
	*tsdelta = kr_varlong(&rr);
	*delta = kr_varint(&rr);
	klen = kr_varint(&rr);
	if (klen < -1)
		return "bad key length";
	rec->key = klen >= 0 ? kr_raw(&rr, (size_t)klen) : NULL;
	rec->key_len = klen;
	vlen = kr_varint(&rr);
	if (vlen < -1)
		return "bad value length";
	rec->value = vlen >= 0 ? kr_raw(&rr, (size_t)vlen) : NULL;
	rec->value_len = vlen;
	hcount = kr_varint(&rr);
	if (hcount < 0)
		return "negative header count";
	rec->headers = rr.p;
	for (i = 0; i < hcount && !rr.err; i++) {
		hk = kr_varint(&rr);
		if (hk < 0)
			return "bad header key length";
		kr_skip(&rr, (size_t)hk);
		hv = kr_varint(&rr);
		if (hv < -1)
			return "bad header value length";
		if (hv > 0)
			kr_skip(&rr, (size_t)hv);
	}
	if (rr.err)
		return "fields overrun the record length";
	if (kr_left(&rr) != 0)
		return "bytes left after the headers";
	rec->header_count = (uint32_t)hcount;
	rec->headers_len = (size_t)(rr.p - rec->headers);
	return NULL;
}

/*
 * Check (deliver 0) or deliver (deliver 1) the records of a batch.
 * Returns 0, 1 when the callback stopped, or -1.
 */
static int
v2_records(struct rdec *d, const struct v2batch *b, const uint8_t *p,
    size_t len, int deliver_them)
{
	struct kreader		 r;
	struct kafka_record	 rec;
	const char		*why;
	int64_t			 tsdelta;
	int32_t			 i, delta, prev = -1;

	kr_init(&r, p, len);
	for (i = 0; i < b->count; i++) {
		if ((why = record_next(&r, &rec, &delta, &tsdelta)) != NULL)
			return rd_err(d, KAFKA_RECORDS_ECORRUPT,
			    "record %d of %d: %s", i, b->count, why);
		/* Deltas only grow (compaction leaves gaps) up to the last. */
		if (delta <= prev || delta > b->last_delta)
			return rd_err(d, KAFKA_RECORDS_ECORRUPT,
			    "record %d of %d: offset delta %d after %d, "
			    "lastOffsetDelta %d", i, b->count, delta, prev,
			    b->last_delta);
		prev = delta;
		if (!deliver_them)
			continue;
		rec.offset = b->base + delta;
		if (rec.offset < d->info->next_offset)
			continue;
		/* Wrapping add: a timestamp is data, not a reason for UB. */
		rec.timestamp = b->log_append ? b->max_ts :
		    (int64_t)((uint64_t)b->base_ts + (uint64_t)tsdelta);
		if (deliver(d, &rec))
			return 1;
	}
	if (kr_left(&r) != 0)
		return rd_err(d, KAFKA_RECORDS_ECORRUPT,
		    "%zu bytes after the last of %d records", kr_left(&r),
		    b->count);
	return 0;
}

/* One complete magic 2 batch of size bytes (header included). */
static int
decode_v2(struct rdec *d, const uint8_t *p, size_t size)
{
	struct kreader	 r;
	struct v2batch	 b;
	struct obuf	 o;
	const uint8_t	*recs;
	size_t		 rlen, before;
	struct txn_pid	*tp;
	uint32_t	 crc, sum;
	int64_t		 end, producer_id;
	int		 attr, rc;

	if (size < V2_OVERHEAD)
		return rd_err(d, KAFKA_RECORDS_ECORRUPT,
		    "batchLength %zu below the minimum %d",
		    size - LOG_OVERHEAD, V2_OVERHEAD - LOG_OVERHEAD);
	kr_init(&r, p, size);
	b.base = kr_i64(&r);
	kr_skip(&r, 4 + 4 + 1);	/* batchLength, partitionLeaderEpoch, magic */
	crc = kr_u32(&r);
	sum = kafka_crc32c(0, p + V2_ATTR_OFFSET, size - V2_ATTR_OFFSET);
	if (sum != crc)
		return rd_err(d, KAFKA_RECORDS_ECRC,
		    "CRC-32C mismatch: stored 0x%08x, computed 0x%08x",
		    crc, sum);
	attr = (uint16_t)kr_i16(&r);
	b.last_delta = kr_i32(&r);
	b.base_ts = kr_i64(&r);
	b.max_ts = kr_i64(&r);
	producer_id = kr_i64(&r);
	kr_skip(&r, 2 + 4);	/* producerEpoch, baseSequence */
	b.count = kr_i32(&r);
	b.log_append = (attr & ATTR_LOG_APPEND_TIME) != 0;
	if (b.base < 0 || b.base > BASE_OFFSET_MAX)
		return rd_err(d, KAFKA_RECORDS_ECORRUPT,
		    "baseOffset out of range");
	if (b.last_delta < 0 || b.count < 0 ||
	    b.count > (int64_t)b.last_delta + 1)
		return rd_err(d, KAFKA_RECORDS_ECORRUPT,
		    "recordsCount %d does not fit lastOffsetDelta %d",
		    b.count, b.last_delta);
	/* Even when trailing records were compacted away. */
	end = b.base + b.last_delta + 1;
	/* READ_COMMITTED, for every batch: even those below next_offset. */
	txn_reach(&d->txn, end - 1);
	if ((attr & (ATTR_CONTROL | ATTR_TRANSACTIONAL)) != 0 &&
	    (tp = txn_find(&d->txn, producer_id)) != NULL && tp->aborted) {
		if (attr & ATTR_CONTROL) {
			if ((rc = control_abort(d, &b, attr, r.p,
			    kr_left(&r))) == -1)
				return -1;
			if (rc == 1)
				tp->aborted = 0;
		} else {
			/* A batch belongs to one transaction: all aborted. */
			if (end > d->info->next_offset)
				d->info->skipped_aborted += (size_t)b.count;
			advance(d, end);
			return 0;
		}
	}
	if ((attr & ATTR_CONTROL) || b.count == 0 ||
	    end <= d->info->next_offset) {
		/* Never delivered, or nothing in it to deliver. */
		advance(d, end);
		return 0;
	}
	recs = r.p;
	rlen = kr_left(&r);
	o.open = 0;
	if ((attr & ATTR_CODEC) != CODEC_NONE) {
		if (decompress(d, attr & ATTR_CODEC, 2, recs, rlen, &o) == -1)
			return -1;
		recs = o.p;
		rlen = o.len;
	}
	before = d->info->delivered;
	if ((rc = v2_records(d, &b, recs, rlen, 0)) == 0)
		rc = v2_records(d, &b, recs, rlen, 1);
	/* Keep the decompressed buffer only if records point into it. */
	if (o.open && d->info->delivered == before)
		arena_pop(d->arena);
	if (rc == 0)
		advance(d, end);
	return rc;
}

/*
 * Parse one legacy message of size bytes (offset and message_size
 * included; the caller matched size to message_size).  inner is the
 * message's index in its wrapper, or -1.  Returns 0 or -1.
 */
static int
legacy_parse(struct rdec *d, const uint8_t *p, size_t size, int inner,
    struct legacy_msg *m)
{
	struct kreader	 r;
	char		 where[32];
	uint32_t	 crc, sum;
	size_t		 min;

	where[0] = '\0';
	if (inner >= 0)
		(void)snprintf(where, sizeof(where), "inner message %d: ",
		    inner);
	m->magic = size > MAGIC_OFFSET ? p[MAGIC_OFFSET] : -1;
	if (m->magic != 0 && m->magic != 1)
		return rd_err(d, KAFKA_RECORDS_ECORRUPT, "%sunknown magic %d",
		    where, m->magic);
	min = LOG_OVERHEAD + (m->magic == 0 ? V0_OVERHEAD : V1_OVERHEAD);
	if (size < min)
		return rd_err(d, KAFKA_RECORDS_ECORRUPT,
		    "%smessage_size %zu below the minimum %zu", where,
		    size - LOG_OVERHEAD, min - LOG_OVERHEAD);
	kr_init(&r, p, size);
	m->offset = kr_i64(&r);
	kr_skip(&r, 4);		/* message_size */
	crc = kr_u32(&r);
	sum = (uint32_t)crc32(0, p + MAGIC_OFFSET, (uInt)(size - MAGIC_OFFSET));
	if (sum != crc)
		return rd_err(d, KAFKA_RECORDS_ECRC,
		    "%sCRC-32 mismatch: stored 0x%08x, computed 0x%08x",
		    where, crc, sum);
	kr_skip(&r, 1);		/* magic */
	m->attr = (uint8_t)kr_i8(&r);
	m->timestamp = m->magic == 1 ? kr_i64(&r) : -1;
	m->key = kr_bytes(&r, 0);
	m->value = kr_bytes(&r, 0);
	if (r.err || kr_left(&r) != 0)
		return rd_err(d, KAFKA_RECORDS_ECORRUPT,
		    "%skey and value do not fill message_size %zu", where,
		    size - LOG_OVERHEAD);
	if (m->offset < 0 || m->offset == INT64_MAX)
		return rd_err(d, KAFKA_RECORDS_ECORRUPT,
		    "%soffset %lld out of range", where, (long long)m->offset);
	return 0;
}

/*
 * The inner message set of a compressed wrapper: check it (deliver 0,
 * which sets *last to the last inner offset as written, -1 if none) or
 * deliver it.  Returns 0, 1 when the callback stopped, or -1.
 */
static int
legacy_inner(struct rdec *d, const struct legacy_msg *w, const uint8_t *p,
    size_t len, int deliver_them, int64_t *last)
{
	struct kreader		 r, h;
	struct legacy_msg	 m;
	struct kafka_record	 rec;
	int64_t			 first = -1, prev = -1;
	int32_t			 msize;
	int			 i;

	kr_init(&r, p, len);
	for (i = 0; kr_left(&r) > 0; i++) {
		kr_init(&h, r.p, kr_left(&r));
		(void)kr_i64(&h);
		msize = kr_i32(&h);
		/* Inside a compressed wrapper, nothing may be cut short. */
		if (h.err || msize < 0 ||
		    (size_t)msize > kr_left(&r) - LOG_OVERHEAD)
			return rd_err(d, KAFKA_RECORDS_ECORRUPT,
			    "inner message %d: truncated", i);
		if (legacy_parse(d, r.p, (size_t)msize + LOG_OVERHEAD, i,
		    &m) == -1)
			return -1;
		kr_skip(&r, (size_t)msize + LOG_OVERHEAD);
		if ((m.attr & ATTR_CODEC) != CODEC_NONE)
			return rd_err(d, KAFKA_RECORDS_ECORRUPT,
			    "inner message %d: nested compression", i);
		if (m.offset <= prev)
			return rd_err(d, KAFKA_RECORDS_ECORRUPT,
			    "inner message %d: offset %lld after %lld", i,
			    (long long)m.offset, (long long)prev);
		if (first == -1)
			first = m.offset;
		prev = m.offset;
		if (!deliver_them)
			continue;
		/*
		 * Magic 1 inner offsets are relative: the wrapper carries
		 * the absolute offset of the last one.
		 */
		rec.offset = w->magic == 1 ? w->offset - (*last - m.offset) :
		    m.offset;
		if (rec.offset < d->info->next_offset)
			continue;
		rec.timestamp = w->magic == 1 &&
		    (w->attr & ATTR_LOG_APPEND_TIME) ? w->timestamp :
		    m.timestamp;
		rec.key = m.key.p;
		rec.key_len = m.key.len;
		rec.value = m.value.p;
		rec.value_len = m.value.len;
		rec.header_count = 0;
		rec.headers = NULL;
		rec.headers_len = 0;
		if (deliver(d, &rec))
			return 1;
	}
	if (deliver_them)
		return 0;
	*last = prev;
	if (w->magic == 1 && prev - first > w->offset)
		return rd_err(d, KAFKA_RECORDS_ECORRUPT,
		    "relative inner offsets reach below 0");
	return 0;
}

static int
legacy_wrapper(struct rdec *d, const struct legacy_msg *w)
{
	struct obuf	 o;
	int64_t		 last = -1, end;
	size_t		 before;
	int		 rc;

	/* The wrapper's offset is that of its last inner message. */
	end = w->offset + 1;
	if (end <= d->info->next_offset) {
		advance(d, end);
		return 0;
	}
	if (w->value.p == NULL)
		return rd_err(d, KAFKA_RECORDS_ECORRUPT,
		    "compressed wrapper with a null value");
	if (decompress(d, w->attr & ATTR_CODEC, w->magic, w->value.p,
	    (size_t)w->value.len, &o) == -1)
		return -1;
	before = d->info->delivered;
	if ((rc = legacy_inner(d, w, o.p, o.len, 0, &last)) == 0)
		rc = legacy_inner(d, w, o.p, o.len, 1, &last);
	if (d->info->delivered == before)
		arena_pop(d->arena);
	/* Magic 0 inner offsets are absolute; should end at the wrapper. */
	if (rc == 0 && w->magic == 0 && last >= end)
		end = last + 1;
	if (rc == 0)
		advance(d, end);
	return rc;
}

/* One complete legacy message (magic 0 or 1) of size bytes. */
static int
decode_legacy(struct rdec *d, const uint8_t *p, size_t size)
{
	struct legacy_msg	 m;
	struct kafka_record	 rec;

	if (legacy_parse(d, p, size, -1, &m) == -1)
		return -1;
	if ((m.attr & ATTR_CODEC) != CODEC_NONE)
		return legacy_wrapper(d, &m);
	if (m.offset >= d->info->next_offset) {
		rec.offset = m.offset;
		rec.timestamp = m.timestamp;
		rec.key = m.key.p;
		rec.key_len = m.key.len;
		rec.value = m.value.p;
		rec.value_len = m.value.len;
		rec.header_count = 0;
		rec.headers = NULL;
		rec.headers_len = 0;
		if (deliver(d, &rec))
			return 1;
	}
	advance(d, m.offset + 1);
	return 0;
}

int
kafka_records_decode(const uint8_t *data, size_t len, int64_t min_offset,
    struct kafka_arena *arena, kafka_record_cb cb, void *arg,
    struct kafka_records_info *info)
{
	return kafka_records_decode_txn(data, len, min_offset, NULL, 0, arena,
	    cb, arg, info);
}

int
kafka_records_decode_txn(const uint8_t *data, size_t len,
    int64_t min_offset, const struct kafka_aborted_txn *aborted,
    size_t naborted, struct kafka_arena *arena, kafka_record_cb cb,
    void *arg, struct kafka_records_info *info)
{
	struct rdec	 d;
	struct kreader	 r, h;
	size_t		 size;
	int32_t		 blen;
	int		 rc = 0;

	memset(info, 0, sizeof(*info));
	info->next_offset = min_offset;
	memset(&d, 0, sizeof(d));
	d.arena = arena;
	d.cb = cb;
	d.arg = arg;
	d.info = info;
	if (txn_init(&d.txn, aborted, naborted) == -1) {
		info->err = KAFKA_RECORDS_ENOMEM;
		(void)snprintf(info->errmsg, sizeof(info->errmsg),
		    "cannot copy %zu aborted transactions", naborted);
		return -1;
	}

	kr_init(&r, data, len);
	while (kr_left(&r) > 0) {
		/*
		 * The broker slices the log by bytes: a cut last batch is
		 * normal and dropped (ByteBufferLogInputStream.nextBatch).
		 */
		if (kr_left(&r) < LOG_OVERHEAD) {
			info->truncated = 1;
			break;
		}
		kr_init(&h, r.p, LOG_OVERHEAD);
		d.batch = kr_i64(&h);
		blen = kr_i32(&h);
		if (blen < V0_OVERHEAD) {
			rc = rd_err(&d, KAFKA_RECORDS_ECORRUPT,
			    "batchLength %d below the minimum %d", blen,
			    V0_OVERHEAD);
			break;
		}
		if ((size_t)blen > kr_left(&r) - LOG_OVERHEAD) {
			info->truncated = 1;
			break;
		}
		size = (size_t)blen + LOG_OVERHEAD;
		switch (r.p[MAGIC_OFFSET]) {
		case 0:
		case 1:
			rc = decode_legacy(&d, r.p, size);
			break;
		case 2:
			rc = decode_v2(&d, r.p, size);
			break;
		default:
			rc = rd_err(&d, KAFKA_RECORDS_ECORRUPT,
			    "unknown magic %d", (int8_t)r.p[MAGIC_OFFSET]);
			break;
		}
		if (rc != 0)
			break;
		kr_skip(&r, size);
	}

	if (d.zs_init)
		(void)inflateEnd(&d.zs);
	if (d.lz4 != NULL)
		(void)LZ4F_freeDecompressionContext(d.lz4);
	ZSTD_freeDCtx(d.zstd);
	txn_free(&d.txn);
	return rc == -1 ? -1 : 0;
}
