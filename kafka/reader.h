/*
 * reader.h -- partition readers: fetched data decoded once, answered from
 * memory, one Fetch in flight per partition.  Sans-I/O: no sockets, no
 * libev; time comes in as `now'.
 *
 * A reader exists per (owner, topic, partition) that clients read; the
 * owner is opaque (the daemon passes its kcluster).  It keeps a window of
 * chunks: a chunk is one broker answer's data records for [from, to),
 * CRC-checked, decompressed, with transaction markers, aborted records
 * (read_committed) and records below `from' left out, indexed by offset.
 * Offsets inside [from, to) that hold no record (markers, compacted-away
 * offsets) are known to be empty, so a read there goes on to the next
 * chunk.
 *
 * Reading.  kreader_submit() takes a client read (a kreader_req the caller
 * embeds in its own request) at an offset:
 *   - KREADER_READY: the window answers it: call kreader_read() now;
 *   - KREADER_WAIT: it waits; ops->ready() is called for it later (from a
 *     kreader_fetched() or kreader_failed() call), exactly once, and then
 *     the caller calls kreader_read() (or reports the failure it gets).
 * A read the window cannot answer becomes a Fetch through ops->fetch():
 * never more than one in flight per reader; reads waiting for other
 * offsets are served by the next Fetches, in offset order.  A Fetch that
 * brings nothing new for a read (its offset is at the end of the log)
 * answers it empty, as APISIX does.
 *
 * Read-ahead.  When a read reaches the last chunk of a contiguous stretch
 * below the end of the log, and nothing is in flight, the next stretch is
 * fetched before anyone asks, so that fetching overlaps with delivery.  A
 * read that reaches the end of the log as last seen leaves a tail Fetch
 * there (ops->fetch with tail set), which the owner may let the broker
 * hold until records arrive.
 *
 * Memory.  Every chunk counts against its kcache (one per process): over
 * the budget, the least recently read chunks go first, whichever reader
 * holds them.  A client far behind reads chunks that nobody else reads,
 * and those age out first; chunks that tail readers keep reading stay.
 * kcache_sweep() drops chunks unread for `idle' seconds and readers with
 * nothing left.
 */
#ifndef KAFKA_READER_H
#define KAFKA_READER_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "kafka/record.h"

struct kcache;
struct kreader;

/* A client read, embedded in the caller's request; opaque but for offset. */
struct kreader_req {
	TAILQ_ENTRY(kreader_req) entry;
	struct kreader		*rd;
	int64_t			 offset;	/* where the client reads from */
	int			 waiting;
};

/*
 * Why a read failed: the Fetch's error as the owner gave it (err > 0), or
 * the reader's own (KREADER_ENOMEM, KREADER_ECORRUPT: the records failed
 * their CRC or could not be decoded; errmsg says how).
 */
struct kreader_fail {
	int			 err;
	int16_t			 kafka_error;
	const char		*errmsg;
};

struct kreader_ops {
	/*
	 * Issue one Fetch of this partition from offset.  The answer comes
	 * back through kreader_fetched() or kreader_failed(), never from
	 * inside this call.  Returns 0, or -1 if it could not even start
	 * (reads waiting for it then fail with KREADER_ENOMEM).  tail: the
	 * offset is at the end of the log as last seen and a read waits for
	 * it: the owner may let the broker hold the Fetch until records
	 * arrive (a long poll), and answer it empty when they do not.
	 */
	int	(*fetch)(void *owner, struct kreader *, const char *topic,
		    int32_t partition, int64_t offset, int tail);
	/* A waiting read can be answered now (fail == NULL), or failed. */
	void	(*ready)(void *owner, struct kreader_req *,
		    const struct kreader_fail *);
};

#define KREADER_READY		0
#define KREADER_WAIT		1
#define KREADER_ENOMEM		(-1)
#define KREADER_ECORRUPT	(-2)

struct kcache_stats {
	size_t		 bytes;		/* held by chunks */
	size_t		 budget;
	size_t		 chunks;
	size_t		 readers;
	uint64_t	 hits;		/* reads answered from memory */
	uint64_t	 misses;	/* reads that needed a Fetch */
	uint64_t	 fetches;	/* Fetches asked of the owners */
	uint64_t	 evicted;	/* chunks dropped for the budget */
	uint64_t	 fetched_bytes;	/* record bytes the Fetches brought */
};

/* budget: bytes all chunks may hold together; 0 = 256 MiB. */
struct kcache	*kcache_new(size_t budget, const struct kreader_ops *);
/* Every reader must be idle (no waiting reads, no Fetch in flight). */
void		 kcache_free(struct kcache *);
void		 kcache_stats(const struct kcache *, struct kcache_stats *);
/*
 * Drop chunks not read for `idle' seconds and readers holding nothing
 * (no chunk, no waiting read, no Fetch in flight).
 */
void		 kcache_sweep(struct kcache *, double now, double idle);

/*
 * The owner is gone (a cluster freed after a reload): drop its readers.
 * Each must be idle: the owner's end failed its Fetches in flight, and
 * no client reads through it any more.
 */
void		 kcache_forget(struct kcache *, const void *owner);
/* A new budget (a reload): chunks over it go at once. */
void		 kcache_set_budget(struct kcache *, size_t budget);

/* The reader of (owner, topic, partition), created if needed; NULL: ENOMEM. */
struct kreader	*kcache_reader(struct kcache *, void *owner, const char *topic,
		    int32_t partition);

/* See the top of this file. */
int	 kreader_submit(struct kreader *, struct kreader_req *, int64_t offset,
	    double now);
/* Forget a waiting read (the client went away); no ready() follows. */
void	 kreader_cancel(struct kreader_req *);

/*
 * Deliver the records from req->offset on to cb, across contiguous
 * chunks, until cb returns non-zero or the window ends.  Returns the
 * number of records delivered; *next is the offset to read next (after the
 * last record delivered, or the end of what the window knows holds no
 * record).
 */
size_t	 kreader_read(struct kreader *, const struct kreader_req *,
	    kafka_record_cb, void *arg, int64_t *next, double now);
/* After a read that ended at `next': fetch ahead if that is due. */
void	 kreader_ahead(struct kreader *, int64_t next, double now);

/*
 * The answer to the Fetch from `offset': the partition's record set (raw,
 * as the broker sent it; copied), the aborted transactions of the answer
 * (read_committed), and where readable data ends (the high watermark, or
 * the last stable offset).  Serves the reads it can, fetches for the rest.
 */
void	 kreader_fetched(struct kreader *, int64_t offset, const uint8_t *records,
	    size_t len, const struct kafka_aborted_txn *, size_t naborted,
	    int64_t end_offset, double now);
/* The Fetch from `offset' failed: its reads fail, the others fetch on. */
void	 kreader_failed(struct kreader *, int64_t offset,
	    const struct kreader_fail *, double now);

#endif /* KAFKA_READER_H */
