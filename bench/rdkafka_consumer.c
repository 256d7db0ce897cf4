/*
 * rdkafka_consumer.c -- the benchmark's reference: the same reads as
 * bench/wsclient.c, straight from Kafka with librdkafka.  Bench only;
 * the product never links librdkafka.
 *
 *   rdkafka_consumer catchup     -b BROKERS -t TOPIC [-p PARTS]
 *	assign() the partitions PARTS ("0", "0-63"; default 0) from offset 0
 *	(no subscribe, no group membership, nothing committed) and read
 *	until each reaches the end it had at the start.
 *   rdkafka_consumer listoffsets -b BROKERS -t TOPIC [-p P] [-c COUNT] [-w WARMUP]
 *	sequential ListOffsets round trips for the latest offset
 *	(rd_kafka_offsets_for_times() with -1: one ListOffsets request,
 *	as kafkagate sends for list_offset -1): p50, p99.
 *   rdkafka_consumer tail        -b BROKERS -t TOPIC [-p P] -d SECONDS
 *	assign() P at its end and follow it: latency of each record from
 *	its timestamp to its receipt.  Prints "go" when the window opens.
 *
 * -W NAME=PID: CPU time of that process over the measured window.  The
 * client's defaults are librdkafka's (fetch.wait.max.ms 500,
 * max.partition.fetch.bytes 1 MiB, ...).  Prints one line of key=value
 * pairs; exit status 0, or 1 on any failure.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "benchutil.h"

#define MAX_PARTS	1024
#define BATCH		4096

static const char	*brokers, *topic;
static int		 pfirst, plast;
static int		 count = 1000, warmup = 100;
static double		 duration = 5;
static struct bu_watch	 watch;

static void
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "rdkafka_consumer: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

static void
set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
	char	 err[256];

	if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK)
		die("%s", err);
}

static rd_kafka_t *
consumer(void)
{
	rd_kafka_conf_t	*conf = rd_kafka_conf_new();
	rd_kafka_t	*rk;
	char		 err[256];

	set(conf, "bootstrap.servers", brokers);
	/* librdkafka's assign() needs a group.id; it is never joined */
	set(conf, "group.id", "kafkagate-bench");
	set(conf, "enable.auto.commit", "false");
	set(conf, "enable.auto.offset.store", "false");
	set(conf, "log_level", "3");
	if ((rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err))) == NULL)
		die("%s", err);
	rd_kafka_poll_set_consumer(rk);
	return rk;
}

static void
assign(rd_kafka_t *rk, int64_t offset)
{
	rd_kafka_topic_partition_list_t	*l;
	rd_kafka_resp_err_t		 e;
	int				 p;

	l = rd_kafka_topic_partition_list_new(plast - pfirst + 1);
	for (p = pfirst; p <= plast; p++)
		rd_kafka_topic_partition_list_add(l, topic, p)->offset = offset;
	if ((e = rd_kafka_assign(rk, l)) != RD_KAFKA_RESP_ERR_NO_ERROR)
		die("assign: %s", rd_kafka_err2str(e));
	rd_kafka_topic_partition_list_destroy(l);
}

static int
catchup(void)
{
	rd_kafka_t		*rk = consumer();
	rd_kafka_queue_t	*q;
	rd_kafka_message_t	*msgs[BATCH];
	int64_t			 end[MAX_PARTS], next[MAX_PARTS], lo, hi;
	uint64_t		 records = 0, bytes = 0, gaps = 0, t0, t1;
	uint64_t		 total = 0, want;
	double			 cpu0, wall;
	int			 p, left = 0, i, stalls = 0;
	ssize_t			 n;
	rd_kafka_resp_err_t	 e;

	for (p = pfirst; p <= plast; p++) {
		e = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000);
		if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
			die("query_watermark_offsets: %s", rd_kafka_err2str(e));
		end[p - pfirst] = hi;
		next[p - pfirst] = 0;
		if (hi > 0)
			left++;
		total += (uint64_t)hi;
	}
	q = rd_kafka_queue_get_consumer(rk);
	cpu0 = bu_self_cpu();
	bu_watch_snap(&watch, 0);
	t0 = bu_mono_ns();
	assign(rk, 0);
	while (left > 0) {
		/* the batch call waits until it is full: ask for what is left */
		want = total - records < BATCH ? total - records : BATCH;
		if ((n = rd_kafka_consume_batch_queue(q, 1000, msgs, want)) < 0)
			die("%s", "consume_batch_queue failed");
		if (n == 0 && ++stalls > 10)
			die("%s", "no record for 10 s");
		if (n > 0)
			stalls = 0;
		for (i = 0; i < n; i++) {
			rd_kafka_message_t	*m = msgs[i];
			int			 k = m->partition - pfirst;

			if (m->err) {
				if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
					die("consume: %s", rd_kafka_message_errstr(m));
			} else if (k >= 0 && k <= plast - pfirst &&
			    next[k] < end[k]) {
				if (m->offset < next[k])
					die("%s", "a record below the offset asked for");
				gaps += (uint64_t)(m->offset - next[k]);
				next[k] = m->offset + 1;
				records++;
				bytes += m->len + m->key_len;
				if (next[k] >= end[k])
					left--;
			}
			rd_kafka_message_destroy(m);
		}
	}
	t1 = bu_mono_ns();
	bu_watch_snap(&watch, 1);
	wall = (double)(t1 - t0) / 1e9;
	printf("mode=catchup clients=1 partitions=%d records=%llu bytes=%llu "
	    "wall=%.4f rps=%.1f mbps=%.3f gaps=%llu cpu_client=%.3f",
	    plast - pfirst + 1, (unsigned long long)records,
	    (unsigned long long)bytes, wall, records / wall, bytes / wall / 1e6,
	    (unsigned long long)gaps, bu_self_cpu() - cpu0);
	bu_watch_print(&watch, stdout);
	putchar('\n');
	rd_kafka_queue_destroy(q);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return 0;
}

static int
listoffsets(void)
{
	rd_kafka_t	*rk = consumer();
	uint64_t	*s, t;
	double		 sum = 0, cpu0 = 0;
	int		 i, n = 0;

	if ((s = calloc((size_t)count, sizeof(*s))) == NULL)
		die("%s", "out of memory");
	for (i = 0; i < warmup + count; i++) {
		rd_kafka_topic_partition_list_t	*l;
		rd_kafka_resp_err_t		 e;

		if (i == warmup)
			cpu0 = bu_self_cpu();
		l = rd_kafka_topic_partition_list_new(1);
		rd_kafka_topic_partition_list_add(l, topic, pfirst)->offset = -1;
		t = bu_mono_ns();
		e = rd_kafka_offsets_for_times(rk, l, 10000);
		t = bu_mono_ns() - t;
		if (e != RD_KAFKA_RESP_ERR_NO_ERROR || l->elems[0].err ||
		    l->elems[0].offset < 0)
			die("offsets_for_times: %s", rd_kafka_err2str(e ? e :
			    l->elems[0].err));
		rd_kafka_topic_partition_list_destroy(l);
		if (i >= warmup)
			s[n++] = t;
	}
	qsort(s, (size_t)n, sizeof(*s), bu_cmp_u64);
	for (i = 0; i < n; i++)
		sum += (double)s[i];
	printf("mode=listoffset count=%d p50_us=%.1f p99_us=%.1f mean_us=%.1f "
	    "min_us=%.1f max_us=%.1f cpu_client=%.3f\n", n,
	    bu_sorted_quantile(s, (size_t)n, 0.5) / 1e3,
	    bu_sorted_quantile(s, (size_t)n, 0.99) / 1e3, sum / n / 1e3,
	    s[0] / 1e3, s[n - 1] / 1e3, bu_self_cpu() - cpu0);
	rd_kafka_destroy(rk);
	free(s);
	return 0;
}

static int
tail(void)
{
	rd_kafka_t		*rk = consumer();
	rd_kafka_queue_t	*q = rd_kafka_queue_get_consumer(rk);
	rd_kafka_message_t	*msgs[BATCH];
	struct bu_hist		*h = calloc(1, sizeof(*h));
	uint64_t		 records = 0, bytes = 0, skipped = 0, t0, t1, dl;
	int64_t			 t0_real, now_us, ts;
	double			 cpu0;
	ssize_t			 n, i;

	if (h == NULL)
		die("%s", "out of memory");
	assign(rk, RD_KAFKA_OFFSET_END);
	/* one second for the assignment to start fetching */
	dl = bu_mono_ns() + 1000000000u;
	while (bu_mono_ns() < dl) {
		n = rd_kafka_consume_batch_queue(q, 100, msgs, BATCH);
		for (i = 0; i < n; i++)
			rd_kafka_message_destroy(msgs[i]);
	}
	cpu0 = bu_self_cpu();
	bu_watch_snap(&watch, 0);
	t0 = bu_mono_ns();
	t0_real = bu_real_us();
	dl = t0 + (uint64_t)(duration * 1e9);
	printf("go\n");
	fflush(stdout);
	/* one record at a time: the batch call would wait for a full batch */
	while ((t1 = bu_mono_ns()) < dl) {
		rd_kafka_message_t	*m;

		m = rd_kafka_consumer_poll(rk, (int)((dl - t1) / 1000000) + 1);
		if (m != NULL) {
			now_us = bu_real_us();
			if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
				ts = rd_kafka_message_timestamp(m, NULL);
				records++;
				bytes += m->len + m->key_len;
				if (ts * 1000 < t0_real)
					skipped++;
				else
					bu_hist_add(h, now_us - ts * 1000);
			} else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				die("consume: %s", rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
		}
	}
	bu_watch_snap(&watch, 1);
	printf("mode=tail clients=1 wall=%.4f records=%llu bytes=%llu "
	    "skipped=%llu lat_n=%llu lat_neg=%llu p50_us=%lld p99_us=%lld "
	    "max_us=%lld mean_us=%.0f cpu_client=%.3f",
	    (double)(t1 - t0) / 1e9, (unsigned long long)records,
	    (unsigned long long)bytes, (unsigned long long)skipped,
	    (unsigned long long)h->count, (unsigned long long)h->below,
	    (long long)bu_hist_quantile(h, 0.5),
	    (long long)bu_hist_quantile(h, 0.99), (long long)h->max,
	    h->count ? h->sum / (double)h->count : -1.0, bu_self_cpu() - cpu0);
	bu_watch_print(&watch, stdout);
	putchar('\n');
	rd_kafka_queue_destroy(q);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	free(h);
	return 0;
}

static void
usage(void)
{
	fputs("usage: rdkafka_consumer catchup|listoffsets|tail -b BROKERS -t TOPIC "
	    "[-p P|P-Q] [-c COUNT]\n"
	    "       [-w WARMUP] [-d SECONDS] [-W NAME=PID]\n", stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	const char	*mode;
	char		*dash;
	int		 ch;

	if (argc < 2)
		usage();
	mode = argv[1];
	optind = 2;
	while ((ch = getopt(argc, argv, "b:t:p:c:w:d:W:")) != -1) {
		switch (ch) {
		case 'b': brokers = optarg; break;
		case 't': topic = optarg; break;
		case 'p':
			pfirst = plast = atoi(optarg);
			if ((dash = strchr(optarg, '-')) != NULL)
				plast = atoi(dash + 1);
			break;
		case 'c': count = atoi(optarg); break;
		case 'w': warmup = atoi(optarg); break;
		case 'd': duration = atof(optarg); break;
		case 'W':
			if (bu_watch_add(&watch, optarg) != 0)
				usage();
			break;
		default: usage();
		}
	}
	if (brokers == NULL || topic == NULL || pfirst < 0 || plast < pfirst ||
	    plast - pfirst >= MAX_PARTS || count < 1 || warmup < 0)
		usage();
	if (strcmp(mode, "catchup") == 0)
		return catchup();
	if (strcmp(mode, "listoffsets") == 0)
		return listoffsets();
	if (strcmp(mode, "tail") == 0)
		return tail();
	usage();
	return 2;
}
