# net/ -- small pieces shared by libkafka, libws and the daemon: logging, TLS,
# the name resolver thread, UTF-8 checking, JSON Web Token verification.
noinst_LIBRARIES += net/libnet.a
net_libnet_a_SOURCES = net/log.c net/log.h net/tls.c net/tls.h \
	net/resolve.c net/resolve.h net/utf8.c net/utf8.h \
	net/sdnotify.c net/sdnotify.h net/jwt.c net/jwt.h net/bucket.h
net_libnet_a_CFLAGS = $(AM_CFLAGS) $(LIBEV_CFLAGS)
