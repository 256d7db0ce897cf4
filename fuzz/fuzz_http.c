/*
 * fuzz_http.c -- libFuzzer target: HTTP request head parser and WebSocket
 * handshake validation.
 *
 * The first two input octets pick the head size limit and a split point;
 * the rest is the request.  Besides crashes it checks that feeding the
 * input whole, in two pieces and one octet at a time gives the same
 * result, that an error says why, that a head accepted has at most one
 * Host header (exactly one in HTTP/1.1), and that a valid handshake
 * yields a well-formed 101 response.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ws/http.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static size_t
count_host(const struct http_request *req)
{
	size_t	 i, n = 0;

	for (i = 0; i < req->nheaders; i++)
		if (req->headers[i].namelen == 4 &&
		    strncasecmp(req->headers[i].name, "host", 4) == 0)
			n++;
	return n;
}

static ssize_t
parse_steps(struct http_request *req, const char *buf, size_t len,
    size_t max, size_t step, int *status)
{
	size_t	 n = 0;
	ssize_t	 r;

	http_request_init(req);
	do {
		n = len - n > step ? n + step : len;
		r = http_request_parse(req, buf, n, max, status);
	} while (r == HTTP_PARTIAL && n < len);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_request	 whole, part;
	struct ws_handshake		 hs;
	char				*buf, reason[WS_REASON_MAX];
	char				 resp[512];
	size_t				 len, max, split;
	ssize_t				 r, r2;
	int				 status = 0, status2 = 0, n;

	if (size < 2)
		return 0;
	max = 64 + (size_t)data[0] * 32;
	split = data[1];
	len = size - 2;
	/* An exact copy, so that reading past len is caught. */
	if ((buf = malloc(len ? len : 1)) == NULL)
		return 0;
	memcpy(buf, data + 2, len);

	http_request_init(&whole);
	r = http_request_parse(&whole, buf, len, max, &status);
	if (r > 0 && (size_t)r > len)
		abort();
	if (r == HTTP_ERROR && status != 400 && status != 431)
		abort();
	if ((r == HTTP_ERROR) != (whole.why != NULL))
		abort();
	if (r > 0 && (count_host(&whole) > 1 || (count_host(&whole) == 0 &&
	    whole.major == 1 && whole.minor >= 1)))
		abort();

	r2 = parse_steps(&part, buf, len, max, split ? split : 1, &status2);
	if (r2 != r || (r == HTTP_ERROR && status2 != status))
		abort();
	r2 = parse_steps(&part, buf, len, max, 1, &status2);
	if (r2 != r || (r == HTTP_ERROR && status2 != status))
		abort();

	if (r > 0) {
		if (whole.nheaders != part.nheaders ||
		    whole.pathlen != part.pathlen ||
		    whole.path == NULL || whole.pathlen == 0 ||
		    whole.path[0] != '/')
			abort();
		n = ws_handshake_check(&whole, &hs, reason, sizeof(reason));
		if (strlen(reason) >= sizeof(reason))
			abort();
		if (n == WS_HS_OK) {
			/* Sized as the server sizes it: a subprotocol may be long. */
			char	*ok;
			size_t	 cap = 256 + hs.protocollen;

			if ((ok = malloc(cap)) == NULL)
				abort();
			n = ws_handshake_response(&hs, ok, cap);
			if (n <= 0 || memcmp(ok, "HTTP/1.1 101 ", 13) != 0)
				abort();
			free(ok);
		} else {
			if (reason[0] == '\0')
				abort();
			(void)http_error_response(resp, sizeof(resp), 400,
			    NULL, reason);
		}
	}
	free(buf);
	return 0;
}
