/*
 * rdkafka_producer.c -- creates and fills the benchmark's topics with
 * librdkafka.  Bench only; the product never links librdkafka.
 *
 *   rdkafka_producer create -b BROKERS NAME:PARTITIONS[:k=v,...] ...
 *	create the topics (Admin API), wait until every partition has a leader
 *   rdkafka_producer seed -b BROKERS -t TOPIC -n COUNT -s SIZE [-P PARTS] [-z CODEC]
 *	COUNT records of SIZE bytes, null keys, record i to partition i % PARTS,
 *	with librdkafka's default batching (linger.ms, batch.size,
 *	batch.num.messages untouched); CODEC none (default) or lz4 ...
 *   rdkafka_producer rate -b BROKERS -t TOPIC -r PER_SECOND -s SIZE [-l LINGER_MS]
 *	records at a steady rate to partition 0 until SIGTERM or SIGINT;
 *	linger.ms LINGER_MS (default 0: each record sent at once)
 *
 * Values are text (words from a fixed pseudo-random stream), so that
 * compression has something to do.  Exit status 0, or 1 if a record was
 * not delivered.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "benchutil.h"

#define POOL	(4 * 1024 * 1024)

static const char		*brokers, *topic;
static volatile sig_atomic_t	 stop;
static uint64_t			 delivered, failed;
static char			*pool;

static void
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "rdkafka_producer: ");
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

static void
on_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	(void)opaque;
	if (m->err) {
		if (failed++ < 5)
			fprintf(stderr, "rdkafka_producer: delivery: %s\n",
			    rd_kafka_err2str(m->err));
	} else
		delivered++;
}

static rd_kafka_t *
producer(const char *codec, const char *linger)
{
	rd_kafka_conf_t	*conf = rd_kafka_conf_new();
	rd_kafka_t	*rk;
	char		 err[256];

	set(conf, "bootstrap.servers", brokers);
	set(conf, "log_level", "3");
	if (codec != NULL)
		set(conf, "compression.codec", codec);
	if (linger != NULL)
		set(conf, "linger.ms", linger);
	rd_kafka_conf_set_dr_msg_cb(conf, on_dr);
	if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err))) == NULL)
		die("%s", err);
	return rk;
}

/* a pool of text: words drawn by a fixed LCG */
static void
make_pool(void)
{
	static const char	*words[] = { "kafka", "gate", "record", "offset",
	    "partition", "topic", "batch", "fetch", "client", "broker", "the",
	    "a", "of", "to", "and", "websocket", "frame", "stream", "event",
	    "user", "click", "view", "order", "price", "42", "1337", "2024",
	    "value", "key", "null", "true", "false" };
	uint64_t		 x = 88172645463325252ull;
	size_t			 n = 0, l;
	const char		*w;

	if ((pool = malloc(POOL)) == NULL)
		die("%s", "out of memory");
	while (n < POOL) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		w = words[(x >> 33) % (sizeof(words) / sizeof(words[0]))];
		l = strlen(w);
		if (n + l + 1 > POOL)
			l = POOL - n - 1;
		memcpy(pool + n, w, l);
		n += l;
		pool[n++] = (x >> 20) % 7 == 0 ? '\n' : ' ';
	}
}

/* value i: the pool at a position that varies with i */
static const char *
value_of(uint64_t i, size_t size)
{
	return pool + (i * 7919u) % (POOL - size);
}

static void
produce(rd_kafka_t *rk, int32_t part, const char *v, size_t size)
{
	rd_kafka_resp_err_t	 e;

	for (;;) {
		e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
		    RD_KAFKA_V_PARTITION(part), RD_KAFKA_V_VALUE((void *)v, size),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
		if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
			return;
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			die("produce: %s", rd_kafka_err2str(e));
		rd_kafka_poll(rk, 10);
	}
}

static int
finish(rd_kafka_t *rk, uint64_t want)
{
	if (rd_kafka_flush(rk, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR)
		fprintf(stderr, "rdkafka_producer: flush timed out\n");
	rd_kafka_destroy(rk);
	if (failed > 0 || (want && delivered != want)) {
		fprintf(stderr, "rdkafka_producer: %llu delivered, %llu failed\n",
		    (unsigned long long)delivered, (unsigned long long)failed);
		return 1;
	}
	return 0;
}

static int
seed(uint64_t n, size_t size, int parts, const char *codec)
{
	rd_kafka_t	*rk = producer(codec, NULL);
	uint64_t	 i, t0 = bu_mono_ns();
	int		 rc;

	make_pool();
	for (i = 0; i < n; i++) {
		produce(rk, (int32_t)(i % (uint64_t)parts), value_of(i, size), size);
		if ((i & 1023) == 0)
			rd_kafka_poll(rk, 0);
	}
	rc = finish(rk, n);
	fprintf(stderr, "rdkafka_producer: %s: %llu records of %zu bytes in "
	    "%.1f s\n", topic, (unsigned long long)n, size,
	    (double)(bu_mono_ns() - t0) / 1e9);
	return rc;
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int
rate(double per_s, size_t size, const char *linger)
{
	rd_kafka_t		*rk = producer(NULL, linger);
	struct sigaction	 sa;
	struct timespec		 ts;
	uint64_t		 t0, i = 0, due;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	make_pool();
	t0 = bu_mono_ns();
	while (!stop) {
		due = t0 + (uint64_t)((double)i * 1e9 / per_s);
		ts.tv_sec = (time_t)(due / 1000000000u);
		ts.tv_nsec = (long)(due % 1000000000u);
		if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
			continue;
		produce(rk, 0, value_of(i, size), size);
		rd_kafka_poll(rk, 0);
		i++;
	}
	fprintf(stderr, "rdkafka_producer: %s: %llu records at %.0f/s\n", topic,
	    (unsigned long long)i, per_s);
	return finish(rk, i);
}

/* NAME:PARTITIONS[:k=v,...] */
static int
create(int n, char **specs)
{
	rd_kafka_conf_t			*conf = rd_kafka_conf_new();
	rd_kafka_t			*rk;
	rd_kafka_NewTopic_t		**nt;
	rd_kafka_queue_t		*q;
	rd_kafka_event_t		*ev;
	const rd_kafka_CreateTopics_result_t *res;
	const rd_kafka_topic_result_t	**tr;
	const struct rd_kafka_metadata	*md;
	char				 err[256], *s, *c, *kv, *eq, *save;
	size_t				 ntr, k;
	int				 i, j, ok;
	uint64_t			 deadline;

	set(conf, "bootstrap.servers", brokers);
	if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err))) == NULL)
		die("%s", err);
	if ((nt = calloc((size_t)n, sizeof(*nt))) == NULL)
		die("%s", "out of memory");
	for (i = 0; i < n; i++) {
		if ((s = strdup(specs[i])) == NULL || (c = strchr(s, ':')) == NULL)
			die("bad topic spec %s", specs[i]);
		*c++ = '\0';
		nt[i] = rd_kafka_NewTopic_new(s, atoi(c), 1, err, sizeof(err));
		if (nt[i] == NULL)
			die("%s", err);
		if ((c = strchr(c, ':')) != NULL)
			for (kv = strtok_r(c + 1, ",", &save); kv != NULL;
			    kv = strtok_r(NULL, ",", &save)) {
				if ((eq = strchr(kv, '=')) == NULL)
					die("bad config %s", kv);
				*eq = '\0';
				if (rd_kafka_NewTopic_set_config(nt[i], kv, eq + 1))
					die("bad config %s", kv);
			}
	}
	q = rd_kafka_queue_new(rk);
	rd_kafka_CreateTopics(rk, nt, (size_t)n, NULL, q);
	if ((ev = rd_kafka_queue_poll(q, 60000)) == NULL)
		die("%s", "CreateTopics timed out");
	if (rd_kafka_event_error(ev))
		die("CreateTopics: %s", rd_kafka_event_error_string(ev));
	res = rd_kafka_event_CreateTopics_result(ev);
	tr = rd_kafka_CreateTopics_result_topics(res, &ntr);
	for (k = 0; k < ntr; k++)
		if (rd_kafka_topic_result_error(tr[k]) &&
		    rd_kafka_topic_result_error(tr[k]) !=
		    RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
			die("CreateTopics: %s", rd_kafka_topic_result_error_string(tr[k]));
	rd_kafka_event_destroy(ev);
	/* wait until every partition of every topic has a leader */
	deadline = bu_mono_ns() + 60000000000ull;
	for (;;) {
		ok = 0;
		if (rd_kafka_metadata(rk, 1, NULL, &md, 5000) ==
		    RD_KAFKA_RESP_ERR_NO_ERROR) {
			for (i = 0; i < n; i++) {
				size_t	 nl = strcspn(specs[i], ":");

				for (j = 0; j < md->topic_cnt; j++) {
					const rd_kafka_metadata_topic_t	*t = &md->topics[j];
					int				 p, good = !t->err;

					if (strlen(t->topic) != nl ||
					    strncmp(t->topic, specs[i], nl) != 0)
						continue;
					for (p = 0; p < t->partition_cnt; p++)
						if (t->partitions[p].leader < 0 ||
						    t->partitions[p].err)
							good = 0;
					if (good && t->partition_cnt ==
					    atoi(specs[i] + nl + 1))
						ok++;
				}
			}
			rd_kafka_metadata_destroy(md);
		}
		if (ok == n)
			break;
		if (bu_mono_ns() > deadline)
			die("%s", "topics without leaders after 60 s");
		usleep(200000);
	}
	for (i = 0; i < n; i++)
		rd_kafka_NewTopic_destroy(nt[i]);
	rd_kafka_queue_destroy(q);
	rd_kafka_destroy(rk);
	return 0;
}

static void
usage(void)
{
	fputs("usage: rdkafka_producer create -b BROKERS NAME:PARTS[:k=v,...] ...\n"
	    "       rdkafka_producer seed -b BROKERS -t TOPIC -n COUNT -s SIZE "
	    "[-P PARTS] [-z CODEC]\n"
	    "       rdkafka_producer rate -b BROKERS -t TOPIC -r PER_SECOND -s SIZE "
	    "[-l LINGER_MS]\n", stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	const char	*mode, *codec = NULL, *linger = "0";
	uint64_t	 n = 0;
	size_t		 size = 100;
	double		 per_s = 1000;
	int		 ch, parts = 1;

	if (argc < 2)
		usage();
	mode = argv[1];
	optind = 2;
	while ((ch = getopt(argc, argv, "b:t:n:s:P:z:r:l:")) != -1) {
		switch (ch) {
		case 'b': brokers = optarg; break;
		case 't': topic = optarg; break;
		case 'n': n = strtoull(optarg, NULL, 10); break;
		case 's': size = strtoul(optarg, NULL, 10); break;
		case 'P': parts = atoi(optarg); break;
		case 'z': codec = optarg; break;
		case 'r': per_s = atof(optarg); break;
		case 'l': linger = optarg; break;
		default: usage();
		}
	}
	if (brokers == NULL || size < 1 || size > POOL / 2 || parts < 1 ||
	    per_s <= 0)
		usage();
	if (strcmp(mode, "create") == 0 && optind < argc)
		return create(argc - optind, argv + optind);
	if (topic == NULL)
		usage();
	if (strcmp(mode, "seed") == 0 && n > 0)
		return seed(n, size, parts, codec);
	if (strcmp(mode, "rate") == 0)
		return rate(per_s, size, linger);
	usage();
	return 2;
}
