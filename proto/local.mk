# proto/ -- the APISIX pubsub schema; C generated at build time by protoc-c.
noinst_LIBRARIES += proto/libproto.a
nodist_proto_libproto_a_SOURCES = proto/pubsub.pb-c.c proto/pubsub.pb-c.h
proto_libproto_a_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
BUILT_SOURCES += proto/pubsub.pb-c.h
CLEANFILES += proto/pubsub.pb-c.c proto/pubsub.pb-c.h
EXTRA_DIST += proto/pubsub.proto

proto/pubsub.pb-c.c proto/pubsub.pb-c.h: $(top_srcdir)/proto/pubsub.proto
	$(AM_V_at)$(MKDIR_P) proto
	$(AM_V_GEN)$(PROTOC_C) -I$(top_srcdir) --c_out=$(top_builddir) $(top_srcdir)/proto/pubsub.proto
