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
 *
 * For isolation_level READ_COMMITTED, kafka_records_decode_txn() also
 * takes the partition's AbortedTransactions from the Fetch response and
 * skips the records of aborted transactions, as the Java consumer does
 * (CompletedFetch): the aborted list is walked in first_offset order; at
 * each magic 2 batch, the producer ids of the entries whose first_offset
 * is at or below the batch's last offset become "aborted"; a
 * transactional batch (attributes bit 4) of an aborted producer is
 * skipped; an ABORT control batch (first control record key type 0) of a
 * producer ends that producer's aborted state.  This bookkeeping sees
 * every complete batch, including those below min_offset.
 */
#ifndef KAFKA_RECORD_H
#define KAFKA_RECORD_H

#include <stddef.h>
#include <stdint.h>

/* One entry of a Fetch response's AbortedTransactions (Fetch v4+). */
struct kafka_aborted_txn {
	int64_t		 producer_id;
	int64_t		 first_offset;
};

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

/*
 * info->next_offset, the offset to fetch next, starts at min_offset and
 * only grows:
 *  - past each complete batch consumed, delivered or skipped alike: to its
 *    baseOffset + lastOffsetDelta + 1 for magic 2 (so past the records a
 *    compaction removed from its tail), to the message's offset + 1 for
 *    legacy messages (a magic 0 wrapper: past its last inner offset if
 *    that is higher).  Skipped batches are control batches (a record set
 *    of only markers ends at the last marker's offset + 1), batches of
 *    aborted transactions, empty batches, and batches wholly below
 *    min_offset;
 *  - when the callback stops: to the stopping record's offset + 1, even in
 *    the middle of a batch, and nothing after it is looked at;
 *  - a truncated trailing batch does not move it: it stays after the last
 *    complete batch (or at min_offset), which is at or below the
 *    truncated batch's baseOffset (below it only across a compaction
 *    gap), so the next fetch returns that batch again;
 *  - on an error it stays after the last complete batch before the bad
 *    one (a batch is checked whole before any of it is delivered).
 * A caller that got nothing delivered but next_offset > min_offset (only
 * markers or aborted data) fetches again from next_offset.
 */
struct kafka_records_info {
	int64_t		 next_offset;	/* offset to fetch next, see above */
	size_t		 delivered;	/* records passed to the callback */
	size_t		 skipped_aborted; /* recordsCount of the aborted
					   batches skipped that reached at or
					   above min_offset (a batch
					   straddling min_offset counts
					   whole) */
	int		 stopped;	/* the callback asked to stop */
	int		 truncated;	/* a trailing partial batch was dropped */
	enum kafka_records_err err;
	char		 errmsg[128];	/* human-readable detail when err != OK */
};

/*
 * Decode and deliver.  Returns 0 (info->err == KAFKA_RECORDS_OK) or -1 with
 * info->err/errmsg set; records delivered before an error stay delivered
 * and info->next_offset points at the failing batch (after the last
 * complete batch before it).  The same as kafka_records_decode_txn() with
 * no aborted transactions (READ_UNCOMMITTED).
 */
int	 kafka_records_decode(const uint8_t *data, size_t len, int64_t min_offset,
	    struct kafka_arena *, kafka_record_cb, void *arg,
	    struct kafka_records_info *);

/*
 * The same, skipping the records of the naborted aborted transactions
 * listed (in any order; duplicates are harmless; aborted NULL means none,
 * whatever naborted says).  Pass the list that came with the same Fetch
 * answer as data: the broker lists the aborted transactions that end at
 * or after the fetch offset, and one that ended before it would hide
 * that producer's next transaction, its ABORT marker not being in data.
 * A sorted copy of the list is allocated for the call (2 x naborted
 * entries; KAFKA_RECORDS_ENOMEM if that fails) and freed before it
 * returns.  The first record of a control batch of an aborted producer is
 * parsed (decompressed if need be, into an arena buffer released at once)
 * to tell ABORT from COMMIT; a malformed one is KAFKA_RECORDS_ECORRUPT.
 */
int	 kafka_records_decode_txn(const uint8_t *data, size_t len,
	    int64_t min_offset, const struct kafka_aborted_txn *aborted,
	    size_t naborted, struct kafka_arena *, kafka_record_cb, void *arg,
	    struct kafka_records_info *);

/*
 * CRC-32C (Castagnoli), as used by record batches: crc is 0 for the first
 * piece, or the result for the bytes before, to continue (as zlib's
 * crc32()).  Runs the CPU's CRC instruction where it has one (x86-64 with
 * SSE4.2, found at the first call), slice-by-8 tables elsewhere.  Any
 * thread.
 */
uint32_t kafka_crc32c(uint32_t crc, const void *, size_t);

/*
 * For the tests and measurements: one implementation of kafka_crc32c(),
 * with its contract, to be called directly.  Returns NULL for
 * KAFKA_CRC32C_HW when this build or CPU has no CRC instruction.
 */
enum kafka_crc32c_which {
	KAFKA_CRC32C_BEST,	/* what kafka_crc32c() runs */
	KAFKA_CRC32C_SW,	/* slice-by-8 tables, always there */
	KAFKA_CRC32C_HW		/* x86-64 SSE4.2 crc32 instruction */
};
typedef uint32_t (*kafka_crc32c_fn)(uint32_t, const void *, size_t);
kafka_crc32c_fn kafka_crc32c_impl(enum kafka_crc32c_which);

#endif /* KAFKA_RECORD_H */
