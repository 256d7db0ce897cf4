/*
 * check_metrics.c -- the metrics renderer (src/metrics.c) against known
 * values, and the admin endpoint (src/admin.c): its request handling
 * without sockets, then the listener on a loopback port.
 */
#include "config.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "kafka/cluster.h"
#include "kafka/cluster_io.h"
#include "kafka/conn.h"
#include "kafka/kbuf.h"
#include "kafka/kproto.h"
#include "kafka/reader.h"
#include "src/admin.h"
#include "src/bridge.h"
#include "src/metrics.h"
#include "ws/http.h"
#include "ws/ws.h"

static const struct kcluster_observer *obs = &metrics_kafka_observer;

/* The whole exposition with this snapshot, NUL-terminated. */
static char *
render(const struct metrics_snapshot *s)
{
	struct metrics_buf	 b;
	char			*text;

	metrics_buf_init(&b, 1 << 20);
	ck_assert_int_eq(metrics_render(&b, s), 0);
	text = malloc(b.len + 1);
	ck_assert_ptr_nonnull(text);
	memcpy(text, b.p, b.len);
	text[b.len] = '\0';
	metrics_buf_free(&b);
	return text;
}

/* The text holds this whole line. */
static int
has_line(const char *text, const char *line)
{
	size_t		 n = strlen(line);
	const char	*p;

	for (p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

#define ck_line(text, line) \
	ck_assert_msg(has_line(text, line), "no line \"%s\" in:\n%s", line, \
	    text)
#define ck_no_line(text, line) \
	ck_assert_msg(!has_line(text, line), "line \"%s\" in:\n%s", line, text)

static struct metrics_snapshot
empty_snapshot(void)
{
	struct metrics_snapshot	 s;

	memset(&s, 0, sizeof(s));
	s.version = "1.2.3";
	s.cpu_seconds = -1;
	s.rss_bytes = -1;
	return s;
}

/*
 * The text format's structure: every line a comment (# HELP name text,
 * # TYPE name type) or a sample (name[{labels}] value); each family's
 * HELP and TYPE once, before its samples; a sample's name is its
 * family's, with _bucket, _sum, _count for a histogram; label values
 * quoted with only \\, \" and \n escapes and no raw newline.
 */
static void
check_format(const char *text)
{
	char		 fam[64][128], type[64][16], line[2048], name[128];
	const char	*p = text, *nl, *q;
	size_t		 n, k;
	int		 nfam = 0, i, found;

	ck_assert_msg(*text != '\0', "empty output");
	ck_assert_msg(text[strlen(text) - 1] == '\n', "no final newline");
	while (*p != '\0') {
		nl = strchr(p, '\n');
		ck_assert_ptr_nonnull(nl);
		n = (size_t)(nl - p);
		ck_assert_uint_lt(n, sizeof(line));
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl + 1;
		if (strncmp(line, "# HELP ", 7) == 0) {
			ck_assert_int_eq(sscanf(line + 7, "%127s", name), 1);
			for (i = 0; i < nfam; i++)
				ck_assert_msg(strcmp(fam[i], name) != 0,
				    "HELP twice: %s", name);
			ck_assert_int_lt(nfam, 64);
			(void)snprintf(fam[nfam], sizeof(fam[nfam]), "%s",
			    name);
			type[nfam][0] = '\0';
			nfam++;
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			char	 t[16];

			ck_assert_int_eq(sscanf(line + 7, "%127s %15s", name,
			    t), 2);
			ck_assert_msg(nfam > 0 &&
			    strcmp(fam[nfam - 1], name) == 0 &&
			    type[nfam - 1][0] == '\0', "TYPE without its HELP: "
			    "%s", line);
			ck_assert_msg(strcmp(t, "counter") == 0 ||
			    strcmp(t, "gauge") == 0 ||
			    strcmp(t, "histogram") == 0, "type %s", t);
			(void)snprintf(type[nfam - 1], sizeof(type[nfam - 1]),
			    "%s", t);
			continue;
		}
		ck_assert_msg(line[0] != '#', "stray comment: %s", line);
		for (k = 0; line[k] != '\0' && line[k] != '{' &&
		    line[k] != ' '; k++)
			ck_assert_msg(k < sizeof(name) - 1, "long name");
		memcpy(name, line, k);
		name[k] = '\0';
		ck_assert_msg(nfam > 0, "sample before any family: %s", line);
		found = strcmp(fam[nfam - 1], name) == 0;
		if (!found && strcmp(type[nfam - 1], "histogram") == 0) {
			size_t	 fl = strlen(fam[nfam - 1]);

			found = strncmp(name, fam[nfam - 1], fl) == 0 &&
			    (strcmp(name + fl, "_bucket") == 0 ||
			    strcmp(name + fl, "_sum") == 0 ||
			    strcmp(name + fl, "_count") == 0);
		}
		ck_assert_msg(found, "sample %s outside its family %s", name,
		    fam[nfam - 1]);
		q = line + k;
		if (*q == '{') {
			for (q++; *q != '}'; ) {
				while (*q == '_' || (*q >= 'a' && *q <= 'z'))
					q++;
				ck_assert_msg(*q == '=' && q[1] == '"',
				    "bad label in %s", line);
				for (q += 2; *q != '"'; q++) {
					ck_assert_msg(*q != '\0', "open label: "
					    "%s", line);
					if (*q == '\\') {
						q++;
						ck_assert_msg(*q == '\\' ||
						    *q == '"' || *q == 'n',
						    "bad escape in %s", line);
					}
				}
				q++;
				if (*q == ',')
					q++;
			}
			q++;
		}
		ck_assert_msg(*q == ' ' && q[1] != '\0' && q[1] != ' ',
		    "no value: %s", line);
	}
}

/* ---- the buffer ---- */

START_TEST(test_buf_cap)
{
	struct metrics_buf	 b;
	int			 i;

	metrics_buf_init(&b, 10000);
	for (i = 0; i < 1000; i++)
		metrics_buf_printf(&b, "%d,", i % 10);
	ck_assert_int_eq(b.err, 0);
	ck_assert_uint_eq(b.len, 2000);
	ck_assert_int_eq(memcmp(b.p + 1990, "5,6,7,8,9,", 10), 0);
	/* Up to the cap, not one octet over; the error sticks. */
	metrics_buf_add(&b, "x", 1);
	ck_assert_int_eq(b.err, 0);
	for (i = 0; i < 8000; i++)
		metrics_buf_add(&b, "y", 1);
	ck_assert_uint_eq(b.len, 10000);
	ck_assert_int_eq(b.err, 1);
	metrics_buf_printf(&b, "z");
	ck_assert_uint_eq(b.len, 10000);
	metrics_buf_free(&b);

	/* A long printf on an empty buffer. */
	metrics_buf_init(&b, 1 << 20);
	metrics_buf_printf(&b, "%0*d", 9000, 7);
	ck_assert_int_eq(b.err, 0);
	ck_assert_uint_eq(b.len, 9000);
	ck_assert_int_eq(b.p[8999], '7');
	metrics_buf_free(&b);

	/* A printf over the cap leaves the buffer as it was. */
	metrics_buf_init(&b, 100);
	metrics_buf_printf(&b, "abc");
	metrics_buf_printf(&b, "%0*d", 98, 1);
	ck_assert_int_eq(b.err, 1);
	ck_assert_uint_eq(b.len, 3);
	metrics_buf_free(&b);
}
END_TEST

/* ---- the renderer ---- */

START_TEST(test_process_and_reload)
{
	struct metrics_snapshot	 s = empty_snapshot();
	char			*t;

	metrics_init_at(1700000000.25);
	s.cpu_seconds = 1.5;
	s.rss_bytes = 12345678;
	t = render(&s);
	check_format(t);
	ck_line(t, "# TYPE kafkagate_build_info gauge");
	ck_line(t, "kafkagate_build_info{version=\"1.2.3\"} 1");
	ck_line(t, "process_start_time_seconds 1700000000.25");
	ck_line(t, "process_cpu_seconds_total 1.5");
	ck_line(t, "process_resident_memory_bytes 12345678");
	ck_line(t, "kafkagate_reloads_total{result=\"ok\"} 0");
	ck_line(t, "kafkagate_reloads_total{result=\"failed\"} 0");
	ck_line(t, "kafkagate_config_last_reload_successful 1");
	ck_line(t, "kafkagate_config_last_reload_success_timestamp_seconds "
	    "1700000000.25");
	/* Nothing given, nothing said. */
	ck_assert_ptr_null(strstr(t, "kafkagate_sessions_open"));
	ck_assert_ptr_null(strstr(t, "kafkagate_commands_total"));
	ck_assert_ptr_null(strstr(t, "kafkagate_cache_bytes"));
	free(t);

	metrics_reload_at(1, 1700000100);
	metrics_reload_at(0, 1700000200);
	s.cpu_seconds = -1;
	s.rss_bytes = -1;
	t = render(&s);
	check_format(t);
	ck_line(t, "kafkagate_reloads_total{result=\"ok\"} 1");
	ck_line(t, "kafkagate_reloads_total{result=\"failed\"} 1");
	ck_line(t, "kafkagate_config_last_reload_successful 0");
	ck_line(t, "kafkagate_config_last_reload_success_timestamp_seconds "
	    "1700000100");
	ck_assert_ptr_null(strstr(t, "process_cpu_seconds_total"));
	ck_assert_ptr_null(strstr(t, "process_resident_memory_bytes"));
	free(t);

	metrics_reload_at(1, 1700000300.5);
	t = render(&s);
	ck_line(t, "kafkagate_config_last_reload_successful 1");
	ck_line(t, "kafkagate_config_last_reload_success_timestamp_seconds "
	    "1700000300.5");
	ck_line(t, "kafkagate_reloads_total{result=\"ok\"} 2");
	free(t);
}
END_TEST

START_TEST(test_ws_bridge_cache)
{
	struct metrics_snapshot	 s = empty_snapshot();
	struct ws_server_stats	 ws;
	struct bridge_stats	 br;
	struct kcache_stats	 cs;
	char			*t;
	int			 i;

	metrics_init_at(1);
	memset(&ws, 0, sizeof(ws));
	ws.accepted = 10;
	ws.upgraded = 7;
	ws.refused[WS_REFUSED_NO_ROUTE] = 2;
	ws.refused[WS_REFUSED_TIMEOUT] = 1;
	ws.bytes_in = 1000;
	ws.bytes_out = 123456789012ULL;
	ws.sessions = 5;
	ws.handshakes = 1;
	ws.queued = 4096;
	memset(&br, 0, sizeof(br));
	br.commands[BRIDGE_STAT_FETCH][0] = 40;
	br.commands[BRIDGE_STAT_FETCH][1] = 2;
	br.commands[BRIDGE_STAT_PING][0] = 3;
	br.commands[BRIDGE_STAT_OTHER][1] = 1;
	for (i = 0; i < BRIDGE_STAT_NCODE; i++) {
		/* OFFSET_OUT_OF_RANGE */
		if (bridge_stat_code(i) == 1)
			br.errors[i] = 1;
		if (bridge_stat_code(i) == 1001)	/* unreachable */
			br.errors[i] = 1;
		if (bridge_stat_code(i) == 1100)	/* unknown command */
			br.errors[i] = 1;
	}
	br.errors[BRIDGE_STAT_CODE_OTHER] = 4;
	br.records = 400;
	br.record_bytes = 40000;
	br.paused = 1;
	br.held = 77;
	memset(&cs, 0, sizeof(cs));
	cs.bytes = 1 << 20;
	cs.budget = 256 << 20;
	cs.chunks = 3;
	cs.readers = 2;
	cs.hits = 30;
	cs.misses = 12;
	cs.fetches = 11;
	cs.fetched_bytes = 999;
	cs.evicted = 1;
	s.ws = &ws;
	s.bridge = &br;
	s.cache = &cs;
	t = render(&s);
	check_format(t);
	ck_line(t, "kafkagate_websocket_connections_accepted_total 10");
	ck_line(t, "kafkagate_websocket_handshakes_refused_total"
	    "{reason=\"no_route\"} 2");
	ck_line(t, "kafkagate_websocket_handshakes_refused_total"
	    "{reason=\"timeout\"} 1");
	ck_line(t, "kafkagate_websocket_handshakes_refused_total"
	    "{reason=\"per_addr\"} 0");
	ck_line(t, "kafkagate_sessions_accepted_total 7");
	ck_line(t, "# TYPE kafkagate_sessions_open gauge");
	ck_line(t, "kafkagate_sessions_open 5");
	ck_line(t, "kafkagate_websocket_handshakes_in_progress 1");
	ck_line(t, "kafkagate_websocket_received_bytes_total 1000");
	ck_line(t, "kafkagate_websocket_sent_bytes_total 123456789012");
	ck_line(t, "kafkagate_websocket_queued_bytes 4096");
	ck_line(t, "kafkagate_commands_total{command=\"fetch\","
	    "outcome=\"ok\"} 40");
	ck_line(t, "kafkagate_commands_total{command=\"fetch\","
	    "outcome=\"error\"} 2");
	ck_line(t, "kafkagate_commands_total{command=\"list_offset\","
	    "outcome=\"ok\"} 0");
	ck_line(t, "kafkagate_commands_total{command=\"ping\","
	    "outcome=\"ok\"} 3");
	ck_line(t, "kafkagate_commands_total{command=\"other\","
	    "outcome=\"error\"} 1");
	ck_line(t, "kafkagate_command_errors_total{code=\"1\"} 1");
	ck_line(t, "kafkagate_command_errors_total{code=\"1001\"} 1");
	ck_line(t, "kafkagate_command_errors_total{code=\"1100\"} 1");
	ck_line(t, "kafkagate_command_errors_total{code=\"other\"} 4");
	/* Codes never answered are left out. */
	ck_assert_ptr_null(strstr(t,
	    "kafkagate_command_errors_total{code=\"3\"}"));
	ck_line(t, "kafkagate_records_delivered_total 400");
	ck_line(t, "kafkagate_record_bytes_delivered_total 40000");
	ck_line(t, "kafkagate_sessions_paused 1");
	ck_line(t, "kafkagate_answers_held_bytes 77");
	ck_line(t, "kafkagate_cache_bytes 1048576");
	ck_line(t, "kafkagate_cache_budget_bytes 268435456");
	ck_line(t, "kafkagate_cache_chunks 3");
	ck_line(t, "kafkagate_cache_partition_readers 2");
	ck_line(t, "kafkagate_cache_hits_total 30");
	ck_line(t, "kafkagate_cache_misses_total 12");
	ck_line(t, "kafkagate_cache_fetches_total 11");
	ck_line(t, "kafkagate_cache_fetched_bytes_total 999");
	ck_line(t, "kafkagate_cache_evictions_total 1");
	free(t);
}
END_TEST

/* The error-code slots of the bridge map back to their codes. */
START_TEST(test_bridge_codes)
{
	int	 i, seen1001 = 0;

	for (i = 0; i < BRIDGE_STAT_CODE_OTHER; i++) {
		int32_t	 c = bridge_stat_code(i);

		ck_assert((c >= -1 && c <= 127) || (c >= 1000 && c <= 1015) ||
		    (c >= 1100 && c <= 1115));
		seen1001 |= c == 1001;
	}
	ck_assert(seen1001);
	ck_assert_int_eq(bridge_stat_code(BRIDGE_STAT_CODE_OTHER), INT32_MIN);
	ck_assert_int_eq(bridge_stat_code(0), -1);
	ck_assert_int_eq(bridge_stat_code(1), 0);
}
END_TEST

START_TEST(test_kafka_requests)
{
	struct metrics_snapshot	 s = empty_snapshot();
	char			*t;
	int			 a, b;

	metrics_init_at(1);
	a = obs->broker(NULL, "k1:9092");
	b = obs->broker(NULL, "k2:9092");
	ck_assert_int_ne(a, b);
	ck_assert_int_eq(obs->broker(NULL, "k1:9092"), a);
	obs->conn(NULL, a, 1);
	obs->conn(NULL, a, 1);
	obs->conn(NULL, b, 1);
	obs->conn(NULL, b, 0);
	obs->failed(NULL, b);
	obs->failed(NULL, b);
	obs->request(NULL, a, KCIO_MAIN, KAFKA_API_VERSIONS, KCONN_OK, 0.002);
	obs->request(NULL, a, KCIO_MAIN, KAFKA_API_METADATA, KCONN_OK, 0.004);
	obs->request(NULL, a, KCIO_DATA, KAFKA_API_FETCH, KCONN_OK, 0.02);
	obs->request(NULL, a, KCIO_POLL, KAFKA_API_FETCH, KCONN_OK, 0.5);
	obs->request(NULL, b, KCIO_MAIN, KAFKA_API_LIST_OFFSETS,
	    KCONN_ETIMEOUT, 10);
	obs->request(NULL, b, KCIO_MAIN, 42, KCONN_OK, 0.001);
	obs->request(NULL, -1, KCIO_MAIN, KAFKA_API_METADATA, KCONN_OK, 0.001);
	/* Cancelled at shutdown: not the broker's doing, not counted. */
	obs->request(NULL, b, KCIO_MAIN, KAFKA_API_LIST_OFFSETS,
	    KCONN_ECANCEL, 0.5);
	t = render(&s);
	check_format(t);
	ck_line(t, "# TYPE kafkagate_kafka_requests_total counter");
	ck_line(t, "kafkagate_kafka_requests_total{broker=\"k1:9092\","
	    "api=\"ApiVersions\"} 1");
	ck_line(t, "kafkagate_kafka_requests_total{broker=\"k1:9092\","
	    "api=\"Fetch\"} 2");
	ck_line(t, "kafkagate_kafka_requests_total{broker=\"k2:9092\","
	    "api=\"ListOffsets\"} 1");
	ck_line(t, "kafkagate_kafka_requests_total{broker=\"k2:9092\","
	    "api=\"other\"} 1");
	ck_line(t, "kafkagate_kafka_request_errors_total{broker=\"k2:9092\","
	    "api=\"ListOffsets\"} 1");
	ck_line(t, "kafkagate_kafka_request_errors_total{broker=\"k1:9092\","
	    "api=\"Fetch\"} 0");
	/* APIs a broker never saw are left out. */
	ck_assert_ptr_null(strstr(t, "{broker=\"k2:9092\",api=\"Fetch\"}"));
	ck_line(t, "kafkagate_kafka_connections{broker=\"k1:9092\"} 2");
	ck_line(t, "kafkagate_kafka_connections{broker=\"k2:9092\"} 0");
	ck_line(t, "kafkagate_kafka_broker_up{broker=\"k1:9092\"} 1");
	ck_line(t, "kafkagate_kafka_broker_up{broker=\"k2:9092\"} 0");
	ck_line(t, "kafkagate_kafka_connection_failures_total"
	    "{broker=\"k1:9092\"} 0");
	ck_line(t, "kafkagate_kafka_connection_failures_total"
	    "{broker=\"k2:9092\"} 2");
	/* Failed requests are counted, not timed. */
	ck_assert_ptr_null(strstr(t, "api=\"ListOffsets\",connection="));
	ck_line(t, "kafkagate_kafka_request_duration_seconds_count"
	    "{api=\"Fetch\",connection=\"fetch\"} 1");
	ck_line(t, "kafkagate_kafka_request_duration_seconds_count"
	    "{api=\"Fetch\",connection=\"tail\"} 1");
	/* The one without a slot is timed all the same. */
	ck_line(t, "kafkagate_kafka_request_duration_seconds_count"
	    "{api=\"Metadata\",connection=\"main\"} 2");
	free(t);
}
END_TEST

START_TEST(test_histogram)
{
	struct metrics_snapshot	 s = empty_snapshot();
	static const char *const want[] = {
	    "le=\"0.001\"} 2", "le=\"0.0025\"} 2", "le=\"0.005\"} 3",
	    "le=\"0.01\"} 3", "le=\"0.025\"} 3", "le=\"0.05\"} 3",
	    "le=\"0.1\"} 4", "le=\"0.25\"} 4", "le=\"0.5\"} 4",
	    "le=\"1\"} 4", "le=\"2.5\"} 4", "le=\"5\"} 4", "le=\"10\"} 5",
	    "le=\"+Inf\"} 6"
	};
	char		 line[256], *t;
	const char	*p, *q;
	size_t		 i;
	int		 slot;

	metrics_init_at(1);
	slot = obs->broker(NULL, "h:1");
	/* On a bound counts in its bucket (le: less or equal). */
	obs->request(NULL, slot, KCIO_DATA, KAFKA_API_FETCH, KCONN_OK, 0.0005);
	obs->request(NULL, slot, KCIO_DATA, KAFKA_API_FETCH, KCONN_OK, 0.001);
	obs->request(NULL, slot, KCIO_DATA, KAFKA_API_FETCH, KCONN_OK, 0.003);
	obs->request(NULL, slot, KCIO_DATA, KAFKA_API_FETCH, KCONN_OK, 0.0625);
	obs->request(NULL, slot, KCIO_DATA, KAFKA_API_FETCH, KCONN_OK, 10);
	obs->request(NULL, slot, KCIO_DATA, KAFKA_API_FETCH, KCONN_OK, 30);
	t = render(&s);
	check_format(t);
	ck_line(t, "# TYPE kafkagate_kafka_request_duration_seconds histogram");
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		(void)snprintf(line, sizeof(line), "kafkagate_kafka_request_"
		    "duration_seconds_bucket{api=\"Fetch\",connection="
		    "\"fetch\",%s", want[i]);
		ck_line(t, line);
	}
	/* Buckets in increasing order, +Inf last, then _sum and _count. */
	p = strstr(t, "le=\"0.001\"");
	q = strstr(t, "le=\"+Inf\"");
	ck_assert(p != NULL && q != NULL && p < q);
	ck_assert(strstr(t, "le=\"10\"") < q);
	ck_assert(strstr(t, "_sum{api=\"Fetch\"") > q);
	ck_line(t, "kafkagate_kafka_request_duration_seconds_sum"
	    "{api=\"Fetch\",connection=\"fetch\"} 40.067");
	ck_line(t, "kafkagate_kafka_request_duration_seconds_count"
	    "{api=\"Fetch\",connection=\"fetch\"} 6");
	ck_assert(strstr(t, "_count{api=\"Fetch\"") >
	    strstr(t, "_sum{api=\"Fetch\""));
	free(t);
}
END_TEST

START_TEST(test_escaping)
{
	struct metrics_snapshot	 s = empty_snapshot();
	char			*t;
	int			 a, b;

	metrics_init_at(1);
	s.version = "1.0\"x\\y\nz";
	a = obs->broker(NULL, "we\"ird\\host\nname:1");
	b = obs->broker(NULL, "bad\xff\xfe utf8:2");
	obs->failed(NULL, a);
	obs->failed(NULL, b);
	(void)obs->broker(NULL, "caf\xc3\xa9:3");	/* UTF-8: kept */
	t = render(&s);
	check_format(t);
	ck_line(t, "kafkagate_build_info{version=\"1.0\\\"x\\\\y\\nz\"} 1");
	ck_line(t, "kafkagate_kafka_connection_failures_total"
	    "{broker=\"we\\\"ird\\\\host\\nname:1\"} 1");
	ck_line(t, "kafkagate_kafka_connection_failures_total"
	    "{broker=\"bad?? utf8:2\"} 1");
	ck_line(t, "kafkagate_kafka_broker_up{broker=\"caf\xc3\xa9:3\"} 0");
	free(t);
}
END_TEST

START_TEST(test_broker_cap)
{
	struct metrics_snapshot	 s = empty_snapshot();
	char			 name[32], *t;
	int			 i, slot, other = -1, n;
	const char		*p;

	metrics_init_at(1);
	for (i = 0; i < METRICS_MAX_BROKERS + 50; i++) {
		(void)snprintf(name, sizeof(name), "b%d:9092", i);
		slot = obs->broker(NULL, name);
		if (i >= METRICS_MAX_BROKERS) {
			if (other == -1)
				other = slot;
			ck_assert_int_eq(slot, other);
		}
		obs->request(NULL, slot, KCIO_MAIN, KAFKA_API_METADATA,
		    KCONN_OK, 0.001);
		obs->conn(NULL, slot, 1);
	}
	t = render(&s);
	check_format(t);
	ck_line(t, "kafkagate_kafka_requests_total{broker=\"b0:9092\","
	    "api=\"Metadata\"} 1");
	ck_line(t, "kafkagate_kafka_requests_total{broker=\"b255:9092\","
	    "api=\"Metadata\"} 1");
	ck_assert_ptr_null(strstr(t, "b256:9092"));
	ck_line(t, "kafkagate_kafka_requests_total{broker=\"other\","
	    "api=\"Metadata\"} 50");
	ck_line(t, "kafkagate_kafka_connections{broker=\"other\"} 50");
	/* Exactly 257 label values for the gauge. */
	for (n = 0, p = t; (p = strstr(p, "\nkafkagate_kafka_broker_up{")) !=
	    NULL; p++)
		n++;
	ck_assert_int_eq(n, METRICS_MAX_BROKERS + 1);
	free(t);

	/* "other" appears only when used. */
	metrics_init_at(1);
	(void)obs->broker(NULL, "one:1");
	t = render(&s);
	ck_assert_ptr_null(strstr(t, "broker=\"other\""));
	ck_line(t, "kafkagate_kafka_broker_up{broker=\"one:1\"} 0");
	free(t);
}
END_TEST

/* A tiny output buffer: the renderer says so instead of cutting. */
START_TEST(test_render_too_big)
{
	struct metrics_snapshot	 s = empty_snapshot();
	struct metrics_buf	 b;

	metrics_init_at(1);
	metrics_buf_init(&b, 100);
	ck_assert_int_eq(metrics_render(&b, &s), -1);
	ck_assert_int_eq(b.err, 1);
	ck_assert_uint_le(b.len, 100);
	metrics_buf_free(&b);
}
END_TEST

/* ---- the Kafka client's side: kconn's observer ---- */

struct seen {
	int16_t		 api;
	int		 err;
	double		 secs;
	int		 n;
};

static void
seen_obs(void *arg, int16_t api, int err, double secs)
{
	struct seen	*s = arg;

	s->api = api;
	s->err = err;
	s->secs = secs;
	s->n++;
}

/* Feed a whole response frame (corr, body) to the connection. */
static int
feed_frame(struct kconn *c, int32_t corr, const struct kwriter *body,
    double now)
{
	struct kwriter	 w;
	uint8_t		*p;
	size_t		 room, off = 0, n;
	int		 rc = 0;

	kw_init(&w, 1 << 16);
	kw_i32(&w, (int32_t)(body->len + 4));
	kw_i32(&w, corr);
	kw_raw(&w, body->buf, body->len);
	while (off < w.len && rc == 0) {
		ck_assert_int_eq(kconn_read_buf(c, &p, &room), 0);
		n = w.len - off < room ? w.len - off : room;
		memcpy(p, w.buf + off, n);
		off += n;
		rc = kconn_read_done(c, n, now);
	}
	kw_free(&w);
	return rc;
}

static int
enc_metadata(struct kwriter *w, int16_t version, int32_t corr,
    const char *client_id, void *arg)
{
	static const char *const topics[] = { "t" };

	(void)arg;
	return kafka_enc_metadata(w, version, corr, client_id, topics, 1);
}

static void
ignore_resp(void *arg, int err, const char *msg, int16_t version,
    const uint8_t *body, size_t len)
{
	(void)arg;
	(void)err;
	(void)msg;
	(void)version;
	(void)body;
	(void)len;
}

START_TEST(test_kconn_observer)
{
	struct kconn	 c;
	struct kwriter	 body;
	struct seen	 seen;
	const uint8_t	*p;
	int16_t		 apis[4][2] = { { 1, 17 }, { 2, 9 }, { 3, 12 },
			    { 18, 4 } };
	int		 i;

	memset(&seen, 0, sizeof(seen));
	kconn_init(&c, "test", "b:9092", 1 << 20, 10.0);
	kconn_set_observer(&c, seen_obs, &seen);
	kconn_start(&c, 100.0);		/* ApiVersions v3 goes out */
	ck_assert_uint_gt(kconn_output(&c, &p), 0);
	kconn_sent(&c, kconn_output(&c, &p));
	ck_assert_int_eq(seen.n, 0);

	/* Its answer, 0.25 s later. */
	kw_init(&body, 4096);
	kw_i16(&body, 0);
	kw_uvarint(&body, 4 + 1);
	for (i = 0; i < 4; i++) {
		kw_i16(&body, apis[i][0]);
		kw_i16(&body, 0);
		kw_i16(&body, apis[i][1]);
		kw_tags(&body, 1);
	}
	kw_i32(&body, 0);
	kw_tags(&body, 1);
	ck_assert_int_eq(feed_frame(&c, 1, &body, 100.25), 0);
	kw_free(&body);
	ck_assert_int_eq(seen.n, 1);
	ck_assert_int_eq(seen.api, KAFKA_API_VERSIONS);
	ck_assert_int_eq(seen.err, KCONN_OK);
	ck_assert(seen.secs > 0.2499 && seen.secs < 0.2501);
	ck_assert(kconn_ready(&c));

	/* A request that times out: counted with its error. */
	ck_assert_int_eq(kconn_submit(&c, KAFKA_API_METADATA, enc_metadata,
	    ignore_resp, NULL, 101.0), 0);
	kconn_sent(&c, kconn_output(&c, &p));
	ck_assert_int_eq(seen.n, 1);
	ck_assert(kconn_check_timeouts(&c, 112.0) < 0);
	ck_assert_int_eq(seen.n, 2);
	ck_assert_int_eq(seen.api, KAFKA_API_METADATA);
	ck_assert_int_eq(seen.err, KCONN_ETIMEOUT);
	ck_assert(seen.secs > 10.999 && seen.secs < 11.001);
	kconn_free(&c);
	ck_assert_int_eq(seen.n, 2);
}
END_TEST

/* ---- kcluster_reachable() over a fake I/O layer ---- */

struct kcio {
	char		 name[64];
	int		 role;
	void		*arg;
	enum kcio_state	 state;
	int		 nreq;
	int16_t		 api;		/* of the last request */
	kconn_resp_fn	 cb;		/* of the pending one, or NULL */
	void		*cbarg;
};

#define F_MAX	8
static struct kcio	*fconns[F_MAX];
static int		 nfconns;
static double		 fnow = 1000;

static double
f_now(void *ctx)
{
	(void)ctx;
	return fnow;
}

static void
f_wake(void *ctx, double at)
{
	(void)ctx;
	(void)at;
}

static struct kcio *
f_conn_new(void *ctx, const char *host, int port, int role, void *arg)
{
	struct kcio	*c;

	(void)ctx;
	ck_assert_int_lt(nfconns, F_MAX);
	c = calloc(1, sizeof(*c));
	ck_assert_ptr_nonnull(c);
	(void)snprintf(c->name, sizeof(c->name), "%s:%d", host, port);
	c->role = role;
	c->arg = arg;
	fconns[nfconns++] = c;
	return c;
}

static int
f_connect(struct kcio *c, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	if (c->state == KCIO_DOWN)
		c->state = KCIO_OPENING;
	return 0;
}

static int
f_submit(struct kcio *c, int16_t api, kconn_enc_fn enc, kconn_resp_fn cb,
    void *arg)
{
	(void)enc;
	if (c->state == KCIO_DOWN || c->cb != NULL)
		return -1;
	c->nreq++;
	c->api = api;
	c->cb = cb;
	c->cbarg = arg;
	return 0;
}

static enum kcio_state
f_state(const struct kcio *c)
{
	return c->state;
}

static int
f_idle(const struct kcio *c)
{
	return c->cb == NULL;
}

static const char *
f_errmsg(const struct kcio *c)
{
	(void)c;
	return "fake";
}

/* The pending request, if any, gets err. */
static void
f_answer(struct kcio *c, int err)
{
	kconn_resp_fn	 cb = c->cb;

	if (cb == NULL)
		return;
	c->cb = NULL;
	cb(c->cbarg, err, err ? "failed" : NULL, 8, NULL, 0);
}

static void
f_fail(struct kcio *c, int err, const char *msg)
{
	(void)msg;
	c->state = KCIO_DOWN;
	f_answer(c, err);
}

static void
f_conn_free(struct kcio *c, const char *why)
{
	int	 i;

	(void)why;
	f_answer(c, KCONN_EDISCONNECT);
	for (i = 0; i < nfconns; i++)
		if (fconns[i] == c)
			fconns[i] = fconns[--nfconns];
	free(c);
}

static void
f_done(void *ctx)
{
	(void)ctx;
}

static const struct kcluster_io fake_io = {
	.now = f_now,
	.wake = f_wake,
	.conn_new = f_conn_new,
	.connect = f_connect,
	.submit = f_submit,
	.state = f_state,
	.idle = f_idle,
	.conn_errmsg = f_errmsg,
	.fail = f_fail,
	.conn_free = f_conn_free,
	.done = f_done
};

static struct kcio *
fconn(const char *name)
{
	int	 i;

	for (i = 0; i < nfconns; i++)
		if (strcmp(fconns[i]->name, name) == 0 &&
		    fconns[i]->role == KCIO_MAIN)
			return fconns[i];
	ck_abort_msg("no connection to %s", name);
	return NULL;
}

/* The transport failed, as brokerio.c says it: once, then requests. */
static void
f_broken(struct kcio *c, int ready, const char *msg)
{
	/* A request timeout kills the protocol first: not ready any more. */
	if (!ready)
		c->state = KCIO_DOWN;
	kcluster_conn_failed(c->arg, KCONN_EDISCONNECT, msg);
	c->state = KCIO_DOWN;
	f_answer(c, KCONN_EDISCONNECT);
}

START_TEST(test_reachable)
{
	struct kcluster_conf	 conf;
	struct kcluster		*kc;
	struct kcio		*k1, *k2;
	char			 err[256], why[512];
	int			 n;

	kcluster_conf_default(&conf);
	conf.brokers = "k1:9092,k2:9092";
	kc = kcluster_new_io(&conf, &fake_io, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(kc);

	/* Nothing known yet: not reachable, and a probe to k1 goes out. */
	ck_assert_int_eq(kcluster_reachable(kc, why, sizeof(why)), 0);
	ck_assert_str_eq(why, "connecting to broker k1:9092");
	k1 = fconn("k1:9092");
	ck_assert_int_eq(k1->state, KCIO_OPENING);
	ck_assert_int_eq(k1->nreq, 1);
	ck_assert_int_eq(k1->api, KAFKA_API_METADATA);
	/* Asked again meanwhile: no second probe. */
	ck_assert_int_eq(kcluster_reachable(kc, why, sizeof(why)), 0);
	ck_assert_int_eq(k1->nreq, 1);
	ck_assert_int_eq(nfconns, 1);

	/* k1 refuses: that is the reason, and k2 is tried next. */
	f_broken(k1, 0, "cannot connect to broker k1:9092: Connection refused");
	ck_assert_int_eq(kcluster_reachable(kc, why, sizeof(why)), 0);
	ck_assert_str_eq(why, "cannot connect to broker k1:9092: Connection "
	    "refused");
	k2 = fconn("k2:9092");
	ck_assert_int_eq(k2->nreq, 1);

	/* k2 answers: reachable. */
	k2->state = KCIO_READY;
	kcluster_conn_up(k2->arg);
	f_answer(k2, KCONN_OK);
	ck_assert_int_eq(kcluster_reachable(kc, why, sizeof(why)), 1);
	/* Ready, probed less than 15 s ago: no new probe. */
	fnow += 10;
	ck_assert_int_eq(kcluster_reachable(kc, why, sizeof(why)), 1);
	ck_assert_int_eq(k2->nreq, 1);
	/* 15 s on, the ready connection is probed again. */
	fnow += 6;
	ck_assert_int_eq(kcluster_reachable(kc, why, sizeof(why)), 1);
	ck_assert_int_eq(k2->nreq, 2);
	f_answer(k2, KCONN_OK);

	/* The broker closes the idle ready connection: still reachable. */
	f_broken(k2, 1, "broker k2:9092 closed the connection");
	ck_assert_int_eq(k2->state, KCIO_DOWN);
	fnow += 20;			/* every backoff over */
	ck_assert_int_eq(kcluster_reachable(kc, why, sizeof(why)), 1);
	/* ... but that is checked: a probe goes out (k1 first again). */
	n = k1->nreq + k2->nreq;
	ck_assert_int_eq(n, 4);
	ck_assert_int_eq(k1->nreq, 2);

	/* k1 refuses again, then k2: not reachable, the latest reason. */
	f_broken(k1, 0, "cannot connect to broker k1:9092: Connection refused");
	fnow += 20;
	ck_assert_int_eq(kcluster_reachable(kc, why, sizeof(why)), 1);
	ck_assert_int_eq(k2->nreq, 3);
	f_broken(k2, 0, "cannot connect to broker k2:9092: Connection refused");
	ck_assert_int_eq(kcluster_reachable(kc, why, sizeof(why)), 0);
	ck_assert_str_eq(why, "cannot connect to broker k2:9092: Connection "
	    "refused");

	/* A ready connection that stops answering (timeout) is a failure. */
	fnow += 20;
	(void)kcluster_reachable(kc, why, sizeof(why));
	k1->state = KCIO_READY;
	f_answer(k1, KCONN_OK);
	ck_assert_int_eq(kcluster_reachable(kc, why, sizeof(why)), 1);
	f_broken(k1, 0, "broker k1:9092 did not answer in 10 s");
	ck_assert_int_eq(kcluster_reachable(kc, why, sizeof(why)), 0);
	ck_assert_str_eq(why, "broker k1:9092 did not answer in 10 s");

	kcluster_free(kc);
	ck_assert_int_eq(nfconns, 0);
}
END_TEST

/* ---- admin_respond(): requests in, responses out ---- */

static int	 fake_ready_value;
static int	 fake_metrics_fail;

static int
fake_ready(void *arg, char *why, size_t whylen)
{
	(void)arg;
	if (fake_ready_value)
		return 1;
	(void)snprintf(why, whylen, "route /b: cannot connect to broker "
	    "127.0.0.1:1: Connection refused");
	return 0;
}

static int
fake_metrics(void *arg, struct metrics_buf *b)
{
	(void)arg;
	if (fake_metrics_fail)
		return -1;
	metrics_buf_printf(b, "# HELP x y\n# TYPE x gauge\nx 1\n");
	return 0;
}

/* The response to a raw request, NUL-terminated; *status its status. */
static char *
respond(const char *raw, int *status)
{
	struct http_request	 req;
	struct admin_handlers	 h;
	struct metrics_buf	 out;
	ssize_t			 r;
	int			 st = 0;
	char			*text;

	http_request_init(&req);
	r = http_request_parse(&req, raw, strlen(raw), ADMIN_HEAD_MAX, &st);
	ck_assert(r != HTTP_PARTIAL);
	if (r != HTTP_ERROR)
		st = 0;
	memset(&h, 0, sizeof(h));
	h.ready = fake_ready;
	h.metrics = fake_metrics;
	metrics_buf_init(&out, 1 << 20);
	*status = admin_respond(&req, st, &h, &out);
	text = malloc(out.len + 1);
	ck_assert_ptr_nonnull(text);
	memcpy(text, out.p, out.len);
	text[out.len] = '\0';
	metrics_buf_free(&out);
	return text;
}

static const char *
body_of(const char *resp)
{
	const char	*p = strstr(resp, "\r\n\r\n");

	ck_assert_ptr_nonnull(p);
	return p + 4;
}

START_TEST(test_respond_routes)
{
	char	*t;
	int	 st;

	t = respond("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", &st);
	ck_assert_int_eq(st, 200);
	ck_assert(strncmp(t, "HTTP/1.1 200 OK\r\n", 17) == 0);
	ck_assert_ptr_nonnull(strstr(t, "\r\nContent-Length: 3\r\n"));
	ck_assert_ptr_nonnull(strstr(t, "\r\nConnection: close\r\n"));
	ck_assert_str_eq(body_of(t), "ok\n");
	free(t);

	/* HEAD: the same headers, no body. */
	t = respond("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n", &st);
	ck_assert_int_eq(st, 200);
	ck_assert_ptr_nonnull(strstr(t, "\r\nContent-Length: 3\r\n"));
	ck_assert_str_eq(body_of(t), "");
	free(t);

	t = respond("GET /metrics?x=1 HTTP/1.0\r\n\r\n", &st);
	ck_assert_int_eq(st, 200);
	ck_assert_ptr_nonnull(strstr(t, "\r\nContent-Type: text/plain; "
	    "version=0.0.4; charset=utf-8\r\n"));
	ck_assert_str_eq(body_of(t), "# HELP x y\n# TYPE x gauge\nx 1\n");
	free(t);

	fake_metrics_fail = 1;
	t = respond("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &st);
	fake_metrics_fail = 0;
	ck_assert_int_eq(st, 500);
	ck_assert(strncmp(t, "HTTP/1.1 500 ", 13) == 0);
	free(t);

	fake_ready_value = 1;
	t = respond("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n", &st);
	ck_assert_int_eq(st, 200);
	ck_assert_str_eq(body_of(t), "ready\n");
	free(t);

	fake_ready_value = 0;
	t = respond("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n", &st);
	ck_assert_int_eq(st, 503);
	ck_assert(strncmp(t, "HTTP/1.1 503 Service Unavailable\r\n", 34) == 0);
	ck_assert_str_eq(body_of(t), "not ready\nroute /b: cannot connect to "
	    "broker 127.0.0.1:1: Connection refused\n");
	free(t);

	t = respond("GET /other HTTP/1.1\r\nHost: x\r\n\r\n", &st);
	ck_assert_int_eq(st, 404);
	ck_assert(strncmp(t, "HTTP/1.1 404 Not Found\r\n", 24) == 0);
	free(t);
	/* An unknown path is 404 whatever the method. */
	t = respond("DELETE /other HTTP/1.1\r\nHost: x\r\n\r\n", &st);
	ck_assert_int_eq(st, 404);
	free(t);
	/* The path, not a prefix of it. */
	t = respond("GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n", &st);
	ck_assert_int_eq(st, 404);
	free(t);

	t = respond("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0"
	    "\r\n\r\n", &st);
	ck_assert_int_eq(st, 405);
	ck_assert(strncmp(t, "HTTP/1.1 405 Method Not Allowed\r\n", 33) == 0);
	ck_assert_ptr_nonnull(strstr(t, "\r\nAllow: GET, HEAD\r\n"));
	free(t);

	/* Parse errors are answered with the parser's status and reason. */
	t = respond("GET /healthz HTTP/1.1\r\n\r\n", &st);
	ck_assert_int_eq(st, 400);
	ck_assert_str_eq(body_of(t), "no Host header\n");
	free(t);
	t = respond("GET /healthz HTTP/1.1\nHost: x\r\n\r\n", &st);
	ck_assert_int_eq(st, 400);
	free(t);
}
END_TEST

START_TEST(test_respond_too_large)
{
	struct http_request	 req;
	struct admin_handlers	 h;
	struct metrics_buf	 out;
	char			*raw;
	ssize_t			 r;
	int			 st = 0;

	raw = malloc(ADMIN_HEAD_MAX + 100);
	ck_assert_ptr_nonnull(raw);
	memcpy(raw, "GET /metrics HTTP/1.1\r\nX-Pad: ", 30);
	memset(raw + 30, 'a', ADMIN_HEAD_MAX + 70);
	http_request_init(&req);
	r = http_request_parse(&req, raw, ADMIN_HEAD_MAX + 100, ADMIN_HEAD_MAX,
	    &st);
	ck_assert_int_eq(r, HTTP_ERROR);
	ck_assert_int_eq(st, 431);
	memset(&h, 0, sizeof(h));
	metrics_buf_init(&out, 4096);
	ck_assert_int_eq(admin_respond(&req, st, &h, &out), 431);
	ck_assert(out.len > 40 && memcmp(out.p, "HTTP/1.1 431 ", 13) == 0);
	metrics_buf_free(&out);

	/* No readiness callback: always ready. */
	http_request_init(&req);
	r = http_request_parse(&req, "GET /readyz HTTP/1.0\r\n\r\n", 24, 4096,
	    &st);
	ck_assert_int_eq(r, 24);
	metrics_buf_init(&out, 4096);
	ck_assert_int_eq(admin_respond(&req, 0, &h, &out), 200);
	metrics_buf_free(&out);
	/* A response that does not fit. */
	metrics_buf_init(&out, 16);
	ck_assert_int_eq(admin_respond(&req, 0, &h, &out), -1);
	metrics_buf_free(&out);
	free(raw);
}
END_TEST

/* ---- the listener on a loopback port ---- */

static struct ev_loop	*loop;
static int		 port;

static void
admin_setup(void)
{
	char	 err[256];

	metrics_init_at(1);
	loop = ev_loop_new(EVFLAG_AUTO);
	ck_assert_ptr_nonnull(loop);
	ck_assert_msg(admin_start(loop, "127.0.0.1:0", fake_ready, NULL, err,
	    sizeof(err)) == 0, "admin_start: %s", err);
	port = admin_port();
	ck_assert_int_gt(port, 0);
}

static void
admin_teardown(void)
{
	admin_stop();
	ck_assert_int_eq(admin_port(), -1);
	ev_loop_destroy(loop);
}

static int
client(void)
{
	struct sockaddr_in	 sin;
	int			 fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	return fd;
}

/*
 * Run the loop until the server closes fd's connection (EOF), at most 3
 * s; what it sent, NUL-terminated, or NULL if it did not close.
 */
static char *
read_all(int fd)
{
	char	*buf;
	size_t	 len = 0, cap = 1 << 16;
	ssize_t	 n;
	int	 i;

	buf = malloc(cap);
	ck_assert_ptr_nonnull(buf);
	for (i = 0; i < 3000; i++) {
		ev_run(loop, EVRUN_NOWAIT);
		n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n > 0) {
			len += (size_t)n;
			ck_assert_uint_lt(len, cap - 1);
			continue;
		}
		if (n == 0 || (n == -1 && errno == ECONNRESET)) {
			buf[len] = '\0';
			return buf;
		}
		usleep(1000);
	}
	free(buf);
	return NULL;
}

static void
send_all(int fd, const char *p, size_t n)
{
	ck_assert_int_eq(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

START_TEST(test_listener_serves)
{
	char	*t;
	int	 fd;

	fd = client();
	send_all(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 35);
	t = read_all(fd);
	ck_assert_ptr_nonnull(t);
	ck_assert(strncmp(t, "HTTP/1.1 200 OK\r\n", 17) == 0);
	ck_assert_str_eq(body_of(t), "ok\n");
	free(t);
	close(fd);

	/* Split in pieces across loop turns, with a body we never read. */
	fd = client();
	send_all(fd, "GET /met", 8);
	ev_run(loop, EVRUN_NOWAIT);
	send_all(fd, "rics HTTP/1.1\r\nHost: x\r\n", 24);
	ev_run(loop, EVRUN_NOWAIT);
	send_all(fd, "Content-Length: 5\r\n\r\nhello", 26);
	t = read_all(fd);
	ck_assert_ptr_nonnull(t);
	ck_assert(strncmp(t, "HTTP/1.1 200 OK\r\n", 17) == 0);
	ck_assert_ptr_nonnull(strstr(t, "\r\nContent-Type: text/plain; "
	    "version=0.0.4; charset=utf-8\r\n"));
	check_format(body_of(t));
	ck_assert_ptr_nonnull(strstr(body_of(t),
	    "\nprocess_start_time_seconds 1\n"));
	ck_assert_ptr_nonnull(strstr(body_of(t),
	    "\nkafkagate_commands_total{"));
	free(t);
	close(fd);

	fake_ready_value = 0;
	fd = client();
	send_all(fd, "GET /readyz HTTP/1.0\r\n\r\n", 24);
	t = read_all(fd);
	ck_assert_ptr_nonnull(t);
	ck_assert(strncmp(t, "HTTP/1.1 503 ", 13) == 0);
	ck_assert_ptr_nonnull(strstr(body_of(t), "route /b"));
	free(t);
	close(fd);
}
END_TEST

START_TEST(test_listener_head_too_large)
{
	char	 pad[ADMIN_HEAD_MAX + 200], *t;
	int	 fd;

	fd = client();
	memset(pad, 'a', sizeof(pad));
	memcpy(pad, "GET /metrics HTTP/1.1\r\nX-Pad: ", 30);
	send_all(fd, pad, sizeof(pad));
	t = read_all(fd);
	ck_assert_ptr_nonnull(t);
	ck_assert(strncmp(t, "HTTP/1.1 431 ", 13) == 0);
	free(t);
	close(fd);
}
END_TEST

/* Connections over ADMIN_MAX_CONNS are closed at once; the others wait. */
START_TEST(test_listener_cap)
{
	int	 fds[ADMIN_MAX_CONNS], fd, i;
	char	*t;

	for (i = 0; i < ADMIN_MAX_CONNS; i++) {
		fds[i] = client();
		ev_run(loop, EVRUN_NOWAIT);
	}
	for (i = 0; i < 20; i++)
		ev_run(loop, EVRUN_NOWAIT);
	fd = client();
	t = read_all(fd);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t, "");
	free(t);
	close(fd);
	/* The first ones are still served. */
	send_all(fds[0], "GET /healthz HTTP/1.0\r\n\r\n", 25);
	t = read_all(fds[0]);
	ck_assert_ptr_nonnull(t);
	ck_assert(strncmp(t, "HTTP/1.1 200 OK\r\n", 17) == 0);
	free(t);
	for (i = 0; i < ADMIN_MAX_CONNS; i++)
		close(fds[i]);
	/* Room again once they are gone. */
	for (i = 0; i < 50; i++)
		ev_run(loop, EVRUN_NOWAIT);
	fd = client();
	send_all(fd, "GET /healthz HTTP/1.0\r\n\r\n", 25);
	t = read_all(fd);
	ck_assert_ptr_nonnull(t);
	ck_assert(strncmp(t, "HTTP/1.1 200 OK\r\n", 17) == 0);
	free(t);
	close(fd);
}
END_TEST

START_TEST(test_listener_errors)
{
	char	 err[256];

	/* One endpoint per process. */
	ck_assert_int_eq(admin_start(loop, "127.0.0.1:0", NULL, NULL, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "already"));
	admin_stop();
	ck_assert_int_eq(admin_start(loop, "nonsense", NULL, NULL, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "expected host:port"));
	ck_assert_int_eq(admin_start(loop, "127.0.0.1:0", NULL, NULL, err,
	    sizeof(err)), 0);
	port = admin_port();
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite	*s = suite_create("metrics");
	TCase	*tc;

	tc = tcase_create("buffer");
	tcase_add_test(tc, test_buf_cap);
	suite_add_tcase(s, tc);

	tc = tcase_create("render");
	tcase_add_test(tc, test_process_and_reload);
	tcase_add_test(tc, test_ws_bridge_cache);
	tcase_add_test(tc, test_bridge_codes);
	tcase_add_test(tc, test_kafka_requests);
	tcase_add_test(tc, test_histogram);
	tcase_add_test(tc, test_escaping);
	tcase_add_test(tc, test_broker_cap);
	tcase_add_test(tc, test_render_too_big);
	suite_add_tcase(s, tc);

	tc = tcase_create("kafka");
	tcase_add_test(tc, test_kconn_observer);
	tcase_add_test(tc, test_reachable);
	suite_add_tcase(s, tc);

	tc = tcase_create("respond");
	tcase_add_test(tc, test_respond_routes);
	tcase_add_test(tc, test_respond_too_large);
	suite_add_tcase(s, tc);

	tc = tcase_create("listener");
	tcase_add_checked_fixture(tc, admin_setup, admin_teardown);
	tcase_add_test(tc, test_listener_serves);
	tcase_add_test(tc, test_listener_head_too_large);
	tcase_add_test(tc, test_listener_cap);
	tcase_add_test(tc, test_listener_errors);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(metrics_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
