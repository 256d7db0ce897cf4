# tests/ -- Check unit tests (one binary per module), the real-Kafka
# integration suite, fuzz targets.

TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBEV_CFLAGS)

if HAVE_CHECK
check_PROGRAMS += \
	tests/check_kafka_kbuf \
	tests/check_kafka_proto \
	tests/check_kafka_record \
	tests/check_kafka_conn \
	tests/check_kafka_cluster \
	tests/check_kafka_sasl \
	tests/check_kafka_reader \
	tests/check_net_tls \
	tests/check_jwt \
	tests/check_ws_http \
	tests/check_ws_session \
	tests/check_ws_wsession \
	tests/check_bridge \
	tests/check_auth

tests_check_kafka_kbuf_SOURCES = tests/check_kafka_kbuf.c
tests_check_kafka_kbuf_CFLAGS = $(TEST_CFLAGS)
tests_check_kafka_kbuf_LDADD = $(KAFKA_LIBS) $(CHECK_LIBS)

tests_check_kafka_proto_SOURCES = tests/check_kafka_proto.c
tests_check_kafka_proto_CFLAGS = $(TEST_CFLAGS)
tests_check_kafka_proto_LDADD = $(KAFKA_LIBS) $(CHECK_LIBS)

tests_check_kafka_record_SOURCES = tests/check_kafka_record.c
tests_check_kafka_record_CFLAGS = $(TEST_CFLAGS) $(ZLIB_CFLAGS) $(LZ4_CFLAGS) \
	$(ZSTD_CFLAGS) $(SNAPPY_CFLAGS)
tests_check_kafka_record_LDADD = $(KAFKA_LIBS) $(CHECK_LIBS)

tests_check_kafka_conn_SOURCES = tests/check_kafka_conn.c
tests_check_kafka_conn_CFLAGS = $(TEST_CFLAGS)
tests_check_kafka_conn_LDADD = $(KAFKA_LIBS) $(CHECK_LIBS)

tests_check_kafka_cluster_SOURCES = tests/check_kafka_cluster.c
tests_check_kafka_cluster_CFLAGS = $(TEST_CFLAGS)
tests_check_kafka_cluster_LDADD = $(KAFKA_LIBS) $(CHECK_LIBS)

tests_check_kafka_reader_SOURCES = tests/check_kafka_reader.c
tests_check_kafka_reader_CFLAGS = $(TEST_CFLAGS)
tests_check_kafka_reader_LDADD = $(KAFKA_LIBS) $(CHECK_LIBS)

tests_check_kafka_sasl_SOURCES = tests/check_kafka_sasl.c
tests_check_kafka_sasl_CFLAGS = $(TEST_CFLAGS) $(SASL_CFLAGS)
tests_check_kafka_sasl_LDADD = $(KAFKA_LIBS) $(MBEDTLS_LIBS) $(CHECK_LIBS)

tests_check_net_tls_SOURCES = tests/check_net_tls.c
tests_check_net_tls_CFLAGS = $(TEST_CFLAGS)
tests_check_net_tls_LDADD = net/libnet.a $(MBEDTLS_LIBS) $(CHECK_LIBS)

# The vectors come from tests/data/jwt/make-vectors.py (PyJWT), committed:
# no Python at build or test time.
tests_check_jwt_SOURCES = tests/check_jwt.c tests/data/jwt/vectors.h
tests_check_jwt_CFLAGS = $(TEST_CFLAGS)
tests_check_jwt_LDADD = net/libnet.a $(MBEDTLS_LIBS) $(CHECK_LIBS)

tests_check_ws_http_SOURCES = tests/check_ws_http.c
tests_check_ws_http_CFLAGS = $(TEST_CFLAGS)
tests_check_ws_http_LDADD = $(WS_LIBS) $(CHECK_LIBS)

tests_check_ws_wsession_SOURCES = tests/check_ws_wsession.c
tests_check_ws_wsession_CFLAGS = $(TEST_CFLAGS)
tests_check_ws_wsession_LDADD = $(WS_LIBS) $(CHECK_LIBS)

tests_check_ws_session_SOURCES = tests/check_ws_session.c
tests_check_ws_session_CFLAGS = $(TEST_CFLAGS)
tests_check_ws_session_LDADD = $(WS_LIBS) $(CHECK_LIBS)

tests_check_auth_SOURCES = tests/check_auth.c src/auth.c
tests_check_auth_CFLAGS = $(TEST_CFLAGS)
tests_check_auth_LDADD = $(WS_LIBS) $(CHECK_LIBS)
tests_check_bridge_SOURCES = tests/check_bridge.c src/bridge.c
tests_check_bridge_CFLAGS = $(TEST_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_check_bridge_LDADD = proto/libproto.a net/libnet.a $(PROTOBUF_C_LIBS) $(CHECK_LIBS)
endif

# The integration suite: a real Kafka broker (KRaft, jars from Maven
# Central), the real daemon, an independent Python client.  Exit 77
# (skip) only outside CI; in CI a missing broker is a failure.
TESTS += $(check_PROGRAMS) tests/cli.sh tests/integration/run.sh
# The configurations of examples/ pass kafkagate -n as shipped; no network.
TESTS += tests/examples.sh
# The Debian and RPM packages, make install, and the service under systemd
# (tests/package.sh; root for the install and boot parts); about a minute.
TESTS += tests/package.sh
EXTRA_DIST += tests/package.sh
EXTRA_DIST += tests/examples.sh examples/README.md examples/kafkagate.yaml \
	examples/apisix.yaml examples/tls-scram.yaml
EXTRA_DIST += tests/integration/lib.sh tests/integration/harness.py
EXTRA_DIST += tests/data/tls
EXTRA_DIST += tests/data/jwt/make-vectors.py
EXTRA_DIST += tests/cli.sh tests/integration/run.sh tests/integration/pubsub_client.py \
	tests/integration/test_pubsub.py tests/integration/test_transactions.py \
	tests/integration/test_tail.py tests/integration/test_reload.py \
	tests/integration/test_auth.py tests/integration/gateway.py \
	tests/integration/README.md \
	tests/broker/kafka-broker.sh tests/broker/pom.xml

# Fuzz targets (libFuzzer): ./configure CC=clang --enable-fuzzing, which
# instruments every object (AM_CFLAGS); the targets link libFuzzer's main.
# scripts/fuzz-smoke.sh builds and runs them over fuzz/corpus/<target>/.
if ENABLE_FUZZING
FUZZ_FLAGS = -fsanitize=fuzzer,address,undefined
noinst_PROGRAMS += fuzz/fuzz_records fuzz/fuzz_kproto fuzz/fuzz_http \
	fuzz/fuzz_pubsub fuzz/fuzz_ws_frames fuzz/fuzz_jwt fuzz/fuzz_auth
fuzz_fuzz_records_SOURCES = fuzz/fuzz_records.c
fuzz_fuzz_records_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
fuzz_fuzz_records_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
fuzz_fuzz_records_LDADD = $(KAFKA_LIBS)
fuzz_fuzz_kproto_SOURCES = fuzz/fuzz_kproto.c
fuzz_fuzz_kproto_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
fuzz_fuzz_kproto_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
fuzz_fuzz_kproto_LDADD = $(KAFKA_LIBS)
fuzz_fuzz_http_SOURCES = fuzz/fuzz_http.c
fuzz_fuzz_http_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
fuzz_fuzz_http_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
fuzz_fuzz_http_LDADD = $(WS_LIBS)
fuzz_fuzz_pubsub_SOURCES = fuzz/fuzz_pubsub.c src/bridge.c
fuzz_fuzz_pubsub_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS) $(PROTOBUF_C_CFLAGS)
fuzz_fuzz_pubsub_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
fuzz_fuzz_pubsub_LDADD = proto/libproto.a net/libnet.a $(PROTOBUF_C_LIBS)
fuzz_fuzz_ws_frames_SOURCES = fuzz/fuzz_ws_frames.c
fuzz_fuzz_ws_frames_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS) $(LIBEV_CFLAGS)
fuzz_fuzz_ws_frames_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
fuzz_fuzz_ws_frames_LDADD = $(WS_LIBS)
fuzz_fuzz_jwt_SOURCES = fuzz/fuzz_jwt.c
fuzz_fuzz_jwt_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
fuzz_fuzz_jwt_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
fuzz_fuzz_jwt_LDADD = net/libnet.a $(MBEDTLS_LIBS)
fuzz_fuzz_auth_SOURCES = fuzz/fuzz_auth.c src/auth.c
fuzz_fuzz_auth_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
fuzz_fuzz_auth_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
fuzz_fuzz_auth_LDADD = $(WS_LIBS)
# Only the targets (and the generated headers they need), not the daemon.
FUZZ_TARGETS = fuzz/fuzz_records$(EXEEXT) fuzz/fuzz_kproto$(EXEEXT) \
	fuzz/fuzz_http$(EXEEXT) fuzz/fuzz_pubsub$(EXEEXT) fuzz/fuzz_ws_frames$(EXEEXT) \
	fuzz/fuzz_jwt$(EXEEXT) fuzz/fuzz_auth$(EXEEXT)
fuzz-targets: $(BUILT_SOURCES)
	$(AM_V_at)$(MAKE) $(AM_MAKEFLAGS) $(FUZZ_TARGETS)
endif
# The sources, the seed corpora and the fixed crashes (fuzz/corpus/<target>/).
EXTRA_DIST += fuzz/fuzz_records.c fuzz/fuzz_kproto.c fuzz/fuzz_http.c \
	fuzz/fuzz_pubsub.c fuzz/fuzz_ws_frames.c fuzz/fuzz_jwt.c fuzz/fuzz_auth.c \
	fuzz/corpus

# Leader fail-over on a real three-broker KRaft cluster, and the whole
# suite again against Kafka 3.9 (the product supports 3.9 and 4.x).
TESTS += tests/integration/failover.sh tests/integration/compat39.sh
EXTRA_DIST += tests/integration/failover.sh tests/integration/test_failover.py \
	tests/integration/compat39.sh

# Fault injection: a scripted fake broker (Python stdlib) for faults a real
# Kafka cannot produce on demand (docs/STYLE.md, section 6); no Java, about 20 s.
TESTS += tests/integration/faults.sh
EXTRA_DIST += tests/integration/faults.sh tests/integration/fault_broker.py \
	tests/integration/test_faults.py

# Signals on the real daemon: SIGTERM closes clients with 1001, exit 0.
TESTS += tests/integration/signals.sh
EXTRA_DIST += tests/integration/signals.sh tests/integration/test_signals.py

# TLS, SASL (PLAIN, SCRAM), mTLS, re-authentication and wss:// against a
# real Kafka with every security listener (KAFKA_SECURE=1); about 45 s.
TESTS += tests/integration/security.sh
EXTRA_DIST += tests/integration/security.sh tests/integration/test_security.py \
	tests/broker/certs.sh

# Hardening: failures that must never look like success (an unresolvable
# broker, no file descriptors left), a client queueing behind a broker that
# never answers, request strings, the log, a name server that never
# answers.  The real daemon, no Kafka; about 40 s.
TESTS += tests/integration/hardening.sh
EXTRA_DIST += tests/integration/hardening.sh tests/integration/test_hardening.py

# Every command and snippet of README.md, run as written against a real
# broker and the README's own kafkagate commands; about 10 s.
TESTS += tests/integration/readme.sh
EXTRA_DIST += tests/integration/readme.sh tests/integration/test_readme.py

# The metrics renderer and the admin endpoint (src/metrics.c, src/admin.c).
if HAVE_CHECK
check_PROGRAMS += tests/check_metrics
tests_check_metrics_SOURCES = tests/check_metrics.c src/metrics.c src/admin.c \
	src/bridge.c
tests_check_metrics_CFLAGS = $(TEST_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_check_metrics_LDADD = proto/libproto.a $(KAFKA_LIBS) $(WS_LIBS) \
	$(PROTOBUF_C_LIBS) $(CHECK_LIBS)
endif

# The admin endpoint of the real daemon (--admin-listen) against a real
# Kafka: /metrics (promtool check metrics), /healthz, /readyz, limits.
TESTS += tests/integration/admin.sh
EXTRA_DIST += tests/integration/admin.sh tests/integration/test_admin.py
