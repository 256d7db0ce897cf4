/*
 * fuzz_records.c -- libFuzzer target for the record-set decoder.
 *
 * The first input byte is a control byte: bits 0-2 pick min_offset, bit 3
 * asks to rewrite every batch CRC (CRC-32C for magic 2, CRC-32 for magic
 * 0/1) before decoding, so that mutations get past the CRC check and
 * reach the decompressors and record parsers.  The rest is a record set.
 * The arena cap is small, to reach the ETOOBIG paths quickly.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "kafka/record.h"

#define FUZZ_ARENA_MAX	(256 * 1024)

struct fuzz_state {
	int64_t		 min_offset;
	int64_t		 last;		/* last offset delivered */
	unsigned	 sum;
};

int		 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static uint32_t	 be32(const uint8_t *);
static void	 put32(uint8_t *, uint32_t);
static void	 fix_crcs(uint8_t *, size_t);
static int	 touch(void *, const struct kafka_record *);

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
	for (i = 0; i < rec->key_len; i++)
		st->sum += rec->key[i];
	for (i = 0; i < rec->value_len; i++)
		st->sum += rec->value[i];
	for (j = 0; j < rec->headers_len; j++)
		st->sum += rec->headers[j];
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kafka_arena		 arena;
	struct kafka_records_info	 info;
	struct fuzz_state		 st;
	uint8_t				*buf;
	int				 rc;

	if (size < 1)
		return 0;
	memset(&st, 0, sizeof(st));
	st.min_offset = data[0] & 0x07;
	st.last = -1;
	/* An exact-size copy: over-reads hit the sanitizer. */
	if ((buf = malloc(size)) == NULL)
		return 0;
	memcpy(buf, data + 1, size - 1);
	if (data[0] & 0x08)
		fix_crcs(buf, size - 1);

	kafka_arena_init(&arena, FUZZ_ARENA_MAX);
	rc = kafka_records_decode(buf, size - 1, st.min_offset, &arena, touch,
	    &st, &info);
	if ((rc == 0) != (info.err == KAFKA_RECORDS_OK))
		abort();
	if (rc == 0 && info.next_offset < st.min_offset)
		abort();
	if (arena.total > FUZZ_ARENA_MAX)
		abort();
	kafka_arena_free(&arena);
	free(buf);
	return 0;
}
