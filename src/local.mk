# src/ -- the kafkagate daemon: CLI, routes, the pubsub bridge.
sbin_PROGRAMS += src/kafkagate
src_kafkagate_SOURCES = \
	src/kafkagate.c src/kafkagate.h \
	src/bridge.c src/bridge.h \
	src/conf.c src/conf.h \
	src/auth.c src/auth.h \
	src/backend_kafka.c \
	src/metrics.c src/metrics.h \
	src/admin.c src/admin.h
src_kafkagate_CFLAGS = $(AM_CFLAGS) $(LIBEV_CFLAGS) $(PROTOBUF_C_CFLAGS) $(YAML_CFLAGS)
src_kafkagate_LDADD = proto/libproto.a $(KAFKA_LIBS) $(WS_LIBS) $(PROTOBUF_C_LIBS) $(YAML_LIBS)
