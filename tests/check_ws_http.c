/*
 * check_ws_http.c -- HTTP request head parser and WebSocket handshake.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ws/http.h"

#define MAX	8192

#define REQ_OK							\
	"GET /kafka?x=1 HTTP/1.1\r\n"				\
	"Host: example.com:9080\r\n"				\
	"Upgrade: websocket\r\n"				\
	"Connection: keep-alive, Upgrade\r\n"			\
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"	\
	"Sec-WebSocket-Version: 13\r\n"				\
	"Sec-WebSocket-Protocol: chat, superchat\r\n"		\
	"User-Agent: \t caf\xc3\xa9  \r\n"			\
	"\r\n"

struct result {
	ssize_t		 r;
	int		 status;
};

/*
 * Parse a copy that ends exactly at the end of an allocation, so that
 * AddressSanitizer catches any read past len.
 */
static struct result
parse_whole(const char *in, size_t len, size_t max, struct http_request *req)
{
	struct result	 res;
	char		*buf;

	buf = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, in, len);
	http_request_init(req);
	res.status = 0;
	res.r = http_request_parse(req, buf, len, max, &res.status);
	free(buf);
	return res;
}

/* Feed in[] growing by the given cut points; stop at the first result. */
static struct result
parse_cuts(char *buf, size_t len, size_t max, const size_t *cuts,
    size_t ncuts, struct http_request *req)
{
	struct result	 res;
	size_t		 i;

	http_request_init(req);
	res.status = 0;
	for (i = 0; i < ncuts; i++) {
		res.r = http_request_parse(req, buf, cuts[i], max, &res.status);
		if (res.r != HTTP_PARTIAL)
			return res;
	}
	res.r = http_request_parse(req, buf, len, max, &res.status);
	return res;
}

/* Same result whole, split at every offset and one byte at a time. */
static void
check_splits(const char *in, size_t len, size_t max)
{
	struct http_request	 whole, req;
	struct result		 w, r;
	size_t			*cuts, i, k;
	char			*buf;

	buf = malloc(len ? len : 1);
	cuts = calloc(len + 1, sizeof(*cuts));
	ck_assert_ptr_nonnull(buf);
	ck_assert_ptr_nonnull(cuts);
	memcpy(buf, in, len);
	w = parse_cuts(buf, len, max, cuts, 0, &whole);

	for (k = 1; k < len; k++) {
		cuts[0] = k;
		r = parse_cuts(buf, len, max, cuts, 1, &req);
		ck_assert_msg(r.r == w.r, "split at %zu: %zd != %zd", k, r.r,
		    w.r);
		if (w.r == HTTP_ERROR)
			ck_assert_int_eq(r.status, w.status);
		else if (w.r > 0) {
			ck_assert_uint_eq(req.nheaders, whole.nheaders);
			ck_assert_ptr_eq(req.path, whole.path);
			ck_assert_uint_eq(req.pathlen, whole.pathlen);
		}
	}
	for (i = 0; i < len; i++)
		cuts[i] = i + 1;
	r = parse_cuts(buf, len, max, cuts, len, &req);
	ck_assert_int_eq(r.r, w.r);
	if (w.r == HTTP_ERROR)
		ck_assert_int_eq(r.status, w.status);
	else if (w.r > 0) {
		ck_assert_uint_eq(req.nheaders, whole.nheaders);
		for (i = 0; i < req.nheaders; i++) {
			ck_assert_ptr_eq(req.headers[i].name,
			    whole.headers[i].name);
			ck_assert_uint_eq(req.headers[i].namelen,
			    whole.headers[i].namelen);
			ck_assert_ptr_eq(req.headers[i].value,
			    whole.headers[i].value);
			ck_assert_uint_eq(req.headers[i].valuelen,
			    whole.headers[i].valuelen);
		}
	}
	free(cuts);
	free(buf);
}

static int
hdr_is(const struct http_header *h, const char *name, const char *value)
{
	return h->namelen == strlen(name) &&
	    memcmp(h->name, name, h->namelen) == 0 &&
	    h->valuelen == strlen(value) &&
	    memcmp(h->value, value, h->valuelen) == 0;
}

START_TEST(test_http_valid_whole)
{
	struct http_request	 req;
	char			 buf[sizeof(REQ_OK) + 16];
	size_t			 len = sizeof(REQ_OK) - 1;
	ssize_t			 r;
	int			 status = 0;

	memcpy(buf, REQ_OK, len);
	http_request_init(&req);
	r = http_request_parse(&req, buf, len, MAX, &status);
	ck_assert_int_eq(r, (ssize_t)len);
	ck_assert_uint_eq(req.methodlen, 3);
	ck_assert_int_eq(memcmp(req.method, "GET", 3), 0);
	ck_assert_uint_eq(req.targetlen, strlen("/kafka?x=1"));
	ck_assert_uint_eq(req.pathlen, 6);
	ck_assert_int_eq(memcmp(req.path, "/kafka", 6), 0);
	ck_assert_int_eq(req.major, 1);
	ck_assert_int_eq(req.minor, 1);
	ck_assert_uint_eq(req.nheaders, 7);
	ck_assert(hdr_is(&req.headers[0], "Host", "example.com:9080"));
	ck_assert(hdr_is(&req.headers[2], "Connection", "keep-alive, Upgrade"));
	/* OWS trimmed on both sides, obs-text kept. */
	ck_assert(hdr_is(&req.headers[6], "User-Agent", "caf\xc3\xa9"));
	ck_assert_ptr_nonnull(http_header_find(&req, "SEC-WEBSOCKET-KEY",
	    NULL));
	ck_assert_ptr_null(http_header_find(&req, "cookie", NULL));

	/* Pipelined bytes after the head are not consumed. */
	memcpy(buf + len, "\x82\x80", 2);
	http_request_init(&req);
	r = http_request_parse(&req, buf, len + 2, MAX, &status);
	ck_assert_int_eq(r, (ssize_t)len);
}
END_TEST

START_TEST(test_http_valid_splits)
{
	check_splits(REQ_OK, sizeof(REQ_OK) - 1, MAX);
	check_splits("GET / HTTP/1.1\r\nHost: h\r\n\r\n", 27, MAX);
	check_splits("GET http://h:1/a/b?q HTTP/1.1\r\nX:\r\nHost: h:1\r\n\r\n",
	    48, MAX);
	check_splits("GET / HTTP/1.0\r\n\r\n", 18, MAX);
}
END_TEST

START_TEST(test_http_partial)
{
	struct http_request	 req;
	int			 status = 0;

	http_request_init(&req);
	ck_assert_int_eq(http_request_parse(&req, "", 0, MAX, &status),
	    HTTP_PARTIAL);
	http_request_init(&req);
	ck_assert_int_eq(http_request_parse(&req, "GET / HTTP/1.1\r\n", 16,
	    MAX, &status), HTTP_PARTIAL);
	/* Re-running with no new data is harmless. */
	ck_assert_int_eq(http_request_parse(&req, "GET / HTTP/1.1\r\n", 16,
	    MAX, &status), HTTP_PARTIAL);
}
END_TEST

static const struct {
	const char	*in;
	int		 status;
} bad[] = {
	{ "GET / HTTP/1.1\nHost: x\n\n", 400 },		/* bare LF */
	{ "GET / HTTP/1.1\r\nHost: x\n\r\n", 400 },
	{ "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400 },
	{ "GET  / HTTP/1.1\r\n\r\n", 400 },
	{ "GET / HTTP/1.1 \r\n\r\n", 400 },
	{ "GET /\r\n\r\n", 400 },
	{ "GET / HTTP/11\r\n\r\n", 400 },
	{ "GET / http/1.1\r\n\r\n", 400 },
	{ "GET / HTTP/1.x\r\n\r\n", 400 },
	{ " GET / HTTP/1.1\r\n\r\n", 400 },
	{ "G(T / HTTP/1.1\r\n\r\n", 400 },
	{ "\r\nGET / HTTP/1.1\r\n\r\n", 400 },
	{ "GET * HTTP/1.1\r\n\r\n", 400 },
	{ "CONNECT h:443 HTTP/1.1\r\n\r\n", 400 },
	{ "GET ftp://h/ HTTP/1.1\r\n\r\n", 400 },
	{ "GET http:///x HTTP/1.1\r\n\r\n", 400 },
	{ "GET /\xc3\xa9 HTTP/1.1\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\n: x\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost x\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400 },	/* obs-fold */
	{ "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nX: a\x01\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nX\xc3\xa9: a\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\n\r\r\n", 400 },
	{ "hello\r\n\r\n", 400 },
	/* RFC 9112 3.2: exactly one Host in HTTP/1.1, at most one in 1.0. */
	{ "GET / HTTP/1.1\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nX-Host: h\r\nHosts: h\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: h\r\nHost: h\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: h\r\nX: y\r\nhOST: other\r\n\r\n", 400 },
	{ "GET / HTTP/1.0\r\nHost: h\r\nHost: h\r\n\r\n", 400 },
	{ "GET / HTTP/1.9\r\n\r\n", 400 },
	{ "GET http://h/ HTTP/1.1\r\n\r\n", 400 },
};

START_TEST(test_http_bad)
{
	struct http_request	 req;
	struct result		 r;
	const char		*in = bad[_i].in;

	r = parse_whole(in, strlen(in), MAX, &req);
	ck_assert_msg(r.r == HTTP_ERROR, "case %d: %zd", _i, r.r);
	ck_assert_int_eq(r.status, bad[_i].status);
	ck_assert_ptr_nonnull(req.why);
	check_splits(in, strlen(in), MAX);
}
END_TEST

START_TEST(test_http_nul)
{
	static const char	 in[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";
	struct http_request	 req;
	struct result		 r;

	r = parse_whole(in, sizeof(in) - 1, MAX, &req);
	ck_assert_int_eq(r.r, HTTP_ERROR);
	ck_assert_int_eq(r.status, 400);
	check_splits(in, sizeof(in) - 1, MAX);
	/* Detected before the line is complete. */
	r = parse_whole(in, 23, MAX, &req);
	ck_assert_int_eq(r.r, HTTP_ERROR);
}
END_TEST

/*
 * A request with Host and n more headers "X-NNNN: v", and a Pad header
 * of pad octets if pad > 0: 34 octets and those.
 */
static char *
make_request(size_t nheaders, size_t pad, size_t *lenp)
{
	char	*buf, *p;
	size_t	 i, cap = 64 + nheaders * 16 + pad;

	buf = malloc(cap);
	ck_assert_ptr_nonnull(buf);
	p = buf;
	p += sprintf(p, "GET / HTTP/1.1\r\nHost: x\r\n");
	for (i = 0; i < nheaders; i++)
		p += sprintf(p, "X-%04zu: v\r\n", i);
	if (pad > 0) {
		p += sprintf(p, "Pad: ");
		memset(p, 'a', pad);
		p += pad;
		p += sprintf(p, "\r\n");
	}
	p += sprintf(p, "\r\n");
	*lenp = (size_t)(p - buf);
	return buf;
}

START_TEST(test_http_limits)
{
	struct http_request	 req;
	struct result		 r;
	char			*buf;
	size_t			 len;

	/* 64 headers (Host and 63) are fine, 65 are too many. */
	buf = make_request(HTTP_MAX_HEADERS - 1, 0, &len);
	r = parse_whole(buf, len, MAX, &req);
	ck_assert_int_eq(r.r, (ssize_t)len);
	ck_assert_uint_eq(req.nheaders, HTTP_MAX_HEADERS);
	free(buf);
	buf = make_request(HTTP_MAX_HEADERS, 0, &len);
	r = parse_whole(buf, len, MAX, &req);
	ck_assert_int_eq(r.r, HTTP_ERROR);
	ck_assert_int_eq(r.status, 431);
	check_splits(buf, len, MAX);
	free(buf);

	/* A head of exactly max octets is fine; one more is 431. */
	buf = make_request(0, 100, &len);
	free(buf);
	buf = make_request(0, MAX - len + 100, &len);
	ck_assert_uint_eq(len, MAX);
	r = parse_whole(buf, len, MAX, &req);
	ck_assert_int_eq(r.r, MAX);
	free(buf);
	buf = make_request(0, MAX - 34 + 1, &len);
	ck_assert_uint_eq(len, MAX + 1);
	r = parse_whole(buf, len, MAX, &req);
	ck_assert_int_eq(r.r, HTTP_ERROR);
	ck_assert_int_eq(r.status, 431);
	check_splits(buf, len, MAX);
	/* Only the first max octets are looked at. */
	r = parse_whole(buf, MAX, MAX, &req);
	ck_assert_int_eq(r.r, HTTP_ERROR);
	ck_assert_int_eq(r.status, 431);
	free(buf);

	/* A head ending in CR at the limit. */
	r = parse_whole("GET / HTTP/1.1\r", 15, 15, &req);
	ck_assert_int_eq(r.r, HTTP_ERROR);
	ck_assert_int_eq(r.status, 431);
}
END_TEST

static const struct {
	const char	*in;
	const char	*path;
} targets[] = {
	{ "GET http://example.com:80/kafka?x HTTP/1.1\r\nHost: h\r\n\r\n",
	  "/kafka" },
	{ "GET HTTPS://example.com/a HTTP/1.1\r\nHost: h\r\n\r\n", "/a" },
	{ "GET wss://example.com HTTP/1.1\r\nHost: h\r\n\r\n", "/" },
	{ "GET ws://example.com?x HTTP/1.1\r\nHost: h\r\n\r\n", "/" },
	{ "GET /a/b#frag HTTP/1.1\r\nHost: h\r\n\r\n", "/a/b" },
	{ "GET /?q HTTP/1.1\r\nHost: h\r\n\r\n", "/" },
	{ "GET /%41b?/c HTTP/1.1\r\nHost: h\r\n\r\n", "/%41b" },
};

START_TEST(test_http_target)
{
	struct http_request	 req;
	const char		*in = targets[_i].in;
	int			 status = 0;

	http_request_init(&req);
	ck_assert_int_eq(http_request_parse(&req, in, strlen(in), MAX,
	    &status), (ssize_t)strlen(in));
	ck_assert_uint_eq(req.pathlen, strlen(targets[_i].path));
	ck_assert_int_eq(memcmp(req.path, targets[_i].path, req.pathlen), 0);
}
END_TEST

/* RFC 9112 3.2: the Host header. */
START_TEST(test_http_host)
{
	static const struct {
		const char	*in;
		const char	*why;		/* NULL: accepted */
	} cases[] = {
		{ "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", NULL },
		{ "GET / HTTP/1.1\r\nhost: h:1\r\n\r\n", NULL },
		/* An empty value is allowed (no authority). */
		{ "GET / HTTP/1.1\r\nHost:\r\n\r\n", NULL },
		{ "GET / HTTP/1.0\r\n\r\n", NULL },
		{ "GET / HTTP/1.0\r\nHost: h\r\n\r\n", NULL },
		/* Not HTTP/1: the handshake check refuses it. */
		{ "GET / HTTP/2.0\r\n\r\n", NULL },
		{ "GET / HTTP/1.1\r\n\r\n", "no Host header" },
		{ "GET / HTTP/1.2\r\nX: y\r\n\r\n", "no Host header" },
		{ "GET http://h/ HTTP/1.1\r\n\r\n", "no Host header" },
		{ "GET / HTTP/1.1\r\nHost: h\r\nHOST: h\r\n\r\n",
		  "more than one Host header" },
		{ "GET / HTTP/1.0\r\nHost: a\r\nX: y\r\nhost: b\r\n\r\n",
		  "more than one Host header" },
	};
	struct http_request	 req;
	struct result		 r;
	size_t			 i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = strlen(cases[i].in);
		r = parse_whole(cases[i].in, len, MAX, &req);
		if (cases[i].why == NULL) {
			ck_assert_msg(r.r == (ssize_t)len, "case %zu: %zd", i,
			    r.r);
			ck_assert_ptr_null(req.why);
		} else {
			ck_assert_msg(r.r == HTTP_ERROR, "case %zu: %zd", i,
			    r.r);
			ck_assert_int_eq(r.status, 400);
			ck_assert_str_eq(req.why, cases[i].why);
		}
		check_splits(cases[i].in, len, MAX);
	}
}
END_TEST

/*
 * Handshake checks.
 */
static int
check_hs(const char *in, struct ws_handshake *hs, char *reason, size_t rlen,
    struct http_request *req)
{
	int	 status = 0;
	ssize_t	 r;

	http_request_init(req);
	r = http_request_parse(req, in, strlen(in), MAX, &status);
	ck_assert_msg(r == (ssize_t)strlen(in), "parse: %zd status %d", r,
	    status);
	return ws_handshake_check(req, hs, reason, rlen);
}

#define H_HOST	"Host: x\r\n"
#define H_UP	"Upgrade: websocket\r\n"
#define H_CONN	"Connection: Upgrade\r\n"
#define H_KEY	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define H_VER	"Sec-WebSocket-Version: 13\r\n"

static const struct {
	const char	*in;
	int		 err;
	const char	*reason;
} hs_cases[] = {
	{ "GET /k HTTP/1.1\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n",
	  WS_HS_OK, "" },
	{ "GET /k HTTP/1.1\r\n" H_HOST "upgrade: WebSocket\r\n"
	  "connection: upgrade\r\n"
	  "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	  "sec-websocket-version: 13\r\n\r\n", WS_HS_OK, "" },
	{ "GET /k HTTP/1.0\r\n" H_UP H_CONN H_KEY H_VER "\r\n",
	  WS_HS_BAD_HTTP_VERSION, "bad http version" },
	{ "GET /k HTTP/2.0\r\n\r\n",
	  WS_HS_BAD_HTTP_VERSION, "bad http version" },
	{ "GET /k HTTP/1.1\r\n" H_HOST "\r\n",
	  WS_HS_BAD_UPGRADE, "bad \"upgrade\" request header: nil" },
	{ "GET /k HTTP/1.1\r\n" H_HOST "Upgrade: h2c\r\n" H_CONN H_KEY H_VER
	  "\r\n",
	  WS_HS_BAD_UPGRADE, "bad \"upgrade\" request header: h2c" },
	{ "GET /k HTTP/1.1\r\n" H_HOST "Upgrade:\r\n" H_CONN H_KEY H_VER
	  "\r\n",
	  WS_HS_BAD_UPGRADE, "bad \"upgrade\" request header: " },
	{ "GET /k HTTP/1.1\r\n" H_HOST H_UP H_KEY H_VER "\r\n",
	  WS_HS_BAD_CONNECTION, "bad \"connection\" request header" },
	{ "GET /k HTTP/1.1\r\n" H_HOST H_UP "Connection: keep-alive\r\n"
	  H_KEY H_VER "\r\n", WS_HS_BAD_CONNECTION,
	  "bad \"connection\" request header" },
	{ "GET /k HTTP/1.1\r\n" H_HOST H_UP "Connection: notupgrade\r\n"
	  H_KEY H_VER "\r\n", WS_HS_BAD_CONNECTION,
	  "bad \"connection\" request header" },
	{ "GET /k HTTP/1.1\r\n" H_HOST H_UP "Connection: keep-alive\r\n"
	  "Connection: foo ,  UPGRADE \r\n" H_KEY H_VER "\r\n", WS_HS_OK, "" },
	{ "GET /k HTTP/1.1\r\n" H_HOST H_UP H_CONN H_VER "\r\n",
	  WS_HS_BAD_KEY, "bad \"sec-websocket-key\" request header" },
	{ "GET /k HTTP/1.1\r\n" H_HOST H_UP H_CONN "Sec-WebSocket-Key: abc\r\n"
	  H_VER "\r\n", WS_HS_BAD_KEY,
	  "bad \"sec-websocket-key\" request header" },
	{ "GET /k HTTP/1.1\r\n" H_HOST H_UP H_CONN
	  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=A\r\n" H_VER "\r\n",
	  WS_HS_BAD_KEY, "bad \"sec-websocket-key\" request header" },
	{ "GET /k HTTP/1.1\r\n" H_HOST H_UP H_CONN
	  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j*Q==\r\n" H_VER "\r\n",
	  WS_HS_BAD_KEY, "bad \"sec-websocket-key\" request header" },
	{ "GET /k HTTP/1.1\r\n" H_HOST H_UP H_CONN H_KEY "\r\n",
	  WS_HS_BAD_WS_VERSION,
	  "bad \"sec-websocket-version\" request header" },
	{ "GET /k HTTP/1.1\r\n" H_HOST H_UP H_CONN H_KEY
	  "Sec-WebSocket-Version: 8\r\n\r\n", WS_HS_BAD_WS_VERSION,
	  "bad \"sec-websocket-version\" request header" },
	/* APISIX's order: the first failing check wins. */
	{ "GET /k HTTP/1.0\r\nHost: x\r\n\r\n",
	  WS_HS_BAD_HTTP_VERSION, "bad http version" },
	{ "GET /k HTTP/1.1\r\n" H_HOST H_CONN "\r\n",
	  WS_HS_BAD_UPGRADE, "bad \"upgrade\" request header: nil" },
	{ "GET /k HTTP/1.1\r\n" H_HOST H_UP "\r\n",
	  WS_HS_BAD_CONNECTION, "bad \"connection\" request header" },
	{ "GET /k HTTP/1.1\r\n" H_HOST H_UP H_CONN
	  "Sec-WebSocket-Version: 7\r\n\r\n",
	  WS_HS_BAD_KEY, "bad \"sec-websocket-key\" request header" },
	/* Ours, after APISIX's. */
	{ "POST /k HTTP/1.1\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n",
	  WS_HS_BAD_METHOD, "bad http method" },
	{ "get /k HTTP/1.1\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n",
	  WS_HS_BAD_METHOD, "bad http method" },
	{ "POST /k HTTP/1.1\r\n" H_HOST "\r\n",
	  WS_HS_BAD_UPGRADE, "bad \"upgrade\" request header: nil" },
	{ "GET /k HTTP/1.1\r\n" H_HOST H_UP H_CONN H_KEY H_VER
	  "Content-Length: 5\r\n\r\n", WS_HS_BODY, "unexpected request body" },
	{ "GET /k HTTP/1.1\r\n" H_HOST H_UP H_CONN H_KEY H_VER
	  "Transfer-Encoding: chunked\r\n\r\n", WS_HS_BODY,
	  "unexpected request body" },
	{ "GET /k HTTP/1.1\r\n" H_HOST H_UP H_CONN H_KEY H_VER
	  "Content-Length: 0\r\n\r\n", WS_HS_OK, "" },
};

START_TEST(test_hs_reasons)
{
	struct http_request	 req;
	struct ws_handshake	 hs;
	char			 reason[WS_REASON_MAX];
	int			 err;

	err = check_hs(hs_cases[_i].in, &hs, reason, sizeof(reason), &req);
	ck_assert_msg(err == hs_cases[_i].err, "case %d: err %d, %s", _i, err,
	    reason);
	ck_assert_str_eq(reason, hs_cases[_i].reason);
	if (err == WS_HS_OK)
		ck_assert_ptr_nonnull(hs.key);
}
END_TEST

START_TEST(test_hs_accept)
{
	char	 out[WS_ACCEPT_LEN + 1];

	/* RFC 6455 section 1.3. */
	ck_assert_int_eq(ws_handshake_accept("dGhlIHNhbXBsZSBub25jZQ==", 24,
	    out), 0);
	ck_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}
END_TEST

START_TEST(test_hs_response)
{
	struct http_request	 req;
	struct ws_handshake	 hs;
	char			 reason[WS_REASON_MAX], buf[512];
	int			 n;

	ck_assert_int_eq(check_hs(REQ_OK, &hs, reason, sizeof(reason), &req),
	    WS_HS_OK);
	ck_assert_uint_eq(hs.protocollen, 4);
	ck_assert_int_eq(memcmp(hs.protocol, "chat", 4), 0);
	n = ws_handshake_response(&hs, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_str_eq(buf,
	    "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
	    "Sec-WebSocket-Protocol: chat\r\n"
	    "\r\n");
	ck_assert_int_eq(n, (int)strlen(buf));
	ck_assert_int_eq(ws_handshake_response(&hs, buf, 50), -1);

	/* No subprotocol offered: none echoed. */
	ck_assert_int_eq(check_hs("GET /k HTTP/1.1\r\n" H_HOST H_UP H_CONN H_KEY
	    H_VER "\r\n", &hs, reason, sizeof(reason), &req), WS_HS_OK);
	ck_assert_ptr_null(hs.protocol);
	n = ws_handshake_response(&hs, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_ptr_null(strstr(buf, "Sec-WebSocket-Protocol"));
}
END_TEST

static const struct {
	const char	*value;
	const char	*first;
} protos[] = {
	{ "chat", "chat" },
	{ "chat, superchat", "chat" },
	{ "  ,  v2.pubsub ,x", "v2.pubsub" },
	{ "a b", "a" },
	{ "@bad, good", NULL },
	{ "", NULL },
	{ ",", NULL },
};

START_TEST(test_hs_protocol)
{
	struct http_request	 req;
	struct ws_handshake	 hs;
	char			 in[512], reason[WS_REASON_MAX];

	(void)snprintf(in, sizeof(in), "GET /k HTTP/1.1\r\n" H_HOST H_UP H_CONN
	    H_KEY H_VER "Sec-WebSocket-Protocol: %s\r\n"
	    "Sec-WebSocket-Protocol: other\r\n\r\n", protos[_i].value);
	ck_assert_int_eq(check_hs(in, &hs, reason, sizeof(reason), &req),
	    WS_HS_OK);
	if (protos[_i].first == NULL) {
		ck_assert_ptr_null(hs.protocol);
		return;
	}
	ck_assert_ptr_nonnull(hs.protocol);
	ck_assert_uint_eq(hs.protocollen, strlen(protos[_i].first));
	ck_assert_int_eq(memcmp(hs.protocol, protos[_i].first,
	    hs.protocollen), 0);
}
END_TEST

START_TEST(test_http_error_response)
{
	char	 buf[256];
	int	 n;

	n = http_error_response(buf, sizeof(buf), 400,
	    "Sec-WebSocket-Version: 13\r\n", "bad http version\n");
	ck_assert_int_gt(n, 0);
	ck_assert_str_eq(buf,
	    "HTTP/1.1 400 Bad Request\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: 17\r\n"
	    "Connection: close\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "\r\n"
	    "bad http version\n");
	n = http_error_response(buf, sizeof(buf), 431, NULL, NULL);
	ck_assert_int_gt(n, 0);
	ck_assert_ptr_nonnull(strstr(buf, "431 Request Header Fields Too "
	    "Large\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "Content-Length: 0\r\n"));
	ck_assert_int_eq(http_error_response(buf, 20, 404, NULL, "x"), -1);
}
END_TEST

START_TEST(test_http_list_token)
{
	ck_assert(http_list_has_token("Upgrade", 7, "upgrade"));
	ck_assert(http_list_has_token("a,upgrade", 9, "upgrade"));
	ck_assert(http_list_has_token(" a , UpGrade ,b", 15, "upgrade"));
	ck_assert(!http_list_has_token("upgrades", 8, "upgrade"));
	ck_assert(!http_list_has_token("", 0, "upgrade"));
	ck_assert(!http_list_has_token(",,,", 3, "upgrade"));
}
END_TEST

static Suite *
ws_http_suite(void)
{
	Suite	*s = suite_create("ws_http");
	TCase	*tc;

	tc = tcase_create("parser");
	tcase_add_test(tc, test_http_valid_whole);
	tcase_add_test(tc, test_http_valid_splits);
	tcase_add_test(tc, test_http_partial);
	tcase_add_loop_test(tc, test_http_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_http_nul);
	tcase_add_test(tc, test_http_limits);
	tcase_add_loop_test(tc, test_http_target, 0,
	    sizeof(targets) / sizeof(targets[0]));
	tcase_add_test(tc, test_http_host);
	tcase_add_test(tc, test_http_error_response);
	tcase_add_test(tc, test_http_list_token);
	suite_add_tcase(s, tc);

	tc = tcase_create("handshake");
	tcase_add_loop_test(tc, test_hs_reasons, 0,
	    sizeof(hs_cases) / sizeof(hs_cases[0]));
	tcase_add_test(tc, test_hs_accept);
	tcase_add_test(tc, test_hs_response);
	tcase_add_loop_test(tc, test_hs_protocol, 0,
	    sizeof(protos) / sizeof(protos[0]));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(ws_http_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
