/*
 * reader.c -- partition readers and their shared cache (see reader.h).
 *
 * A reader's chunks are kept sorted by `from' and never overlap: a new
 * answer that overlaps what is held is cut to the part that is new (the
 * records are the same, offsets being immutable below the high
 * watermark).  Each chunk owns a copy of the raw record set (records of
 * uncompressed batches are views into it), the decompressed buffers
 * (arena) and the index: one struct krec per data record, in offset order.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "kafka/reader.h"
#include "kafka/record.h"

#define KC_BUCKETS	256
#define KR_MAX_CHUNKS	1024	/* chunks one reader keeps at most */

struct krec {
	int64_t		 offset;
	int64_t		 timestamp;
	const uint8_t	*key;
	const uint8_t	*value;
	int32_t		 key_len;
	int32_t		 value_len;
};

struct kchunk {
	TAILQ_ENTRY(kchunk)	 entry;		/* in the reader, by offset */
	TAILQ_ENTRY(kchunk)	 lru;		/* in the cache, oldest first */
	struct kreader		*rd;
	int64_t			 from, to;	/* offsets covered */
	struct krec		*recs;
	size_t			 nrecs;
	size_t			 cap;
	uint8_t			*raw;
	struct kafka_arena	 arena;
	size_t			 bytes;		/* accounted in the cache */
	double			 used;		/* last read */
};
TAILQ_HEAD(kchunkq, kchunk);
TAILQ_HEAD(kreqq, kreader_req);

struct kreader {
	LIST_ENTRY(kreader)	 entry;		/* in a cache bucket */
	struct kcache		*kc;
	void			*owner;
	char			*topic;
	int32_t			 partition;
	struct kchunkq		 chunks;
	size_t			 nchunks;
	struct kreqq		 waiting;
	int			 inflight;	/* a Fetch is out */
	int64_t			 inflight_from;
	int64_t			 end;		/* readable end, last seen; -1 */
	double			 used;
};
LIST_HEAD(kreaderl, kreader);

struct kcache {
	const struct kreader_ops *ops;
	struct kreaderl		 buckets[KC_BUCKETS];
	struct kchunkq		 lru;
	struct kcache_stats	 st;
};

static void	 kc_evict(struct kcache *, const struct kchunk *);
static void	 kr_pump(struct kreader *, double);

/* ---- the cache ---- */

struct kcache *
kcache_new(size_t budget, const struct kreader_ops *ops)
{
	struct kcache	*kc;
	int		 i;

	if ((kc = calloc(1, sizeof(*kc))) == NULL)
		return NULL;
	kc->ops = ops;
	for (i = 0; i < KC_BUCKETS; i++)
		LIST_INIT(&kc->buckets[i]);
	TAILQ_INIT(&kc->lru);
	kc->st.budget = budget ? budget : (size_t)256 << 20;
	return kc;
}

/* What a chunk holds goes (kchunk_free() unlinks it first). */
static void
kchunk_discard(struct kchunk *c)
{
	if (c == NULL)
		return;
	kafka_arena_free(&c->arena);
	free(c->recs);
	free(c->raw);
	free(c);
}

static void
kchunk_free(struct kchunk *c)
{
	struct kcache	*kc = c->rd->kc;

	TAILQ_REMOVE(&c->rd->chunks, c, entry);
	c->rd->nchunks--;
	TAILQ_REMOVE(&kc->lru, c, lru);
	kc->st.bytes -= c->bytes;
	kc->st.chunks--;
	kchunk_discard(c);
}

static void
kreader_free(struct kreader *rd)
{
	struct kchunk	*c;

	while ((c = TAILQ_FIRST(&rd->chunks)) != NULL)
		kchunk_free(c);
	LIST_REMOVE(rd, entry);
	rd->kc->st.readers--;
	free(rd->topic);
	free(rd);
}

void
kcache_free(struct kcache *kc)
{
	struct kreader	*rd;
	int		 i;

	if (kc == NULL)
		return;
	for (i = 0; i < KC_BUCKETS; i++)
		while ((rd = LIST_FIRST(&kc->buckets[i])) != NULL)
			kreader_free(rd);
	free(kc);
}

void
kcache_stats(const struct kcache *kc, struct kcache_stats *st)
{
	*st = kc->st;
}

void
kcache_sweep(struct kcache *kc, double now, double idle)
{
	struct kchunk	*c, *next;
	struct kreader	*rd, *rnext;
	int		 i;

	for (c = TAILQ_FIRST(&kc->lru); c != NULL; c = next) {
		next = TAILQ_NEXT(c, lru);
		if (now - c->used < idle)
			break;		/* the rest were read later */
		kchunk_free(c);
	}
	for (i = 0; i < KC_BUCKETS; i++)
		for (rd = LIST_FIRST(&kc->buckets[i]); rd != NULL; rd = rnext) {
			rnext = LIST_NEXT(rd, entry);
			if (TAILQ_EMPTY(&rd->chunks) && TAILQ_EMPTY(&rd->waiting) &&
			    !rd->inflight && now - rd->used >= idle)
				kreader_free(rd);
		}
}

void
kcache_forget(struct kcache *kc, const void *owner)
{
	struct kreader	*rd, *rnext;
	int		 i;

	for (i = 0; i < KC_BUCKETS; i++)
		for (rd = LIST_FIRST(&kc->buckets[i]); rd != NULL; rd = rnext) {
			rnext = LIST_NEXT(rd, entry);
			if (rd->owner == owner)
				kreader_free(rd);
		}
}

void
kcache_set_budget(struct kcache *kc, size_t budget)
{
	kc->st.budget = budget ? budget : (size_t)256 << 20;
	kc_evict(kc, NULL);
}

static unsigned int
kc_hash(const void *owner, const char *topic, int32_t partition)
{
	uint64_t	 h = 14695981039346656037ULL;
	uintptr_t	 o = (uintptr_t)owner;
	size_t		 i;

	for (i = 0; i < sizeof(o); i++, o >>= 8)
		h = (h ^ (o & 0xff)) * 1099511628211ULL;
	for (; *topic != '\0'; topic++)
		h = (h ^ (uint8_t)*topic) * 1099511628211ULL;
	h = (h ^ (uint32_t)partition) * 1099511628211ULL;
	return (unsigned int)(h % KC_BUCKETS);
}

struct kreader *
kcache_reader(struct kcache *kc, void *owner, const char *topic,
    int32_t partition)
{
	struct kreaderl	*b = &kc->buckets[kc_hash(owner, topic, partition)];
	struct kreader	*rd;

	LIST_FOREACH(rd, b, entry)
		if (rd->owner == owner && rd->partition == partition &&
		    strcmp(rd->topic, topic) == 0)
			return rd;
	if ((rd = calloc(1, sizeof(*rd))) == NULL)
		return NULL;
	if ((rd->topic = strdup(topic)) == NULL) {
		free(rd);
		return NULL;
	}
	rd->kc = kc;
	rd->owner = owner;
	rd->partition = partition;
	rd->end = -1;
	TAILQ_INIT(&rd->chunks);
	TAILQ_INIT(&rd->waiting);
	LIST_INSERT_HEAD(b, rd, entry);
	kc->st.readers++;
	return rd;
}

/* Over the budget: drop the least recently read chunks, but `keep'. */
static void
kc_evict(struct kcache *kc, const struct kchunk *keep)
{
	struct kchunk	*c, *next;

	for (c = TAILQ_FIRST(&kc->lru); c != NULL && kc->st.bytes > kc->st.budget;
	    c = next) {
		next = TAILQ_NEXT(c, lru);
		if (c == keep)
			continue;
		kchunk_free(c);
		kc->st.evicted++;
	}
}

static void
kchunk_touch(struct kchunk *c, double now)
{
	struct kcache	*kc = c->rd->kc;

	c->used = now;
	c->rd->used = now;
	TAILQ_REMOVE(&kc->lru, c, lru);
	TAILQ_INSERT_TAIL(&kc->lru, c, lru);
}

/* ---- looking things up ---- */

/*
 * The chunk holding offset, or NULL.  From the newest end: most reads are
 * at or near the tail, where a partition followed at a high rate gathers
 * many small chunks.
 */
static struct kchunk *
kr_chunk_at(struct kreader *rd, int64_t offset)
{
	struct kchunk	*c;

	TAILQ_FOREACH_REVERSE(c, &rd->chunks, kchunkq, entry)
		if (c->from <= offset)
			return offset < c->to ? c : NULL;
	return NULL;
}

/* Index of the first record at or after offset in c. */
static size_t
kchunk_find(const struct kchunk *c, int64_t offset)
{
	size_t	 lo = 0, hi = c->nrecs, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (c->recs[mid].offset < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Can the window answer a read at offset?  1 if it holds a record at or
 * after it (through contiguous chunks); else 0 with *need, the offset
 * from which a Fetch would bring something.
 */
static int
kr_locate(struct kreader *rd, int64_t offset, int64_t *need)
{
	struct kchunk	*c;

	if ((c = kr_chunk_at(rd, offset)) == NULL) {
		*need = offset;
		return 0;
	}
	for (;;) {
		if (kchunk_find(c, offset) < c->nrecs)
			return 1;
		offset = c->to;
		c = TAILQ_NEXT(c, entry);
		if (c == NULL || c->from != offset) {
			*need = offset;
			return 0;
		}
	}
}

/* ---- reading ---- */

static int
kr_fetch(struct kreader *rd, int64_t from)
{
	struct kcache	*kc = rd->kc;

	rd->inflight = 1;
	rd->inflight_from = from;
	kc->st.fetches++;
	if (kc->ops->fetch(rd->owner, rd, rd->topic, rd->partition, from,
	    rd->end >= 0 && from >= rd->end) != 0) {
		rd->inflight = 0;
		return -1;
	}
	return 0;
}

int
kreader_submit(struct kreader *rd, struct kreader_req *req, int64_t offset,
    double now)
{
	int64_t	 need;

	req->rd = rd;
	req->offset = offset;
	req->waiting = 0;
	rd->used = now;
	if (kr_locate(rd, offset, &need)) {
		rd->kc->st.hits++;
		return KREADER_READY;
	}
	rd->kc->st.misses++;
	req->waiting = 1;
	TAILQ_INSERT_TAIL(&rd->waiting, req, entry);
	if (!rd->inflight && kr_fetch(rd, need) != 0) {
		TAILQ_REMOVE(&rd->waiting, req, entry);
		req->waiting = 0;
		return KREADER_ENOMEM;
	}
	return KREADER_WAIT;
}

void
kreader_cancel(struct kreader_req *req)
{
	if (req->rd == NULL || !req->waiting)
		return;
	TAILQ_REMOVE(&req->rd->waiting, req, entry);
	req->waiting = 0;
}

size_t
kreader_read(struct kreader *rd, const struct kreader_req *req,
    kafka_record_cb cb, void *arg, int64_t *next, double now)
{
	struct kafka_record	 r;
	struct kchunk		*c;
	const struct krec	*k;
	int64_t			 offset = req->offset;
	size_t			 i, n = 0;

	*next = offset;
	memset(&r, 0, sizeof(r));
	for (c = kr_chunk_at(rd, offset); c != NULL; c = TAILQ_NEXT(c, entry)) {
		if (c->from > offset)
			break;			/* a gap: the window ends */
		kchunk_touch(c, now);
		for (i = kchunk_find(c, offset); i < c->nrecs; i++) {
			k = &c->recs[i];
			r.offset = k->offset;
			r.timestamp = k->timestamp;
			r.key = k->key;
			r.key_len = k->key_len;
			r.value = k->value;
			r.value_len = k->value_len;
			if (cb(arg, &r) != 0) {
				*next = k->offset;
				return n;
			}
			n++;
			*next = k->offset + 1;
		}
		offset = c->to;
		*next = offset;
	}
	return n;
}

void
kreader_ahead(struct kreader *rd, int64_t next, double now)
{
	struct kchunk	*c;
	int64_t		 end;

	(void)now;
	if (rd->inflight || rd->end < 0)
		return;
	if (next >= rd->end) {
		/*
		 * A client read up to the end of the log as last seen: keep a
		 * Fetch there (held by the broker until records arrive), so
		 * that what comes next is in the window when clients ask, and
		 * clients busy with their answers do not slow the partition
		 * down.  One at a time; an idle partition costs one Fetch per
		 * --fetch-wait while someone follows it.
		 */
		(void)kr_fetch(rd, rd->end);
		return;
	}
	if ((c = kr_chunk_at(rd, next)) == NULL) {
		/*
		 * The read took everything up to a chunk's end: fetch from
		 * there now, while the answer travels and the client asks.
		 */
		if (next > 0 && (c = kr_chunk_at(rd, next - 1)) != NULL &&
		    c->to == next)
			(void)kr_fetch(rd, next);
		return;
	}
	/* Only once the reader is in the last chunk of its stretch. */
	if (TAILQ_NEXT(c, entry) != NULL && TAILQ_NEXT(c, entry)->from == c->to)
		return;
	end = c->to;
	if (end >= rd->end)
		return;
	/* Read-ahead never pushes the cache over budget by itself. */
	if (rd->kc->st.bytes + c->bytes > rd->kc->st.budget)
		return;
	(void)kr_fetch(rd, end);
}

/* ---- answers from the broker ---- */

static int
kr_add_record(void *arg, const struct kafka_record *r)
{
	struct kchunk	*c = arg;
	struct krec	*k;
	size_t		 ncap;

	if (c->nrecs == c->cap) {
		ncap = c->cap ? c->cap * 2 : 64;
		if ((k = realloc(c->recs, ncap * sizeof(*k))) == NULL)
			return 1;
		c->recs = k;
		c->cap = ncap;
	}
	k = &c->recs[c->nrecs++];
	k->offset = r->offset;
	k->timestamp = r->timestamp;
	k->key = r->key;
	k->key_len = r->key_len;
	k->value = r->value;
	k->value_len = r->value_len;
	return 0;
}

/*
 * Insert c by offset, cut to what no other chunk covers; 0, or -1 if
 * nothing new.  From the newest end: answers are mostly appended there.
 */
static int
kr_insert(struct kreader *rd, struct kchunk *c)
{
	struct kchunk	*o;
	size_t		 i;

	TAILQ_FOREACH_REVERSE(o, &rd->chunks, kchunkq, entry) {
		if (o->from >= c->to)
			continue;		/* after c */
		if (o->to <= c->from)
			break;			/* c goes after o */
		/* Overlap: keep the older chunk, cut the new one around it. */
		if (o->from > c->from) {
			c->to = o->from;	/* o starts inside c */
			continue;
		}
		c->from = o->to;		/* o covers c's start */
		break;
	}
	if (c->from >= c->to)
		return -1;
	/* Records outside the cut range go. */
	for (i = 0; i < c->nrecs && c->recs[i].offset < c->from; i++)
		;
	if (i > 0) {
		memmove(c->recs, c->recs + i, (c->nrecs - i) * sizeof(*c->recs));
		c->nrecs -= i;
	}
	while (c->nrecs > 0 && c->recs[c->nrecs - 1].offset >= c->to)
		c->nrecs--;
	if (o == NULL)
		TAILQ_INSERT_HEAD(&rd->chunks, c, entry);
	else
		TAILQ_INSERT_AFTER(&rd->chunks, o, c, entry);
	rd->nchunks++;
	return 0;
}

/* Serve every waiting read that can be served, fetch for the first other. */
static void
kr_pump(struct kreader *rd, double now)
{
	const struct kreader_ops *ops = rd->kc->ops;
	struct kreader_req	*req, *next;
	struct kreader_fail	 f;
	int64_t			 need, first = INT64_MAX;

	for (req = TAILQ_FIRST(&rd->waiting); req != NULL; req = next) {
		next = TAILQ_NEXT(req, entry);
		if (kr_locate(rd, req->offset, &need)) {
			TAILQ_REMOVE(&rd->waiting, req, entry);
			req->waiting = 0;
			ops->ready(rd->owner, req, NULL);
			continue;
		}
		if (need < first)
			first = need;
	}
	if (rd->inflight || first == INT64_MAX)
		return;
	if (kr_fetch(rd, first) == 0)
		return;
	/* Could not start a Fetch: fail the reads that needed it. */
	memset(&f, 0, sizeof(f));
	f.err = KREADER_ENOMEM;
	f.errmsg = "out of memory";
	while ((req = TAILQ_FIRST(&rd->waiting)) != NULL) {
		TAILQ_REMOVE(&rd->waiting, req, entry);
		req->waiting = 0;
		ops->ready(rd->owner, req, &f);
	}
	(void)now;
}

/*
 * The reads that needed the Fetch from `from' and that it did not serve:
 * failed with f, or, with f NULL (it brought nothing new), answered now,
 * empty: they are at the end of the log.  Only those: a read beyond the
 * end needs a Fetch of its own, for the broker's OFFSET_OUT_OF_RANGE.
 */
static void
kr_ready_from(struct kreader *rd, int64_t from, const struct kreader_fail *f)
{
	struct kreader_req	*req, *next;
	int64_t			 need;

	for (req = TAILQ_FIRST(&rd->waiting); req != NULL; req = next) {
		next = TAILQ_NEXT(req, entry);
		if (kr_locate(rd, req->offset, &need) || need != from)
			continue;
		TAILQ_REMOVE(&rd->waiting, req, entry);
		req->waiting = 0;
		rd->kc->ops->ready(rd->owner, req, f);
	}
}

void
kreader_fetched(struct kreader *rd, int64_t offset, const uint8_t *records,
    size_t len, const struct kafka_aborted_txn *aborted, size_t naborted,
    int64_t end_offset, double now)
{
	struct kcache			*kc = rd->kc;
	struct kafka_records_info	 info;
	struct kreader_fail		 f;
	const struct kreader_fail	*fail = NULL;
	struct kchunk			*c, *o;
	int				 bad;

	rd->inflight = 0;
	if (end_offset >= 0)
		rd->end = end_offset;
	kc->st.fetched_bytes += len;
	memset(&f, 0, sizeof(f));
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (len > 0 && (c->raw = malloc(len)) == NULL)) {
		free(c);
		c = NULL;
		f.err = KREADER_ENOMEM;
		f.errmsg = "out of memory";
		fail = &f;
		goto done;
	}
	if (len > 0)
		memcpy(c->raw, records, len);
	c->rd = rd;
	kafka_arena_init(&c->arena, 0);
	memset(&info, 0, sizeof(info));
	bad = kafka_records_decode_txn(c->raw, len, offset, aborted, naborted,
	    &c->arena, kr_add_record, c, &info) != 0;
	if (info.stopped) {
		/* Out of memory for the index: keep what is complete. */
		bad = 1;
		info.err = KAFKA_RECORDS_ENOMEM;
	}
	c->from = offset;
	c->to = info.stopped && c->nrecs > 0 ? c->recs[c->nrecs - 1].offset + 1 :
	    info.next_offset;
	if (bad && c->to <= offset) {
		/* Nothing good before the bad batch: its reads fail. */
		f.err = info.err == KAFKA_RECORDS_ENOMEM ? KREADER_ENOMEM :
		    KREADER_ECORRUPT;
		f.errmsg = info.errmsg[0] ? info.errmsg : "out of memory";
		fail = &f;
		goto done;
	}
	/* Nothing new: the reads that needed it are at the end (no fail). */
	if (c->to <= c->from || kr_insert(rd, c) != 0)
		goto done;
	c->bytes = sizeof(*c) + len + c->arena.total + c->cap * sizeof(*c->recs);
	c->used = now;
	rd->used = now;
	TAILQ_INSERT_TAIL(&kc->lru, c, lru);
	kc->st.bytes += c->bytes;
	kc->st.chunks++;
	kc_evict(kc, c);
	/*
	 * A partition followed at a high rate brings many small answers:
	 * past KR_MAX_CHUNKS a reader drops its oldest (by offset), so that
	 * no walk grows with time.  A client that far behind fetches again.
	 */
	while (rd->nchunks > KR_MAX_CHUNKS &&
	    (o = TAILQ_FIRST(&rd->chunks)) != c) {
		kchunk_free(o);
		kc->st.evicted++;
	}
	kr_pump(rd, now);
	return;
done:
	kchunk_discard(c);
	kr_ready_from(rd, offset, fail);
	kr_pump(rd, now);
}

void
kreader_failed(struct kreader *rd, int64_t offset, const struct kreader_fail *f,
    double now)
{
	rd->inflight = 0;
	kr_ready_from(rd, offset, f);
	kr_pump(rd, now);
}
