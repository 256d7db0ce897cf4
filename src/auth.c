/*
 * auth.c -- admission of WebSocket handshakes and topic permissions
 * (auth.h).  No I/O: a parsed request head in, a decision out.
 */
#include "config.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/md.h>

#include "net/jwt.h"
#include "src/auth.h"
#include "ws/http.h"

#define AUTH_CRED_MAX	8192		/* longest credential looked at */

/* ---- small parsers ---- */

static int
auth_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..len) into buf ('+' is a space, as forms write it). */
static int
auth_unescape(const char *s, size_t len, char *buf, size_t buflen)
{
	size_t	 i, n = 0;
	int	 hi, lo;

	if (buflen == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (n + 1 >= buflen)
			return -1;
		if (s[i] == '%') {
			if (i + 2 >= len || (hi = auth_hex(s[i + 1])) < 0 ||
			    (lo = auth_hex(s[i + 2])) < 0)
				return -1;
			buf[n++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			buf[n++] = s[i] == '+' ? ' ' : s[i];
	}
	buf[n] = '\0';
	/* A NUL inside is no credential. */
	return memchr(buf, '\0', n) == NULL ? (int)n : -1;
}

int
auth_query_arg(const char *q, size_t len, const char *name, char *buf,
    size_t buflen)
{
	const char	*end = q + len, *p, *amp, *eq;
	size_t		 nlen = strlen(name);

	for (p = q; p < end; p = amp + 1) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq != NULL && (size_t)(eq - p) == nlen &&
		    memcmp(p, name, nlen) == 0)
			return auth_unescape(eq + 1, (size_t)(amp - eq - 1), buf,
			    buflen);
		if (amp == end)
			break;
	}
	return -1;
}

int
auth_cookie(const char *s, size_t len, const char *name, char *buf,
    size_t buflen)
{
	const char	*end = s + len, *p, *semi, *eq;
	size_t		 nlen = strlen(name), vlen;

	for (p = s; p < end; p = semi + 1) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if ((semi = memchr(p, ';', (size_t)(end - p))) == NULL)
			semi = end;
		eq = memchr(p, '=', (size_t)(semi - p));
		if (eq != NULL && (size_t)(eq - p) == nlen &&
		    memcmp(p, name, nlen) == 0) {
			eq++;
			vlen = (size_t)(semi - eq);
			while (vlen > 0 && (eq[vlen - 1] == ' ' ||
			    eq[vlen - 1] == '\t'))
				vlen--;
			/* RFC 6265: a value may be quoted. */
			if (vlen >= 2 && eq[0] == '"' && eq[vlen - 1] == '"') {
				eq++;
				vlen -= 2;
			}
			if (vlen + 1 > buflen || memchr(eq, '\0', vlen))
				return -1;
			memcpy(buf, eq, vlen);
			buf[vlen] = '\0';
			return (int)vlen;
		}
		if (semi == end)
			break;
	}
	return -1;
}

/* base64url (no padding) into buf, NUL-terminated; length or -1. */
static int
auth_b64url(const char *s, size_t len, char *buf, size_t buflen)
{
	uint32_t	 acc = 0;
	size_t		 i, n = 0;
	int		 bits = 0, v;

	for (i = 0; i < len; i++) {
		v = s[i];
		if (v >= 'A' && v <= 'Z')
			v -= 'A';
		else if (v >= 'a' && v <= 'z')
			v = v - 'a' + 26;
		else if (v >= '0' && v <= '9')
			v = v - '0' + 52;
		else if (v == '-')
			v = 62;
		else if (v == '_')
			v = 63;
		else
			return -1;
		acc = acc << 6 | (uint32_t)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (n + 1 >= buflen)
				return -1;
			buf[n++] = (char)(acc >> bits & 0xff);
		}
	}
	if (bits >= 6)
		return -1;		/* a lone sixth of a byte */
	buf[n] = '\0';
	return memchr(buf, '\0', n) == NULL ? (int)n : -1;
}

void
auth_hash(const void *p, size_t len, uint8_t out[AUTH_HASH_LEN])
{
	(void)mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), p, len,
	    out);
}

/* Two digests equal, in time that does not depend on where they differ. */
static int
auth_hash_eq(const uint8_t *a, const uint8_t *b)
{
	unsigned char	 d = 0;
	size_t		 i;

	for (i = 0; i < AUTH_HASH_LEN; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

/* ---- topics ---- */

int
auth_match(const char *pattern, const char *topic)
{
	if (strpbrk(pattern, "*?") == NULL)
		return strcmp(pattern, topic) == 0;
	return fnmatch(pattern, topic, FNM_NOESCAPE) == 0;
}

static int
auth_acl_allows(const struct auth_acl *acl, int cmd, const char *topic)
{
	int	 i;

	if (acl->all[cmd])
		return 1;
	for (i = 0; i < acl->npat[cmd]; i++)
		if (auth_match(acl->pat[cmd][i], topic))
			return 1;
	return 0;
}

int
auth_allows(const struct auth_route *r, const struct auth_consumer *c,
    int cmd, const char *topic)
{
	if (cmd < 0 || cmd >= AUTH_NCMD)
		return 0;
	return auth_acl_allows(&r->acl, cmd, topic) &&
	    (c == NULL || auth_acl_allows(&c->acl, cmd, topic));
}

int
auth_required(const struct auth_route *r)
{
	return r->key_auth || r->jwt_auth;
}

static int
auth_str_same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int
auth_route_same(const struct auth_route *a, const struct auth_route *b)
{
	int	 i;

	if (a->key_auth != b->key_auth || a->jwt_auth != b->jwt_auth ||
	    !auth_str_same(a->ka_header, b->ka_header) ||
	    !auth_str_same(a->ka_query, b->ka_query) ||
	    !auth_str_same(a->jwt_header, b->jwt_header) ||
	    !auth_str_same(a->jwt_query, b->jwt_query) ||
	    !auth_str_same(a->jwt_cookie, b->jwt_cookie) ||
	    a->jwt_leeway != b->jwt_leeway ||
	    !auth_str_same(a->jwt_iss, b->jwt_iss) ||
	    !auth_str_same(a->jwt_aud, b->jwt_aud) ||
	    a->origin_required != b->origin_required ||
	    a->norigins != b->norigins)
		return 0;
	for (i = 0; i < a->norigins; i++)
		if (strcmp(a->origins[i], b->origins[i]) != 0)
			return 0;
	return 1;
}

/* ---- Origin ---- */

/* "*.example.com" matches a subdomain's origin, any scheme and port. */
static int
auth_origin_match(const char *pat, const char *o, size_t olen)
{
	const char	*host, *end = o + olen, *colon;
	size_t		 plen = strlen(pat), hlen;

	if (strncmp(pat, "*.", 2) != 0)
		return plen == olen && strncasecmp(pat, o, olen) == 0;
	if ((host = memchr(o, ':', olen)) == NULL || end - host < 3 ||
	    host[1] != '/' || host[2] != '/')
		return 0;
	host += 3;
	/* The port, if any, is not part of the name. */
	for (colon = end; colon > host && colon[-1] != ':' && colon[-1] != ']';)
		colon--;
	hlen = (size_t)((colon > host && colon[-1] == ':' ? colon - 1 : end) -
	    host);
	return hlen > plen - 1 && strncasecmp(host + hlen - (plen - 1),
	    pat + 1, plen - 1) == 0;
}

static int
auth_origin_ok(const struct auth_route *r, const struct http_request *req,
    struct auth_result *res)
{
	const struct http_header	*h;
	size_t				 idx = 0;
	int				 i;

	h = http_header_find(req, "origin", &idx);
	if (h == NULL) {
		if (!r->origin_required)
			return 1;
		res->why = "no Origin header";
		return 0;
	}
	idx++;
	if (http_header_find(req, "origin", &idx) != NULL) {
		res->why = "more than one Origin header";
		return 0;
	}
	if (r->norigins == 0)
		return 1;
	for (i = 0; i < r->norigins; i++)
		if (auth_origin_match(r->origins[i], h->value, h->valuelen))
			return 1;
	res->why = "Origin not allowed";
	return 0;
}

/* ---- credentials ---- */

/*
 * The offered subprotocols: the entry starting with prefix (its rest in
 * *val; prefix NULL: none looked for), and whether "kafkagate" is among
 * them.
 */
static int
auth_protocols(const struct http_request *req, const char *prefix,
    const char **val, size_t *vlen, int *ours)
{
	const struct http_header	*h;
	const char			*p, *end, *t;
	size_t				 idx = 0, n;
	size_t				 plen = prefix ? strlen(prefix) : 0;
	int				 found = 0;

	for (; (h = http_header_find(req, "sec-websocket-protocol", &idx)) !=
	    NULL; idx++) {
		for (p = h->value, end = p + h->valuelen; p < end; p = t + 1) {
			while (p < end && (*p == ' ' || *p == '\t'))
				p++;
			if ((t = memchr(p, ',', (size_t)(end - p))) == NULL)
				t = end;
			n = (size_t)(t - p);
			while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
				n--;
			if (n == 9 && memcmp(p, "kafkagate", 9) == 0)
				*ours = 1;
			else if (!found && prefix != NULL && n > plen &&
			    memcmp(p, prefix, plen) == 0) {
				*val = p;
				*vlen = n;
				found = 1;
			}
			if (t == end)
				break;
		}
	}
	return found;
}

/* The query string of the request target, or an empty one. */
static void
auth_query(const struct http_request *req, const char **q, size_t *len)
{
	const char	*p = memchr(req->target, '?', req->targetlen);

	if (p == NULL) {
		*q = "";
		*len = 0;
		return;
	}
	*q = p + 1;
	*len = req->targetlen - (size_t)(p + 1 - req->target);
}

/* A header's value into buf; its length or -1. */
static int
auth_header(const struct http_request *req, const char *name, char *buf,
    size_t buflen)
{
	const struct http_header	*h;

	if ((h = http_header_find(req, name, NULL)) == NULL ||
	    h->valuelen + 1 > buflen || memchr(h->value, '\0', h->valuelen))
		return -1;
	memcpy(buf, h->value, h->valuelen);
	buf[h->valuelen] = '\0';
	return (int)h->valuelen;
}

static void
auth_key(const struct auth_route *r, const struct auth_consumers *cs,
    const struct http_request *req, struct auth_result *res, char *buf,
    size_t buflen)
{
	const char	*q, *proto = NULL;
	size_t		 qlen, plen = 0;
	uint8_t		 h[AUTH_HASH_LEN];
	int		 i, n, ours = 0;

	auth_query(req, &q, &qlen);
	if ((n = auth_header(req, r->ka_header ? r->ka_header : "apikey", buf,
	    buflen)) < 0 &&
	    (n = auth_query_arg(q, qlen, r->ka_query ? r->ka_query : "apikey",
	    buf, buflen)) < 0) {
		if (!auth_protocols(req, "apikey.", &proto, &plen, &ours) ||
		    (n = auth_b64url(proto + 7, plen - 7, buf, buflen)) < 0) {
			res->status = 401;
			res->why = "missing API key";
			return;
		}
		res->protocol = ours ? "kafkagate" : proto;
		res->protocollen = ours ? 9 : plen;
	}
	/*
	 * The presented key is hashed once and compared with every
	 * consumer's digest: the work does not grow with the key's length
	 * times the consumers, nor depend on which is close.
	 */
	auth_hash(buf, (size_t)n, h);
	for (i = 0; i < cs->n; i++)
		if (cs->v[i].key != NULL &&
		    auth_hash_eq(h, cs->v[i].key_hash) && res->consumer == NULL)
			res->consumer = &cs->v[i];
	explicit_bzero(h, sizeof(h));
	if (res->consumer != NULL) {
		res->method = "key-auth";
		return;
	}
	res->protocol = NULL;
	res->protocollen = 0;
	res->status = 401;
	res->why = "invalid API key";
}

static void
auth_jwt(const struct auth_route *r, const struct auth_consumers *cs,
    const struct http_request *req, double now, struct auth_result *res,
    char *buf, size_t buflen)
{
	struct jwt_token	*tok;
	const char		*q, *proto = NULL, *t;
	size_t			 qlen, plen = 0, idx;
	char			 err[128];
	int			 i, n = -1, ours = 0;
	const struct http_header *h;

	auth_query(req, &q, &qlen);
	if ((n = auth_header(req, r->jwt_header ? r->jwt_header :
	    "authorization", buf, buflen)) >= 0) {
		t = buf;
		if (n > 7 && strncasecmp(buf, "bearer ", 7) == 0) {
			t = buf + 7;
			while (*t == ' ')
				t++;
		}
		memmove(buf, t, strlen(t) + 1);
		n = (int)strlen(buf);
	}
	if (n < 0)
		n = auth_query_arg(q, qlen, r->jwt_query ? r->jwt_query : "jwt",
		    buf, buflen);
	for (idx = 0; n < 0 && (h = http_header_find(req, "cookie", &idx)) !=
	    NULL; idx++)
		n = auth_cookie(h->value, h->valuelen, r->jwt_cookie ?
		    r->jwt_cookie : "jwt", buf, buflen);
	if (n < 0) {
		if (!auth_protocols(req, "jwt.", &proto, &plen, &ours) ||
		    plen - 4 + 1 > buflen) {
			res->status = 401;
			res->why = "missing JWT token in request";
			return;
		}
		memcpy(buf, proto + 4, plen - 4);
		buf[plen - 4] = '\0';
		n = (int)(plen - 4);
		res->protocol = ours ? "kafkagate" : proto;
		res->protocollen = ours ? 9 : plen;
	}
	/* About 14 KiB: not on the loop's stack. */
	if ((tok = malloc(sizeof(*tok))) == NULL) {
		res->status = 503;
		res->why = "out of memory";
		return;
	}
	if (jwt_parse(tok, buf, (size_t)n, err, sizeof(err)) != 0) {
		res->status = 401;
		(void)snprintf(res->whybuf, sizeof(res->whybuf), "JWT token "
		    "invalid: %s", err);
		res->why = res->whybuf;
		goto out;
	}
	if (!tok->claims.has_key || tok->claims.key[0] == '\0') {
		res->status = 401;
		res->why = "missing user key in JWT token";
		goto out;
	}
	for (i = 0; i < cs->n; i++)
		if (cs->v[i].jwt_key != NULL && cs->v[i].jwt != NULL &&
		    strcmp(cs->v[i].jwt_key, tok->claims.key) == 0)
			break;
	if (i == cs->n) {
		res->status = 401;
		res->why = "invalid user key in JWT token";
		goto out;
	}
	if (jwt_verify(tok, cs->v[i].jwt, now, r->jwt_leeway, r->jwt_iss,
	    r->jwt_aud, err, sizeof(err)) != 0) {
		res->status = 401;
		(void)snprintf(res->whybuf, sizeof(res->whybuf), "JWT token "
		    "invalid: %s", err);
		res->why = res->whybuf;
		goto out;
	}
	res->consumer = &cs->v[i];
	res->method = "jwt-auth";
	res->expires = tok->claims.has_exp ? (double)tok->claims.exp : 0;
out:
	explicit_bzero(tok, sizeof(*tok));
	free(tok);
}

void
auth_admit(const struct auth_route *r, const struct auth_consumers *cs,
    const struct http_request *req, double now, struct auth_result *res)
{
	char	*buf;

	memset(res, 0, sizeof(*res));
	if (!auth_origin_ok(r, req, res)) {
		res->status = 403;
		return;
	}
	if (!auth_required(r))
		return;
	if ((buf = malloc(AUTH_CRED_MAX)) == NULL) {
		res->status = 503;
		res->why = "out of memory";
		return;
	}
	/* key-auth first, as APISIX runs its plugins by priority. */
	if (r->key_auth) {
		auth_key(r, cs, req, res, buf, AUTH_CRED_MAX);
		if (res->consumer != NULL || !r->jwt_auth)
			goto done;
		memset(res, 0, sizeof(*res));
	}
	auth_jwt(r, cs, req, now, res, buf, AUTH_CRED_MAX);
done:
	explicit_bzero(buf, AUTH_CRED_MAX);
	free(buf);
	if (res->consumer == NULL && res->status == 0)
		res->status = 401;
	if (res->status == 0 && res->protocol == NULL) {
		const char	*v;
		size_t		 vl;
		int		 ours = 0;

		/* "kafkagate" before an offered entry holding a credential. */
		(void)auth_protocols(req, NULL, &v, &vl, &ours);
		if (ours) {
			res->protocol = "kafkagate";
			res->protocollen = 9;
		}
	}
	if (res->status != 0) {
		/* A refusal carries only its status and why. */
		res->consumer = NULL;
		res->method = NULL;
		res->protocol = NULL;
		res->protocollen = 0;
		res->expires = 0;
		return;
	}
	if (res->consumer != NULL && res->consumer->max_conns > 0 &&
	    res->consumer->nconns >= res->consumer->max_conns) {
		res->status = 429;
		res->why = "too many connections for this consumer";
		res->consumer = NULL;
	}
}

/* ---- freeing ---- */

void
auth_acl_free(struct auth_acl *a)
{
	int	 c, i;

	for (c = 0; c < AUTH_NCMD; c++) {
		for (i = 0; i < a->npat[c]; i++)
			free(a->pat[c][i]);
		free(a->pat[c]);
		a->pat[c] = NULL;
		a->npat[c] = 0;
	}
}

void
auth_route_free(struct auth_route *r)
{
	int	 i;

	free(r->ka_header);
	free(r->ka_query);
	free(r->jwt_header);
	free(r->jwt_query);
	free(r->jwt_cookie);
	free(r->jwt_iss);
	free(r->jwt_aud);
	for (i = 0; i < r->norigins; i++)
		free(r->origins[i]);
	free(r->origins);
	auth_acl_free(&r->acl);
	memset(r, 0, sizeof(*r));
}

void
auth_consumers_free(struct auth_consumers *cs)
{
	int	 i;

	for (i = 0; i < cs->n; i++) {
		struct auth_consumer	*c = &cs->v[i];

		free(c->username);
		if (c->key != NULL) {
			explicit_bzero(c->key, strlen(c->key));
			free(c->key);
		}
		free(c->jwt_key);
		if (c->jwt != NULL) {
			jwt_key_free(c->jwt);
			free(c->jwt);
		}
		auth_acl_free(&c->acl);
	}
	free(cs->v);
	cs->v = NULL;
	cs->n = 0;
}
