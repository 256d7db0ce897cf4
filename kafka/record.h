/*
 * record.h -- decode the RECORDS field of a Fetch response (pure codec).
 *
 * Input is one partition's record set: a sequence of magic 2 record
 * batches and/or legacy magic 0/1 message sets, possibly ending in a
 * truncated batch (normal: the broker slices the log by bytes).  Output is
 * a callback per record, in offset order, never below min_offset and never
 * from a control batch.  Keys and values are views into the input or into
 * a decompressed buffer owned by the arena; they stay valid until
 * kafka_arena_free().
 */
#ifndef KAFKA_RECORD_H
#define KAFKA_RECORD_H

#include <stddef.h>
#include <stdint.h>

struct kafka_record {
	int64_t		 offset;
	int64_t		 timestamp;	/* ms; LogAppendTime batches: maxTimestamp */
	const uint8_t	*key;		/* NULL when key_len is -1 (null key) */
	int32_t		 key_len;
	const uint8_t	*value;		/* NULL when value_len is -1 */
	int32_t		 value_len;
	uint32_t	 header_count;
	const uint8_t	*headers;	/* raw header bytes (record v2 format) */
	size_t		 headers_len;
};

/* Decompressed buffers, freed together. */
struct kafka_arena_buf;
struct kafka_arena {
	struct kafka_arena_buf	*head;
	size_t			 total;		/* bytes held */
	size_t			 max;		/* cap on total; 0 = 64 MiB */
};

void	 kafka_arena_init(struct kafka_arena *, size_t max);
void	 kafka_arena_free(struct kafka_arena *);

/* Return 0 to go on, non-zero to stop (e.g. the frame budget is full). */
typedef int (*kafka_record_cb)(void *arg, const struct kafka_record *);

enum kafka_records_err {
	KAFKA_RECORDS_OK = 0,
	KAFKA_RECORDS_ECRC,		/* CRC mismatch */
	KAFKA_RECORDS_ECORRUPT,		/* malformed batch or record */
	KAFKA_RECORDS_ECODEC,		/* unknown codec or decompression failure */
	KAFKA_RECORDS_ETOOBIG,		/* decompressed data over the arena cap */
	KAFKA_RECORDS_ENOMEM
};

struct kafka_records_info {
	int64_t		 next_offset;	/* offset to fetch next: after the last
					   record delivered, or after the last
					   complete batch consumed; min_offset if
					   nothing was consumed */
	size_t		 delivered;	/* records passed to the callback */
	int		 stopped;	/* the callback asked to stop */
	int		 truncated;	/* a trailing partial batch was dropped */
	enum kafka_records_err err;
	char		 errmsg[128];	/* human-readable detail when err != OK */
};

/*
 * Decode and deliver.  Returns 0 (info->err == KAFKA_RECORDS_OK) or -1 with
 * info->err/errmsg set; records delivered before an error stay delivered
 * and info->next_offset points at the failing batch.
 */
int	 kafka_records_decode(const uint8_t *data, size_t len, int64_t min_offset,
	    struct kafka_arena *, kafka_record_cb, void *arg,
	    struct kafka_records_info *);

/* CRC-32C (Castagnoli), as used by record batches. */
uint32_t kafka_crc32c(uint32_t crc, const void *, size_t);

#endif /* KAFKA_RECORD_H */
