/*
 * fuzz_auth.c -- libFuzzer target: admission of WebSocket handshakes and
 * topic permissions (src/auth.c) against a fixed route and consumers.
 *
 * Input: a control octet, then a request head (parsed by ws/http.c as
 * the server parses it, with its default limit of 8192 octets).  The
 * control octet sets up the route:
 *   bits 0-1  0 key-auth and jwt-auth, 1 key-auth, 2 jwt-auth, 3 neither
 *             (the Origin check only);
 *   bit 2     origin_required;
 *   bit 3     jwt_issuer and jwt_audience, and a leeway of 60 s;
 *             with bit 2, no origins list (any Origin, but one);
 *   bits 4-5  the clock: JWT_T_NOW, +3599 s, +3601 s, or years later;
 *   bit 6     other credential names (X-Api-Key, ?key=, X-Token, ?token=,
 *             cookie "session");
 *   bit 7     the consumers with a max_connections are at it (429).
 * The route's origins list is "https://app.example.com" and
 * "*.example.org".  The consumers: alice (API key), hs (HS256 secret,
 * "key" claim "hs-key"), es (ES256, the public key of
 * tests/data/jwt/vectors.h and its "user-key" claim, so that its tokens
 * verify at JWT_T_NOW), bob (an API key needing escapes), and nobody
 * (no credential).
 *
 * Besides the sanitizers' checks (leaks included):
 * - auth_admit() answers 0, 401, 403, 429 or 503; a refusal names no
 *   consumer and says why in printable ASCII, without a credential; an
 *   admission on a route that asks for a credential names a consumer
 *   that holds one of the route's kinds, under its max_connections;
 *   the same request gives the same answer twice;
 * - Origin: two Origin headers, or one nowhere near the allowed ones,
 *   are refused; the allowed page is let in (as far as the Origin goes);
 * - admitted, the subprotocol to echo is one the client offered (RFC 6455
 *   4.2.2), a token, and "kafkagate" whenever that was offered;
 * - a token admitted has not expired: the exp handed back, if any, is
 *   later than the clock less the leeway;
 * - auth_match() on a pattern and a topic from the input agrees with
 *   strcmp() without wildcards, "*" matches anything, a topic matches
 *   itself; auth_allows() with a consumer never allows more than
 *   without one;
 * - auth_query_arg() and auth_cookie() on the input itself, with
 *   buffers of several sizes (each allocated exactly, so that a write
 *   past it is caught): -1, or a NUL-terminated value of that length
 *   without a NUL inside, the same whatever the buffer once it fits; a
 *   cookie's value is a piece of the input.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/jwt.h"
#include "src/auth.h"
#include "tests/data/jwt/vectors.h"
#include "ws/http.h"

#define FA_HEAD_MAX	8192	/* ws_server_conf.max_request's default */
#define FA_STR_MAX	256	/* a pattern or topic taken from the input */
#define FA_NUSERS	5

int	 LLVMFuzzerInitialize(int *, char ***);
int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	 s_alice[] = "alice", s_akey[] = "alice-key-0123456789";
static char	 s_hs[] = "hs", s_hskey[] = "hs-key";
static char	 s_es[] = "es", s_eskey[] = "user-key";
static char	 s_bob[] = "bob", s_bkey[] = "b%b&k y=;";
static char	 s_nobody[] = "nobody";
static char	 s_o1[] = "https://app.example.com", s_o2[] = "*.example.org";
static char	 s_orders[] = "orders", s_metrics[] = "metrics.*";
static char	 s_log[] = "log-?", s_mine[] = "metrics.eu.*";
static char	 s_xkey[] = "X-Api-Key", s_qkey[] = "key";
static char	 s_xtok[] = "X-Token", s_qtok[] = "token";
static char	 s_session[] = "session";
static char	 s_iss[] = "https://issuer.example", s_aud[] = "kafkagate";

static const char	 fa_secret[] = "kafkagate-fuzz-hs256-secret-0123456789";

static char		*origins[] = { s_o1, s_o2 };
static char		*route_fetch[] = { s_orders, s_metrics, s_log };
static char		*alice_fetch[] = { s_orders, s_metrics };
static char		*alice_lo[] = { s_orders };
static char		*es_fetch[] = { s_log, s_mine };

static struct auth_route	 rt;
static struct auth_consumer	 users[FA_NUSERS];
static struct auth_consumers	 cs = { users, FA_NUSERS };
static struct jwt_key		 khs, kes;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	 err[256];
	int	 i;

	(void)argc;
	(void)argv;
	if (jwt_key_init_secret(&khs, JWT_HS256, (const uint8_t *)fa_secret,
	    strlen(fa_secret), err, sizeof(err)) == -1 ||
	    jwt_key_init_public(&kes, JWT_ES256, jwt_t_ec256_pem,
	    strlen(jwt_t_ec256_pem), err, sizeof(err)) == -1)
		abort();
	users[0].username = s_alice;
	users[0].key = s_akey;
	users[0].acl.pat[AUTH_CMD_FETCH] = alice_fetch;
	users[0].acl.npat[AUTH_CMD_FETCH] = 2;
	users[0].acl.pat[AUTH_CMD_LIST_OFFSET] = alice_lo;
	users[0].acl.npat[AUTH_CMD_LIST_OFFSET] = 1;
	users[0].max_conns = 2;
	users[1].username = s_hs;
	users[1].jwt_key = s_hskey;
	users[1].jwt = &khs;
	users[1].acl.all[AUTH_CMD_FETCH] = 1;
	users[1].acl.all[AUTH_CMD_LIST_OFFSET] = 1;
	users[2].username = s_es;
	users[2].jwt_key = s_eskey;
	users[2].jwt = &kes;
	users[2].acl.pat[AUTH_CMD_FETCH] = es_fetch;
	users[2].acl.npat[AUTH_CMD_FETCH] = 2;
	users[2].max_conns = 1;
	users[3].username = s_bob;
	users[3].key = s_bkey;
	users[4].username = s_nobody;
	auth_hash(s_akey, strlen(s_akey), users[0].key_hash);
	auth_hash(s_bkey, strlen(s_bkey), users[3].key_hash);
	for (i = 0; i < AUTH_NCMD; i++) {
		users[3].acl.all[i] = 1;
		users[4].acl.all[i] = 1;
	}
	rt.origins = origins;
	rt.acl.pat[AUTH_CMD_FETCH] = route_fetch;
	rt.acl.npat[AUTH_CMD_FETCH] = 3;
	rt.acl.all[AUTH_CMD_LIST_OFFSET] = 1;
	return 0;
}

/* The route and the consumers' connection counts for this control octet. */
static double
setup(uint8_t ctl)
{
	static const double	 clock[] = { JWT_T_NOW, JWT_T_NOW + 3599,
	    JWT_T_NOW + 3601, JWT_T_NOW + 86400.0 * 365 * 30 };
	int			 alt = (ctl & 0x40) != 0;

	rt.key_auth = (ctl & 0x03) == 0 || (ctl & 0x03) == 1;
	rt.jwt_auth = (ctl & 0x03) == 0 || (ctl & 0x03) == 2;
	rt.origin_required = (ctl & 0x04) != 0;
	rt.norigins = (ctl & 0x0c) == 0x0c ? 0 : 2;
	rt.jwt_iss = ctl & 0x08 ? s_iss : NULL;
	rt.jwt_aud = ctl & 0x08 ? s_aud : NULL;
	rt.jwt_leeway = ctl & 0x08 ? 60 : 0;
	rt.ka_header = alt ? s_xkey : NULL;
	rt.ka_query = alt ? s_qkey : NULL;
	rt.jwt_header = alt ? s_xtok : NULL;
	rt.jwt_query = alt ? s_qtok : NULL;
	rt.jwt_cookie = alt ? s_session : NULL;
	users[0].nconns = ctl & 0x80 ? users[0].max_conns : 0;
	users[2].nconns = ctl & 0x80 ? users[2].max_conns : 0;
	return clock[(ctl >> 4) & 0x03];
}

static int
is_tchar(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* 1 if p[0..n) is an entry of a Sec-WebSocket-Protocol list sent. */
static int
offered(const struct http_request *req, const char *p, size_t n)
{
	size_t	 i, j, k, e;

	for (i = 0; i < req->nheaders; i++) {
		const struct http_header	*h = &req->headers[i];

		if (h->namelen != 22 || strncasecmp(h->name,
		    "sec-websocket-protocol", 22) != 0)
			continue;
		for (j = 0; j <= h->valuelen; j = e + 1) {
			for (e = j; e < h->valuelen && h->value[e] != ','; e++)
				;
			for (k = j; k < e && (h->value[k] == ' ' ||
			    h->value[k] == '\t'); k++)
				;
			while (e > k && (h->value[e - 1] == ' ' ||
			    h->value[e - 1] == '\t'))
				e--;
			if (e - k == n && memcmp(h->value + k, p, n) == 0)
				return 1;
			/* e went back over blanks: on to the comma. */
			while (e < h->valuelen && h->value[e] != ',')
				e++;
		}
	}
	return 0;
}

static size_t
count_headers(const struct http_request *req, const char *name)
{
	size_t	 i, n = 0, len = strlen(name);

	for (i = 0; i < req->nheaders; i++)
		if (req->headers[i].namelen == len &&
		    strncasecmp(req->headers[i].name, name, len) == 0)
			n++;
	return n;
}

static int
has_ci(const char *p, size_t len, const char *s)
{
	size_t	 i, n = strlen(s);

	for (i = 0; i + n <= len; i++)
		if (strncasecmp(p + i, s, n) == 0)
			return 1;
	return 0;
}

static void
check_why(const struct auth_result *res)
{
	const char	*p;
	int		 i;

	if (res->why == NULL || res->why[0] == '\0')
		abort();
	for (p = res->why; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			abort();
	if (strlen(res->why) >= sizeof(res->whybuf) ||
	    strstr(res->why, fa_secret) != NULL)
		abort();
	for (i = 0; i < FA_NUSERS; i++)
		if (users[i].key != NULL && strstr(res->why, users[i].key))
			abort();
}

static void
check_admit(const struct http_request *req, const char *head, size_t len,
    double now)
{
	struct auth_result	 res, res2;
	const struct http_header *o;
	size_t			 i;

	auth_admit(&rt, &cs, req, now, &res);
	if (res.status != 0 && res.status != 401 && res.status != 403 &&
	    res.status != 429 && res.status != 503)
		abort();
	if (res.status != 0) {
		/* (method, protocol, expires may be left set: unused.) */
		if (res.consumer != NULL)
			abort();
		check_why(&res);
	} else if (auth_required(&rt)) {
		const struct auth_consumer	*u = res.consumer;

		if (u < users || u >= users + FA_NUSERS || res.method == NULL)
			abort();
		if (strcmp(res.method, "key-auth") == 0) {
			if (!rt.key_auth || u->key == NULL)
				abort();
		} else if (strcmp(res.method, "jwt-auth") == 0) {
			if (!rt.jwt_auth || u->jwt == NULL)
				abort();
			if (res.expires != 0 && !(now < res.expires +
			    rt.jwt_leeway))
				abort();
		} else
			abort();
		if (u->max_conns > 0 && u->nconns >= u->max_conns)
			abort();
	} else if (res.consumer != NULL || res.method != NULL ||
	    res.protocol != NULL)
		abort();
	if (res.status == 429 && !auth_required(&rt))
		abort();

	/* Origin, checked here the simple way. */
	i = count_headers(req, "origin");
	if (i > 1 && res.status != 403)
		abort();
	if (i == 0 && rt.origin_required && res.status != 403)
		abort();
	if (i == 1) {
		o = http_header_find(req, "origin", NULL);
		if (rt.norigins > 0 && !has_ci(o->value, o->valuelen,
		    "example") && res.status != 403)
			abort();
		if (o->valuelen == strlen(s_o1) &&
		    strncasecmp(o->value, s_o1, o->valuelen) == 0 &&
		    res.status == 403)
			abort();
	}

	/* The subprotocol echoed: offered, a token, ours if offered. */
	if (res.status == 0 && res.protocol != NULL) {
		if (res.protocollen == 0 ||
		    !offered(req, res.protocol, res.protocollen))
			abort();
		if (!(res.protocollen == 9 &&
		    memcmp(res.protocol, "kafkagate", 9) == 0) &&
		    (res.protocol < head || res.protocol + res.protocollen >
		    head + len || offered(req, "kafkagate", 9)))
			abort();
		for (i = 0; i < res.protocollen; i++)
			if (!is_tchar((unsigned char)res.protocol[i]))
				abort();
	}

	auth_admit(&rt, &cs, req, now, &res2);
	if (res2.status != res.status || res2.consumer != res.consumer ||
	    res2.protocollen != res.protocollen ||
	    (res.protocol == NULL) != (res2.protocol == NULL) ||
	    (res.protocol != NULL && memcmp(res.protocol, res2.protocol,
	    res.protocollen) != 0) || res2.expires != res.expires)
		abort();
}

/* A NUL-terminated copy of at most FA_STR_MAX - 1 octets, no NUL inside. */
static void
take(char *dst, const char *p, size_t n)
{
	size_t	 i, j;

	for (i = j = 0; i < n && j < FA_STR_MAX - 1; i++)
		if (p[i] != '\0')
			dst[j++] = p[i];
	dst[j] = '\0';
}

static void
check_topics(const char *pat, const char *topic)
{
	int	 m, c, i;

	m = auth_match(pat, topic);
	if (m != 0 && m != 1)
		abort();
	if (strpbrk(pat, "*?") == NULL && m != (strcmp(pat, topic) == 0))
		abort();
	if (strcmp(pat, "*") == 0 && !m)
		abort();
	if (strchr(topic, '[') == NULL && !auth_match(topic, topic))
		abort();
	for (c = -1; c <= AUTH_NCMD; c++) {
		m = auth_allows(&rt, NULL, c, topic);
		if ((c < 0 || c >= AUTH_NCMD) && m != 0)
			abort();
		for (i = 0; i < FA_NUSERS; i++)
			if (auth_allows(&rt, &users[i], c, topic) && !m)
				abort();
	}
}

/* auth_query_arg() or auth_cookie() with buffers of several sizes. */
static void
check_arg(int cookie, const char *in, size_t len, const char *name)
{
	static const size_t	 sizes[] = { 1, 2, 3, 8, 64, FA_HEAD_MAX };
	char			*buf, first[FA_HEAD_MAX];
	size_t			 i;
	int			 r, got = -1;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if ((buf = malloc(sizes[i])) == NULL)
			return;
		r = cookie ? auth_cookie(in, len, name, buf, sizes[i]) :
		    auth_query_arg(in, len, name, buf, sizes[i]);
		if (r < -1 || (r >= 0 && ((size_t)r >= sizes[i] ||
		    (size_t)r > len || buf[r] != '\0' ||
		    strlen(buf) != (size_t)r)))
			abort();
		if (r >= 0 && cookie && r > 0 && memmem(in, len, buf,
		    (size_t)r) == NULL)
			abort();
		/* Once it fits, a bigger buffer changes nothing. */
		if (got >= 0 && (r != got || memcmp(buf, first,
		    (size_t)r + 1) != 0))
			abort();
		if (got < 0 && r >= 0) {
			got = r;
			memcpy(first, buf, (size_t)r + 1);
		}
		free(buf);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_request	 req;
	char				*head;
	char				 pat[FA_STR_MAX], topic[FA_STR_MAX];
	const char			*nl;
	size_t				 len;
	ssize_t				 r;
	double				 now;
	int				 status;

	if (size < 1)
		return 0;
	now = setup(data[0]);
	len = size - 1;
	/* An exact copy, so that reading past len is caught. */
	if ((head = malloc(len ? len : 1)) == NULL)
		return 0;
	memcpy(head, data + 1, len);

	http_request_init(&req);
	r = http_request_parse(&req, head, len, FA_HEAD_MAX, &status);
	if (r > 0) {
		check_admit(&req, head, len, now);
		take(topic, req.path + (req.pathlen > 0),
		    req.pathlen > 0 ? req.pathlen - 1 : 0);
		if (req.nheaders > 0)
			take(pat, req.headers[0].value,
			    req.headers[0].valuelen);
		else
			pat[0] = '\0';
	} else {
		nl = memchr(head, '\n', len);
		take(pat, head, nl != NULL ? (size_t)(nl - head) : len);
		take(topic, nl != NULL ? nl + 1 : head + len,
		    nl != NULL ? len - (size_t)(nl + 1 - head) : 0);
	}
	check_topics(pat, topic);
	check_topics(topic, pat);

	check_arg(0, head, len, "apikey");
	check_arg(0, head, len, "jwt");
	check_arg(0, head, len, "a");
	check_arg(1, head, len, "jwt");
	check_arg(1, head, len, "session");
	check_arg(1, head, len, "a");
	free(head);
	return 0;
}
