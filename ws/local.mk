# ws/ -- libws: HTTP/1.1 upgrade and WebSocket sessions (wslay) on libev.
noinst_LIBRARIES += ws/libws.a
ws_libws_a_SOURCES = ws/http.c ws/http.h ws/server.c ws/ws.h
ws_libws_a_CFLAGS = $(AM_CFLAGS) $(LIBEV_CFLAGS)
WS_LIBS = ws/libws.a net/libnet.a $(LIBEV_LIBS) $(WSLAY_LIBS) $(MBEDTLS_LIBS)
