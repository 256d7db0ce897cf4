# ws/ -- libws: HTTP/1.1 upgrade, WebSocket sessions (sans-I/O, ws/session.c)
# and the libev glue (ws/server.c).
noinst_LIBRARIES += ws/libws.a
ws_libws_a_SOURCES = ws/http.c ws/http.h ws/server.c ws/session.c ws/session.h ws/ws.h
ws_libws_a_CFLAGS = $(AM_CFLAGS) $(LIBEV_CFLAGS)
WS_LIBS = ws/libws.a net/libnet.a $(LIBEV_LIBS) $(MBEDTLS_LIBS)
