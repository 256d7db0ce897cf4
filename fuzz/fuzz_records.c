/*
 * fuzz_records.c -- libFuzzer target for the record-set decoder.
 *
 * The first input byte is a control byte: bits 0-2 pick min_offset, bit 3
 * asks to rewrite every batch CRC (CRC-32C for magic 2, CRC-32 for magic
 * 0/1) before decoding, so that mutations get past the CRC check and
 * reach the decompressors and record parsers.  Bit 4 asks for
 * read_committed: the next byte's bits 0-2 give a count n, and the n
 * two-byte pairs after it an aborted list (producer id: the first byte as
 * a signed value, so 0xff is -1, the id of a non-idempotent batch; first
 * offset: the second byte).  The rest is a record set.  The arena cap is
 * small, to reach the ETOOBIG paths quickly.
 *
 * Read_committed is checked against read_uncommitted on the same bytes:
 * with an empty list the results are the same; otherwise, when both
 * succeed, they end at the same next_offset and every record it delivers
 * was delivered, in the same order, by the plain decode.  (Either may
 * fail alone: aborted batches are skipped undecompressed, and the control
 * records of aborted producers are parsed.)
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "kafka/record.h"

#define FUZZ_ARENA_MAX	(256 * 1024)
#define FUZZ_MAX_ABORTED 7
#define FUZZ_MAX_SEEN	65536	/* offsets kept from the plain decode */

struct fuzz_state {
	int64_t		 min_offset;
	int64_t		 last;		/* last offset delivered */
	unsigned	 sum;
	int64_t		*seen;		/* plain decode: offsets delivered,
					   FUZZ_MAX_SEEN at most */
	size_t		 nseen;
	size_t		 pos;		/* read_committed: next seen[] to match */
	int		 record;	/* 1: fill seen, 2: match against it */
};

int		 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static uint32_t	 be32(const uint8_t *);
static void	 put32(uint8_t *, uint32_t);
static void	 fix_crcs(uint8_t *, size_t);
static int	 touch(void *, const struct kafka_record *);
static void	 decode_txn(const uint8_t *, size_t, struct fuzz_state *,
		    const struct kafka_aborted_txn *, size_t,
		    const struct kafka_records_info *);

static uint32_t
be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Walk the batch framing and make each complete batch's CRC right. */
static void
fix_crcs(uint8_t *p, size_t len)
{
	size_t		 pos = 0, size;
	uint32_t	 blen;

	while (len - pos >= 12) {
		blen = be32(p + pos + 8);
		if (blen < 14 || blen > len - pos - 12)
			return;
		size = (size_t)blen + 12;
		if (p[pos + 16] == 2 && size >= 21)
			put32(p + pos + 17, kafka_crc32c(0, p + pos + 21,
			    size - 21));
		else if (p[pos + 16] <= 1)
			put32(p + pos + 12, (uint32_t)crc32(0, p + pos + 16,
			    (uInt)(size - 16)));
		pos += size;
	}
}

/* Read every byte delivered, so that a bad view shows under ASan. */
static int
touch(void *arg, const struct kafka_record *rec)
{
	struct fuzz_state	*st = arg;
	int32_t			 i;
	size_t			 j;

	if (rec->offset < st->min_offset || rec->offset <= st->last)
		abort();
	if ((rec->key == NULL) != (rec->key_len == -1) ||
	    (rec->value == NULL) != (rec->value_len == -1) ||
	    rec->key_len < -1 || rec->value_len < -1)
		abort();
	st->last = rec->offset;
	if (st->record == 1 && st->nseen < FUZZ_MAX_SEEN)
		st->seen[st->nseen++] = rec->offset;
	else if (st->record == 2 && st->pos < st->nseen) {
		/* A subsequence of what the plain decode delivered. */
		while (st->pos < st->nseen && st->seen[st->pos] < rec->offset)
			st->pos++;
		if (st->pos == st->nseen || st->seen[st->pos] != rec->offset)
			abort();
		st->pos++;
	}
	for (i = 0; i < rec->key_len; i++)
		st->sum += rec->key[i];
	for (i = 0; i < rec->value_len; i++)
		st->sum += rec->value[i];
	for (j = 0; j < rec->headers_len; j++)
		st->sum += rec->headers[j];
	return 0;
}

/* Decode again, read_committed, and compare with the plain decode. */
static void
decode_txn(const uint8_t *buf, size_t len, struct fuzz_state *st,
    const struct kafka_aborted_txn *ab, size_t nab,
    const struct kafka_records_info *plain)
{
	struct kafka_arena		 arena;
	struct kafka_records_info	 info;
	int				 rc;

	st->last = -1;
	st->pos = 0;
	st->record = nab > 0 && plain->err == KAFKA_RECORDS_OK &&
	    plain->delivered <= FUZZ_MAX_SEEN ? 2 : 0;
	kafka_arena_init(&arena, FUZZ_ARENA_MAX);
	rc = kafka_records_decode_txn(buf, len, st->min_offset, ab, nab,
	    &arena, touch, st, &info);
	if ((rc == 0) != (info.err == KAFKA_RECORDS_OK))
		abort();
	if (info.next_offset < st->min_offset)
		abort();
	if (arena.total > FUZZ_ARENA_MAX)
		abort();
	if (nab == 0 && (info.err != plain->err ||
	    info.delivered != plain->delivered ||
	    info.next_offset != plain->next_offset ||
	    info.truncated != plain->truncated || info.skipped_aborted != 0))
		abort();
	/* Both succeeded: they went through the same batches. */
	if (rc == 0 && plain->err == KAFKA_RECORDS_OK &&
	    (info.next_offset != plain->next_offset ||
	    info.truncated != plain->truncated))
		abort();
	kafka_arena_free(&arena);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int64_t			 seen[FUZZ_MAX_SEEN];
	struct kafka_arena		 arena;
	struct kafka_records_info	 info;
	struct kafka_aborted_txn	 ab[FUZZ_MAX_ABORTED];
	struct fuzz_state		 st;
	uint8_t				*buf;
	size_t				 nab = 0, i;
	int				 rc, txn, fix;

	if (size < 1)
		return 0;
	memset(&st, 0, sizeof(st));
	st.min_offset = data[0] & 0x07;
	st.last = -1;
	fix = (data[0] & 0x08) != 0;
	txn = (data[0] & 0x10) != 0;
	data++;
	size--;
	if (txn) {
		if (size < 1)
			return 0;
		nab = data[0] & 0x07;
		data++;
		size--;
		if (size < 2 * nab)
			return 0;
		for (i = 0; i < nab; i++) {
			ab[i].producer_id = (int8_t)data[2 * i];
			ab[i].first_offset = data[2 * i + 1];
		}
		data += 2 * nab;
		size -= 2 * nab;
	}
	/* An exact-size copy: over-reads hit the sanitizer. */
	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(buf, data, size);
	if (fix)
		fix_crcs(buf, size);
	st.seen = seen;
	st.record = txn;

	kafka_arena_init(&arena, FUZZ_ARENA_MAX);
	rc = kafka_records_decode(buf, size, st.min_offset, &arena, touch,
	    &st, &info);
	if ((rc == 0) != (info.err == KAFKA_RECORDS_OK))
		abort();
	if (rc == 0 && info.next_offset < st.min_offset)
		abort();
	if (info.skipped_aborted != 0)
		abort();
	if (arena.total > FUZZ_ARENA_MAX)
		abort();
	kafka_arena_free(&arena);
	if (txn)
		decode_txn(buf, size, &st, ab, nab, &info);
	free(buf);
	return 0;
}
