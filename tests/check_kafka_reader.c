/*
 * check_kafka_reader.c -- partition readers without a broker: Fetch
 * answers are record sets built here, the clock is a number, the owner's
 * ops record what the reader asks for.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/reader.h"
#include "kafka/record.h"

/* ---- record batches (magic 2, uncompressed) ---- */

struct buf {
	uint8_t		 b[1 << 16];
	size_t		 n;
};

static void
put8(struct buf *w, uint8_t v)
{
	ck_assert_uint_lt(w->n, sizeof(w->b));
	w->b[w->n++] = v;
}

static void
put_be(struct buf *w, uint64_t v, int bytes)
{
	while (bytes-- > 0)
		put8(w, (uint8_t)(v >> (bytes * 8)));
}

static void
put_varint(struct buf *w, int64_t v)
{
	uint64_t	 z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);

	while (z >= 0x80) {
		put8(w, (uint8_t)(z | 0x80));
		z >>= 7;
	}
	put8(w, (uint8_t)z);
}

/*
 * A batch at base with n records whose values are "v<offset>"; control:
 * one COMMIT marker instead (n must be 1).
 */
static void
batch(struct buf *w, int64_t base, int n, int control)
{
	struct buf	 recs;
	size_t		 start, crc_at, i;
	char		 val[32];
	uint32_t	 crc;

	recs.n = 0;
	for (i = 0; i < (size_t)n; i++) {
		struct buf	 r;
		int		 vl;

		r.n = 0;
		put8(&r, 0);				/* attributes */
		put_varint(&r, (int64_t)i);		/* timestamp delta */
		put_varint(&r, (int64_t)i);		/* offset delta */
		if (control) {
			put_varint(&r, 4);
			put_be(&r, 0, 2);		/* version */
			put_be(&r, 1, 2);		/* COMMIT */
			put_varint(&r, 6);
			put_be(&r, 0, 2);
			put_be(&r, 0, 4);
		} else {
			put_varint(&r, -1);		/* null key */
			vl = snprintf(val, sizeof(val), "v%lld",
			    (long long)(base + (int64_t)i));
			put_varint(&r, vl);
			memcpy(r.b + r.n, val, (size_t)vl);
			r.n += (size_t)vl;
		}
		put_varint(&r, 0);			/* headers */
		put_varint(&recs, (int64_t)r.n);
		memcpy(recs.b + recs.n, r.b, r.n);
		recs.n += r.n;
	}
	start = w->n;
	put_be(w, (uint64_t)base, 8);
	put_be(w, 0, 4);				/* length, below */
	put_be(w, 0, 4);				/* leader epoch */
	put8(w, 2);					/* magic */
	crc_at = w->n;
	put_be(w, 0, 4);
	put_be(w, control ? 0x30 : 0, 2);		/* attributes */
	put_be(w, (uint64_t)(n - 1), 4);		/* last offset delta */
	put_be(w, 1000, 8);
	put_be(w, 1000 + (uint64_t)n, 8);
	put_be(w, control ? 7 : (uint64_t)-1, 8);	/* producer id */
	put_be(w, 0, 2);
	put_be(w, (uint64_t)-1, 4);
	put_be(w, (uint64_t)n, 4);
	memcpy(w->b + w->n, recs.b, recs.n);
	w->n += recs.n;
	{
		uint32_t	 len = (uint32_t)(w->n - start - 12);

		w->b[start + 8] = (uint8_t)(len >> 24);
		w->b[start + 9] = (uint8_t)(len >> 16);
		w->b[start + 10] = (uint8_t)(len >> 8);
		w->b[start + 11] = (uint8_t)len;
	}
	crc = kafka_crc32c(0, w->b + crc_at + 4, w->n - crc_at - 4);
	w->b[crc_at] = (uint8_t)(crc >> 24);
	w->b[crc_at + 1] = (uint8_t)(crc >> 16);
	w->b[crc_at + 2] = (uint8_t)(crc >> 8);
	w->b[crc_at + 3] = (uint8_t)crc;
}

/* ---- a fake owner ---- */

#define MAXF	64
#define MAXR	256

static int64_t		 fetches[MAXF];
static int		 nfetches;
static int		 fetch_fails;
static struct kreader_req *served[MAXR];
static int		 served_err[MAXR];
static int		 nserved;
static int		 owner;

static int		 tails[MAXF];

static int
t_fetch(void *o, struct kreader *rd, const char *topic, int32_t partition,
    int64_t offset, int tail)
{
	(void)rd;
	if (nfetches < MAXF)
		tails[nfetches] = tail;
	ck_assert_ptr_eq(o, &owner);
	ck_assert_str_eq(topic, "t");
	ck_assert_int_eq(partition, 0);
	if (fetch_fails)
		return -1;
	if (nfetches < MAXF)
		fetches[nfetches] = offset;
	nfetches++;
	return 0;
}

static void
t_ready(void *o, struct kreader_req *req, const struct kreader_fail *f)
{
	(void)o;
	if (nserved < MAXR) {
		served_err[nserved] = f != NULL ? f->err : 0;
		served[nserved] = req;
	}
	nserved++;
}

static const struct kreader_ops ops = { t_fetch, t_ready };

static struct kcache	*kc;
static struct kreader	*rd;

static void
setup(void)
{
	nfetches = nserved = fetch_fails = 0;
	kc = kcache_new(1 << 20, &ops);
	ck_assert_ptr_nonnull(kc);
	rd = kcache_reader(kc, &owner, "t", 0);
	ck_assert_ptr_nonnull(rd);
	ck_assert_ptr_eq(kcache_reader(kc, &owner, "t", 0), rd);
}

static void
teardown(void)
{
	kcache_free(kc);
}

struct got {
	int64_t		 offs[4096];
	int		 n;
	int		 stop_after;	/* 0: never */
};

static int
collect(void *arg, const struct kafka_record *r)
{
	struct got	*g = arg;
	char		 want[32];

	if (g->stop_after > 0 && g->n == g->stop_after)
		return 1;
	(void)snprintf(want, sizeof(want), "v%lld", (long long)r->offset);
	ck_assert_int_eq(r->value_len, (int32_t)strlen(want));
	ck_assert(memcmp(r->value, want, strlen(want)) == 0);
	g->offs[g->n++] = r->offset;
	return 0;
}

/* Answer the Fetch from `from' with batches [from, from+n) of data. */
static void
answer(int64_t from, int n, int64_t end, double now)
{
	struct buf	 w;

	w.n = 0;
	if (n > 0)
		batch(&w, from, n, 0);
	kreader_fetched(rd, from, w.b, w.n, NULL, 0, end, now);
}

/* ---- tests ---- */

START_TEST(test_miss_then_hits)
{
	struct kreader_req	 a, b;
	struct got		 g;
	int64_t			 next;

	ck_assert_int_eq(kreader_submit(rd, &a, 0, 1.0), KREADER_WAIT);
	ck_assert_int_eq(nfetches, 1);
	ck_assert_int_eq(fetches[0], 0);
	answer(0, 10, 10, 1.1);
	ck_assert_int_eq(nserved, 1);
	ck_assert_ptr_eq(served[0], &a);
	memset(&g, 0, sizeof(g));
	ck_assert_uint_eq(kreader_read(rd, &a, collect, &g, &next, 1.1), 10);
	ck_assert_int_eq(next, 10);
	ck_assert_int_eq(g.offs[0], 0);
	ck_assert_int_eq(g.offs[9], 9);

	/* Inside the window: answered from memory, no Fetch. */
	ck_assert_int_eq(kreader_submit(rd, &b, 5, 1.2), KREADER_READY);
	memset(&g, 0, sizeof(g));
	g.stop_after = 3;
	ck_assert_uint_eq(kreader_read(rd, &b, collect, &g, &next, 1.2), 3);
	ck_assert_int_eq(next, 8);		/* the frame was full at 8 */
	ck_assert_int_eq(g.offs[0], 5);
	ck_assert_int_eq(nfetches, 1);
}
END_TEST

START_TEST(test_read_ahead)
{
	struct kreader_req	 a;
	struct got		 g;
	int64_t			 next;

	ck_assert_int_eq(kreader_submit(rd, &a, 0, 1.0), KREADER_WAIT);
	answer(0, 10, 100, 1.0);		/* the log goes on to 100 */
	memset(&g, 0, sizeof(g));
	g.stop_after = 4;
	(void)kreader_read(rd, &a, collect, &g, &next, 1.0);
	ck_assert_int_eq(next, 4);
	/* Reading the last chunk: the next stretch is fetched ahead. */
	kreader_ahead(rd, next, 1.0);
	ck_assert_int_eq(nfetches, 2);
	ck_assert_int_eq(fetches[1], 10);
	ck_assert_int_eq(tails[1], 0);		/* read-ahead: data is there */
	kreader_ahead(rd, next, 1.0);		/* one in flight at a time */
	ck_assert_int_eq(nfetches, 2);
	answer(10, 10, 100, 1.1);
	/* A client at 10 is now answered from memory. */
	ck_assert_int_eq(kreader_submit(rd, &a, 10, 1.2), KREADER_READY);
	memset(&g, 0, sizeof(g));
	ck_assert_uint_eq(kreader_read(rd, &a, collect, &g, &next, 1.2), 10);
	/* Everything up to 20 read: fetch from 20 at once. */
	kreader_ahead(rd, next, 1.2);
	ck_assert_int_eq(nfetches, 3);
	ck_assert_int_eq(fetches[2], 20);
	/* Across contiguous chunks a read goes on. */
	answer(20, 5, 100, 1.3);
	ck_assert_int_eq(kreader_submit(rd, &a, 15, 1.4), KREADER_READY);
	memset(&g, 0, sizeof(g));
	ck_assert_uint_eq(kreader_read(rd, &a, collect, &g, &next, 1.4), 10);
	ck_assert_int_eq(next, 25);
}
END_TEST

START_TEST(test_markers_stepped_over)
{
	struct kreader_req	 a, b;
	struct buf		 w;
	struct got		 g;
	int64_t			 next;

	ck_assert_int_eq(kreader_submit(rd, &a, 3, 1.0), KREADER_WAIT);
	/* The answer holds only a COMMIT marker at 3. */
	w.n = 0;
	batch(&w, 3, 1, 1);
	kreader_fetched(rd, 3, w.b, w.n, NULL, 0, 6, 1.0);
	ck_assert_int_eq(nserved, 0);		/* not answered empty */
	ck_assert_int_eq(nfetches, 2);
	ck_assert_int_eq(fetches[1], 4);	/* read on past the marker */
	answer(4, 2, 6, 1.1);
	ck_assert_int_eq(nserved, 1);
	memset(&g, 0, sizeof(g));
	ck_assert_uint_eq(kreader_read(rd, &a, collect, &g, &next, 1.1), 2);
	ck_assert_int_eq(g.offs[0], 4);
	/* Another client at the marker: from memory, the records after it. */
	ck_assert_int_eq(kreader_submit(rd, &b, 3, 1.2), KREADER_READY);
}
END_TEST

START_TEST(test_tail_fan_in)
{
	struct kreader_req	 reqs[100], late;
	struct got		 g;
	int64_t			 next;
	int			 i;

	for (i = 0; i < 100; i++)
		ck_assert_int_eq(kreader_submit(rd, &reqs[i], 10, 1.0),
		    KREADER_WAIT);
	ck_assert_int_eq(nfetches, 1);		/* one Fetch for a hundred */
	answer(10, 3, 13, 1.1);
	ck_assert_int_eq(nserved, 100);
	for (i = 0; i < 100; i++) {
		memset(&g, 0, sizeof(g));
		ck_assert_uint_eq(kreader_read(rd, &reqs[i], collect, &g, &next,
		    1.1), 3);
	}
	/* At the end of the log: one Fetch, answered empty. */
	ck_assert_int_eq(kreader_submit(rd, &late, 13, 1.2), KREADER_WAIT);
	ck_assert_int_eq(nfetches, 2);
	ck_assert_int_eq(tails[0], 0);		/* nothing known yet */
	ck_assert_int_eq(tails[1], 1);		/* at the end: a long poll */
	answer(13, 0, 13, 1.3);
	ck_assert_int_eq(nserved, 101);
	ck_assert_int_eq(served_err[100], 0);
	memset(&g, 0, sizeof(g));
	ck_assert_uint_eq(kreader_read(rd, &late, collect, &g, &next, 1.3), 0);
	ck_assert_int_eq(next, 13);
	/* Read up to the end: a tail Fetch stays out for what comes next. */
	kreader_ahead(rd, next, 1.3);
	ck_assert_int_eq(nfetches, 3);
	ck_assert_int_eq(fetches[2], 13);
	ck_assert_int_eq(tails[2], 1);
	kreader_ahead(rd, next, 1.3);		/* one at a time */
	ck_assert_int_eq(nfetches, 3);
	answer(13, 2, 15, 1.4);			/* records arrived */
	ck_assert_int_eq(kreader_submit(rd, &late, 13, 1.5), KREADER_READY);
	/* Beyond the end, while a tail Fetch is out: its own Fetch follows,
	   for the broker's OFFSET_OUT_OF_RANGE, not an empty answer. */
	kreader_ahead(rd, 15, 1.6);
	ck_assert_int_eq(nfetches, 4);
	ck_assert_int_eq(kreader_submit(rd, &late, 999, 1.6), KREADER_WAIT);
	answer(15, 0, 15, 2.1);			/* the tail Fetch: nothing */
	ck_assert_int_eq(nserved, 101);		/* late not answered empty */
	ck_assert_int_eq(nfetches, 5);
	ck_assert_int_eq(fetches[4], 999);
}
END_TEST

START_TEST(test_waiters_in_offset_order)
{
	struct kreader_req	 tail, behind;

	ck_assert_int_eq(kreader_submit(rd, &tail, 50, 1.0), KREADER_WAIT);
	ck_assert_int_eq(kreader_submit(rd, &behind, 0, 1.0), KREADER_WAIT);
	ck_assert_int_eq(nfetches, 1);
	answer(50, 5, 55, 1.1);
	ck_assert_int_eq(nserved, 1);
	ck_assert_ptr_eq(served[0], &tail);
	/* Then the one far behind gets its Fetch. */
	ck_assert_int_eq(nfetches, 2);
	ck_assert_int_eq(fetches[1], 0);
	answer(0, 5, 55, 1.2);
	ck_assert_int_eq(nserved, 2);
	ck_assert_ptr_eq(served[1], &behind);
}
END_TEST

START_TEST(test_failure_and_cancel)
{
	struct kreader_req	 a, b, c;
	struct kreader_fail	 f = { 1001, 0, "broker gone" };

	ck_assert_int_eq(kreader_submit(rd, &a, 0, 1.0), KREADER_WAIT);
	ck_assert_int_eq(kreader_submit(rd, &b, 0, 1.0), KREADER_WAIT);
	ck_assert_int_eq(kreader_submit(rd, &c, 7, 1.0), KREADER_WAIT);
	kreader_cancel(&b);
	kreader_failed(rd, 0, &f, 1.1);
	ck_assert_int_eq(nserved, 1);		/* b was cancelled */
	ck_assert_ptr_eq(served[0], &a);
	ck_assert_int_eq(served_err[0], 1001);
	/* The read at 7 was not the failed Fetch's: it gets its own. */
	ck_assert_int_eq(nfetches, 2);
	ck_assert_int_eq(fetches[1], 7);
	kreader_failed(rd, 7, &f, 1.2);
	ck_assert_int_eq(nserved, 2);
	/* A Fetch that cannot start fails the read at once. */
	fetch_fails = 1;
	ck_assert_int_eq(kreader_submit(rd, &a, 0, 1.3), KREADER_ENOMEM);
}
END_TEST

START_TEST(test_corrupt_batch)
{
	struct kreader_req	 a;
	struct buf		 w;

	ck_assert_int_eq(kreader_submit(rd, &a, 0, 1.0), KREADER_WAIT);
	w.n = 0;
	batch(&w, 0, 3, 0);
	w.b[w.n - 1] ^= 0x55;			/* CRC mismatch */
	kreader_fetched(rd, 0, w.b, w.n, NULL, 0, 3, 1.0);
	ck_assert_int_eq(nserved, 1);
	ck_assert_int_eq(served_err[0], KREADER_ECORRUPT);
}
END_TEST

/* A reader far behind does not push out what tail readers keep reading. */
START_TEST(test_eviction_lru)
{
	struct kreader_req	 t, b;
	struct kcache_stats	 st;
	struct got		 g;
	int64_t			 next, off;
	int			 i;

	kcache_free(kc);
	kc = kcache_new(3 * 4096, &ops);	/* room for about three chunks */
	rd = kcache_reader(kc, &owner, "t", 0);
	/* The tail chunk, read often. */
	ck_assert_int_eq(kreader_submit(rd, &t, 1000, 1.0), KREADER_WAIT);
	answer(1000, 20, 1020, 1.0);
	/* A client far behind reads ten chunks in a row. */
	for (i = 0, off = 0; i < 10; i++, off += 20) {
		ck_assert_int_eq(kreader_submit(rd, &b, off, 2.0 + i), KREADER_WAIT);
		answer(off, 20, 1020, 2.0 + i);
		memset(&g, 0, sizeof(g));
		(void)kreader_read(rd, &b, collect, &g, &next, 2.0 + i);
		/* The tail reader reads between its Fetches. */
		ck_assert_int_eq(kreader_submit(rd, &t, 1000, 2.5 + i),
		    KREADER_READY);
		memset(&g, 0, sizeof(g));
		(void)kreader_read(rd, &t, collect, &g, &next, 2.5 + i);
	}
	kcache_stats(kc, &st);
	ck_assert_uint_le(st.bytes, st.budget);
	ck_assert_uint_gt(st.evicted, 0);
	/* The tail chunk is still there; the oldest far-behind one is not. */
	ck_assert_int_eq(kreader_submit(rd, &t, 1000, 20.0), KREADER_READY);
	ck_assert_int_eq(kreader_submit(rd, &b, 0, 20.0), KREADER_WAIT);
}
END_TEST

START_TEST(test_sweep)
{
	struct kreader_req	 a;
	struct kcache_stats	 st;

	ck_assert_int_eq(kreader_submit(rd, &a, 0, 1.0), KREADER_WAIT);
	answer(0, 10, 10, 1.0);
	kcache_sweep(kc, 30.0, 60.0);
	kcache_stats(kc, &st);
	ck_assert_uint_eq(st.chunks, 1);
	ck_assert_uint_eq(st.readers, 1);
	kcache_sweep(kc, 100.0, 60.0);
	kcache_stats(kc, &st);
	ck_assert_uint_eq(st.chunks, 0);
	ck_assert_uint_eq(st.readers, 0);
	ck_assert_uint_eq(st.bytes, 0);
	rd = NULL;
}
END_TEST

/* Overlapping answers are cut to what is new. */
START_TEST(test_overlap)
{
	struct kreader_req	 a;
	struct got		 g;
	int64_t			 next;

	ck_assert_int_eq(kreader_submit(rd, &a, 10, 1.0), KREADER_WAIT);
	answer(10, 10, 40, 1.0);		/* [10, 20) */
	ck_assert_int_eq(kreader_submit(rd, &a, 5, 1.1), KREADER_WAIT);
	answer(5, 30, 40, 1.1);			/* [5, 35): cut to [5, 10) */
	ck_assert_int_eq(kreader_submit(rd, &a, 5, 1.2), KREADER_READY);
	memset(&g, 0, sizeof(g));
	ck_assert_uint_eq(kreader_read(rd, &a, collect, &g, &next, 1.2), 15);
	ck_assert_int_eq(next, 20);
	for (int i = 0; i < 15; i++)
		ck_assert_int_eq(g.offs[i], 5 + i);
}
END_TEST

/* A partition followed at a high rate: many small chunks, bounded. */
START_TEST(test_many_small_chunks)
{
	struct kreader_req	 a;
	struct kcache_stats	 st;
	struct got		 g;
	int64_t			 next, off;

	kcache_free(kc);
	kc = kcache_new(64 << 20, &ops);
	rd = kcache_reader(kc, &owner, "t", 0);
	for (off = 0; off < 1500; off++) {
		ck_assert_int_eq(kreader_submit(rd, &a, off, 1.0), KREADER_WAIT);
		answer(off, 1, off + 1, 1.0);
		memset(&g, 0, sizeof(g));
		ck_assert_uint_eq(kreader_read(rd, &a, collect, &g, &next, 1.0), 1);
	}
	kcache_stats(kc, &st);
	ck_assert_uint_le(st.chunks, 1024);
	/* The newest are there, the oldest went. */
	ck_assert_int_eq(kreader_submit(rd, &a, 1499, 2.0), KREADER_READY);
	ck_assert_int_eq(kreader_submit(rd, &a, 600, 2.0), KREADER_READY);
	memset(&g, 0, sizeof(g));
	ck_assert_uint_eq(kreader_read(rd, &a, collect, &g, &next, 2.0), 900);
	ck_assert_int_eq(kreader_submit(rd, &a, 0, 2.0), KREADER_WAIT);
}
END_TEST

static Suite *
reader_suite(void)
{
	Suite	*s = suite_create("kafka_reader");
	TCase	*tc = tcase_create("reader");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_miss_then_hits);
	tcase_add_test(tc, test_read_ahead);
	tcase_add_test(tc, test_markers_stepped_over);
	tcase_add_test(tc, test_tail_fan_in);
	tcase_add_test(tc, test_waiters_in_offset_order);
	tcase_add_test(tc, test_failure_and_cancel);
	tcase_add_test(tc, test_corrupt_batch);
	tcase_add_test(tc, test_eviction_lru);
	tcase_add_test(tc, test_sweep);
	tcase_add_test(tc, test_overlap);
	tcase_add_test(tc, test_many_small_chunks);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(reader_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
