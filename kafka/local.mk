# kafka/ -- libkafka, our non-blocking Kafka client: codec, records, connections, cluster.
noinst_LIBRARIES += kafka/libkafka.a
kafka_libkafka_a_SOURCES = \
	kafka/kbuf.c kafka/kbuf.h \
	kafka/kproto.c kafka/kproto.h \
	kafka/record.c kafka/record.h \
	kafka/conn.c kafka/conn.h \
	kafka/sasl.c kafka/sasl.h \
	kafka/cluster.c kafka/cluster.h kafka/cluster_io.h \
	kafka/brokerio.c \
	kafka/reader.c kafka/reader.h
kafka_libkafka_a_CFLAGS = $(AM_CFLAGS) $(LIBEV_CFLAGS) $(ZLIB_CFLAGS) $(LZ4_CFLAGS) \
	$(ZSTD_CFLAGS) $(SNAPPY_CFLAGS) $(SASL_CFLAGS)
KAFKA_LIBS = kafka/libkafka.a net/libnet.a $(LIBEV_LIBS) $(ZLIB_LIBS) $(LZ4_LIBS) \
	$(ZSTD_LIBS) $(SNAPPY_LIBS) $(SASL_LIBS) $(MBEDTLS_LIBS)
