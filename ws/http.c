/*
 * http.c -- HTTP/1.1 request head parser and WebSocket handshake codec.
 */
#include "config.h"

#include <sys/types.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/version.h>
#include <mbedtls/base64.h>
#include <mbedtls/sha1.h>

#include "ws/http.h"

#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

static int	 http_is_tchar(unsigned char);
static int	 http_is_ctl(unsigned char);
static int	 http_parse_target(struct http_request *);
static int	 http_parse_request_line(struct http_request *, const char *,
		    size_t);
static int	 http_parse_header_line(struct http_request *, const char *,
		    size_t, int *);
static int	 http_ieq(const char *, size_t, const char *);
static int	 http_check_host(struct http_request *);
static int	 ws_key_valid(const char *, size_t);

/* RFC 9110 5.6.2: tchar. */
static int
http_is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Octets that may appear nowhere in a head (CR and LF are handled apart). */
static int
http_is_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f;
}

static int
http_ieq(const char *p, size_t len, const char *s)
{
	return strlen(s) == len && strncasecmp(p, s, len) == 0;
}

void
http_request_init(struct http_request *req)
{
	memset(req, 0, sizeof(*req));
}

/* Derive the path from the target; 0 or -1. */
static int
http_parse_target(struct http_request *req)
{
	const char	*p = req->target, *end = p + req->targetlen;
	const char	*q;
	size_t		 i;

	if (*p != '/') {
		/* absolute-form: scheme "://" authority [path] */
		for (q = p; q < end && ((*q >= 'a' && *q <= 'z') ||
		    (*q >= 'A' && *q <= 'Z')); q++)
			;
		if (!(http_ieq(p, (size_t)(q - p), "http") ||
		    http_ieq(p, (size_t)(q - p), "https") ||
		    http_ieq(p, (size_t)(q - p), "ws") ||
		    http_ieq(p, (size_t)(q - p), "wss")))
			return -1;
		if (end - q < 3 || memcmp(q, "://", 3) != 0)
			return -1;
		q += 3;
		p = q;
		while (q < end && *q != '/' && *q != '?' && *q != '#')
			q++;
		if (q == p)
			return -1;	/* empty authority */
		if (q == end || *q != '/') {
			req->path = "/";
			req->pathlen = 1;
			return 0;
		}
		p = q;
	}
	for (i = 0; p + i < end && p[i] != '?' && p[i] != '#'; i++)
		;
	req->path = p;
	req->pathlen = i;
	return 0;
}

/* line excludes the CRLF; 0 or -1. */
static int
http_parse_request_line(struct http_request *req, const char *line,
    size_t len)
{
	const char	*p = line, *end = line + len;

	req->method = p;
	while (p < end && http_is_tchar((unsigned char)*p))
		p++;
	req->methodlen = (size_t)(p - req->method);
	if (req->methodlen == 0 || p == end || *p != ' ')
		return -1;
	p++;

	req->target = p;
	while (p < end && (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f)
		p++;
	req->targetlen = (size_t)(p - req->target);
	if (req->targetlen == 0 || p == end || *p != ' ')
		return -1;
	p++;

	if (end - p != 8 || memcmp(p, "HTTP/", 5) != 0 ||
	    p[5] < '0' || p[5] > '9' || p[6] != '.' ||
	    p[7] < '0' || p[7] > '9')
		return -1;
	req->major = p[5] - '0';
	req->minor = p[7] - '0';
	return http_parse_target(req);
}

/* line excludes the CRLF; 0, or -1 with *status. */
static int
http_parse_header_line(struct http_request *req, const char *line,
    size_t len, int *status)
{
	struct http_header	*h;
	const char		*p = line, *end = line + len;
	const char		*name, *value;

	*status = 400;
	name = p;
	while (p < end && http_is_tchar((unsigned char)*p))
		p++;
	/* Also rejects obs-fold and space before the colon. */
	if (p == name || p == end || *p != ':') {
		req->why = "malformed header line";
		return -1;
	}
	if (req->nheaders == HTTP_MAX_HEADERS) {
		*status = 431;
		req->why = "too many header lines";
		return -1;
	}
	h = &req->headers[req->nheaders];
	h->name = name;
	h->namelen = (size_t)(p - name);
	p++;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	value = p;
	/* The octet scan already refused CTLs; CR cannot occur here. */
	while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	h->value = value;
	h->valuelen = (size_t)(end - value);
	req->nheaders++;
	return 0;
}

ssize_t
http_request_parse(struct http_request *req, const char *buf, size_t len,
    size_t max, int *status)
{
	size_t		 i;
	unsigned char	 c;

	if (len > max)
		len = max;
	for (i = req->scanned; i < len; i++) {
		c = (unsigned char)buf[i];
		if (c == '\r') {
			if (i + 1 == len)
				break;		/* look again with more data */
			if (buf[i + 1] != '\n')
				goto bad;
			continue;
		}
		if (c != '\n') {
			if (http_is_ctl(c))
				goto bad;
			continue;
		}
		/* LF: a line [off, i - 1) ends here. */
		if (i == 0 || buf[i - 1] != '\r')
			goto bad;
		if (!req->started) {
			if (http_parse_request_line(req, buf + req->off,
			    i - 1 - req->off) == -1) {
				req->why = "malformed request line";
				goto bad;
			}
			req->started = 1;
		} else if (i - 1 == req->off) {
			if (http_check_host(req) == -1)
				goto bad;
			req->off = req->scanned = i + 1;
			return (ssize_t)(i + 1);
		} else if (http_parse_header_line(req, buf + req->off,
		    i - 1 - req->off, status) == -1)
			return HTTP_ERROR;
		req->off = i + 1;
	}
	req->scanned = i;
	if (len == max) {
		*status = 431;
		req->why = "request head too large";
		return HTTP_ERROR;
	}
	return HTTP_PARTIAL;
 bad:
	*status = 400;
	if (req->why == NULL)
		req->why = "malformed request head";
	return HTTP_ERROR;
}

/* RFC 9112 3.2: exactly one Host in HTTP/1.1, at most one before; 0 or -1. */
static int
http_check_host(struct http_request *req)
{
	size_t	 i, n = 0;

	for (i = 0; i < req->nheaders; i++)
		if (http_ieq(req->headers[i].name, req->headers[i].namelen,
		    "host"))
			n++;
	if (n > 1) {
		req->why = "more than one Host header";
		return -1;
	}
	if (n == 0 && req->major == 1 && req->minor >= 1) {
		req->why = "no Host header";
		return -1;
	}
	return 0;
}

const struct http_header *
http_header_find(const struct http_request *req, const char *name,
    size_t *idx)
{
	size_t	 i;

	for (i = idx != NULL ? *idx : 0; i < req->nheaders; i++) {
		if (http_ieq(req->headers[i].name, req->headers[i].namelen,
		    name)) {
			if (idx != NULL)
				*idx = i;
			return &req->headers[i];
		}
	}
	return NULL;
}

int
http_list_has_token(const char *p, size_t len, const char *token)
{
	const char	*end = p + len, *t;
	size_t		 tlen;

	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		t = p;
		while (p < end && *p != ',')
			p++;
		tlen = (size_t)(p - t);
		while (tlen > 0 && (t[tlen - 1] == ' ' || t[tlen - 1] == '\t'))
			tlen--;
		if (tlen > 0 && http_ieq(t, tlen, token))
			return 1;
	}
	return 0;
}

const char *
http_status_text(int status)
{
	switch (status) {
	case 101:
		return "Switching Protocols";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}

int
http_error_response(char *buf, size_t buflen, int status, const char *extra,
    const char *body)
{
	int	 n;

	if (body == NULL)
		body = "";
	n = snprintf(buf, buflen,
	    "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: %zu\r\n"
	    "Connection: close\r\n"
	    "%s"
	    "\r\n"
	    "%s",
	    status, http_status_text(status), strlen(body),
	    extra != NULL ? extra : "", body);
	if (n < 0 || (size_t)n >= buflen)
		return -1;
	return n;
}

/* 22 base64 characters and "==": the encoding of exactly 16 octets. */
static int
ws_key_valid(const char *key, size_t len)
{
	unsigned char	 raw[18];
	size_t		 i, olen;
	char		 c;

	if (len != WS_KEY_LEN || key[22] != '=' || key[23] != '=')
		return 0;
	for (i = 0; i < 22; i++) {
		c = key[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return 0;
	}
	if (mbedtls_base64_decode(raw, sizeof(raw), &olen,
	    (const unsigned char *)key, len) != 0 || olen != 16)
		return 0;
	return 1;
}

int
ws_handshake_check(const struct http_request *req, struct ws_handshake *hs,
    char *reason, size_t reasonlen)
{
	const struct http_header	*h;
	const char			*p, *end;
	size_t				 i;
	int				 found;

	memset(hs, 0, sizeof(*hs));
	if (reasonlen > 0)
		reason[0] = '\0';

	if (req->major != 1 || req->minor != 1) {
		(void)snprintf(reason, reasonlen, "bad http version");
		return WS_HS_BAD_HTTP_VERSION;
	}

	h = http_header_find(req, "upgrade", NULL);
	if (h == NULL) {
		(void)snprintf(reason, reasonlen,
		    "bad \"upgrade\" request header: nil");
		return WS_HS_BAD_UPGRADE;
	}
	if (!http_ieq(h->value, h->valuelen, "websocket")) {
		(void)snprintf(reason, reasonlen,
		    "bad \"upgrade\" request header: %.*s",
		    (int)(h->valuelen > 64 ? 64 : h->valuelen), h->value);
		return WS_HS_BAD_UPGRADE;
	}

	found = 0;
	for (i = 0; !found &&
	    (h = http_header_find(req, "connection", &i)) != NULL; i++)
		found = http_list_has_token(h->value, h->valuelen, "upgrade");
	if (!found) {
		(void)snprintf(reason, reasonlen,
		    "bad \"connection\" request header");
		return WS_HS_BAD_CONNECTION;
	}

	h = http_header_find(req, "sec-websocket-key", NULL);
	if (h == NULL || !ws_key_valid(h->value, h->valuelen)) {
		(void)snprintf(reason, reasonlen,
		    "bad \"sec-websocket-key\" request header");
		return WS_HS_BAD_KEY;
	}
	hs->key = h->value;

	h = http_header_find(req, "sec-websocket-version", NULL);
	if (h == NULL || !http_ieq(h->value, h->valuelen, "13")) {
		(void)snprintf(reason, reasonlen,
		    "bad \"sec-websocket-version\" request header");
		return WS_HS_BAD_WS_VERSION;
	}

	/* Methods are case-sensitive (RFC 9110 9.1). */
	if (req->methodlen != 3 || memcmp(req->method, "GET", 3) != 0) {
		(void)snprintf(reason, reasonlen, "bad http method");
		return WS_HS_BAD_METHOD;
	}
	if (http_header_find(req, "transfer-encoding", NULL) != NULL ||
	    ((h = http_header_find(req, "content-length", NULL)) != NULL &&
	    !http_ieq(h->value, h->valuelen, "0"))) {
		(void)snprintf(reason, reasonlen, "unexpected request body");
		return WS_HS_BODY;
	}

	h = http_header_find(req, "sec-websocket-protocol", NULL);
	if (h != NULL) {
		p = h->value;
		end = p + h->valuelen;
		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		for (i = 0; p + i < end && http_is_tchar((unsigned char)p[i]);
		    i++)
			;
		/* The token must end the value or be followed by OWS/comma. */
		if (i > 0 && (p + i == end || p[i] == ',' || p[i] == ' ' ||
		    p[i] == '\t')) {
			hs->protocol = p;
			hs->protocollen = i;
		}
	}
	return WS_HS_OK;
}

int
ws_handshake_accept(const char *key, size_t keylen,
    char out[WS_ACCEPT_LEN + 1])
{
	unsigned char	 in[64 + sizeof(WS_GUID)];
	unsigned char	 digest[20];
	size_t		 olen;
	int		 r;

	if (keylen > 64)
		return -1;
	memcpy(in, key, keylen);
	memcpy(in + keylen, WS_GUID, sizeof(WS_GUID) - 1);
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	r = mbedtls_sha1(in, keylen + sizeof(WS_GUID) - 1, digest);
#else
	r = mbedtls_sha1_ret(in, keylen + sizeof(WS_GUID) - 1, digest);
#endif
	if (r != 0)
		return -1;
	if (mbedtls_base64_encode((unsigned char *)out, WS_ACCEPT_LEN + 1,
	    &olen, digest, sizeof(digest)) != 0 || olen != WS_ACCEPT_LEN)
		return -1;
	out[WS_ACCEPT_LEN] = '\0';
	return 0;
}

int
ws_handshake_response(const struct ws_handshake *hs, char *buf,
    size_t buflen)
{
	char	 accept[WS_ACCEPT_LEN + 1];
	int	 n;

	if (hs->key == NULL ||
	    ws_handshake_accept(hs->key, WS_KEY_LEN, accept) == -1)
		return -1;
	if (hs->protocol != NULL)
		n = snprintf(buf, buflen,
		    "HTTP/1.1 101 Switching Protocols\r\n"
		    "Upgrade: websocket\r\n"
		    "Connection: Upgrade\r\n"
		    "Sec-WebSocket-Accept: %s\r\n"
		    "Sec-WebSocket-Protocol: %.*s\r\n"
		    "\r\n",
		    accept, (int)hs->protocollen, hs->protocol);
	else
		n = snprintf(buf, buflen,
		    "HTTP/1.1 101 Switching Protocols\r\n"
		    "Upgrade: websocket\r\n"
		    "Connection: Upgrade\r\n"
		    "Sec-WebSocket-Accept: %s\r\n"
		    "\r\n",
		    accept);
	if (n < 0 || (size_t)n >= buflen)
		return -1;
	return n;
}
