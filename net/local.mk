# net/ -- small pieces shared by libkafka, libws and the daemon (logging; TLS later).
noinst_LIBRARIES += net/libnet.a
net_libnet_a_SOURCES = net/log.c net/log.h net/tls.c net/tls.h \
	net/resolve.c net/resolve.h
net_libnet_a_CFLAGS = $(AM_CFLAGS) $(LIBEV_CFLAGS)
