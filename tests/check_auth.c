/*
 * check_auth.c -- admission of handshakes and topic permissions
 * (src/auth.c): parsed request heads in, decisions out.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/md.h>

#include "net/jwt.h"
#include "src/auth.h"
#include "ws/http.h"

#define NOW	1800000000.0

static struct auth_route	 rt;
static struct auth_consumers	 cs;
static struct auth_consumer	 users[3];
static char			 head[16384];
static struct http_request	 req;

static void
acl_all(struct auth_acl *a)
{
	int	 i;

	for (i = 0; i < AUTH_NCMD; i++)
		a->all[i] = 1;
}

static char	 s_alice[] = "alice", s_akey[] = "alice-secret";
static char	 s_bob[] = "bob", s_bkey[] = "b%b&k y", s_carol[] = "carol";
static char	 s_xkey[] = "x-key", s_k[] = "k", s_ckey[] = "carol-key";
static char	 s_o1[] = "https://app.example.com", s_o2[] = "*.example.org";
static char	 s_orders[] = "orders", s_metrics[] = "metrics.*";
static char	 s_log[] = "log-?", s_mine[] = "metrics.eu.*";

static void
setup(void)
{
	memset(&rt, 0, sizeof(rt));
	memset(users, 0, sizeof(users));
	acl_all(&rt.acl);
	users[0].username = s_alice;
	users[0].key = s_akey;
	acl_all(&users[0].acl);
	users[1].username = s_bob;
	users[1].key = s_bkey;
	acl_all(&users[1].acl);
	users[2].username = s_carol;
	acl_all(&users[2].acl);
	auth_hash(s_akey, strlen(s_akey), users[0].key_hash);
	auth_hash(s_bkey, strlen(s_bkey), users[1].key_hash);
	cs.v = users;
	cs.n = 3;
}

/* Parse a request head built from extra header lines and a target. */
static void
request(const char *target, const char *headers)
{
	int	 status;
	ssize_t	 n;

	(void)snprintf(head, sizeof(head), "GET %s HTTP/1.1\r\nHost: h\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n%s\r\n", target,
	    headers);
	http_request_init(&req);
	n = http_request_parse(&req, head, strlen(head), sizeof(head), &status);
	ck_assert_int_gt(n, 0);
}

static void
admit(struct auth_result *res)
{
	auth_admit(&rt, &cs, &req, NOW, res);
}

START_TEST(test_open_route)
{
	struct auth_result	 res;

	request("/kafka", "");
	admit(&res);
	ck_assert_int_eq(res.status, 0);
	ck_assert_ptr_null(res.consumer);
	ck_assert_int_eq(auth_required(&rt), 0);
}
END_TEST

START_TEST(test_key_auth)
{
	struct auth_result	 res;

	rt.key_auth = 1;
	request("/kafka", "apikey: alice-secret\r\n");
	admit(&res);
	ck_assert_int_eq(res.status, 0);
	ck_assert_ptr_eq(res.consumer, &users[0]);
	ck_assert_str_eq(res.method, "key-auth");
	/* The query, percent-decoded. */
	request("/kafka?x=1&apikey=b%25b%26k+y", "");
	admit(&res);
	ck_assert_ptr_eq(res.consumer, &users[1]);
	/* Missing, wrong, a prefix, longer, empty. */
	request("/kafka", "");
	admit(&res);
	ck_assert_int_eq(res.status, 401);
	ck_assert_str_eq(res.why, "missing API key");
	ck_assert_ptr_null(res.consumer);
	request("/kafka", "apikey: alice-secreT\r\n");
	admit(&res);
	ck_assert_int_eq(res.status, 401);
	ck_assert_str_eq(res.why, "invalid API key");
	request("/kafka", "apikey: alice\r\n");
	admit(&res);
	ck_assert_int_eq(res.status, 401);
	request("/kafka", "apikey: alice-secretX\r\n");
	admit(&res);
	ck_assert_int_eq(res.status, 401);
	request("/kafka?apikey=", "");
	admit(&res);
	ck_assert_int_eq(res.status, 401);
	/* Malformed escapes and NUL are no credential. */
	request("/kafka?apikey=alice-secre%7", "");
	admit(&res);
	ck_assert_int_eq(res.status, 401);
	request("/kafka?apikey=alice%00-secret", "");
	admit(&res);
	ck_assert_int_eq(res.status, 401);
	/* The header wins over the query. */
	request("/kafka?apikey=alice-secret", "apikey: nope\r\n");
	admit(&res);
	ck_assert_int_eq(res.status, 401);
	/* Other names. */
	rt.ka_header = s_xkey;
	rt.ka_query = s_k;
	request("/kafka?k=alice-secret", "apikey: alice-secret\r\n");
	admit(&res);
	ck_assert_ptr_eq(res.consumer, &users[0]);
	request("/kafka", "X-Key: alice-secret\r\n");
	admit(&res);
	ck_assert_ptr_eq(res.consumer, &users[0]);
	ck_assert_ptr_null(res.protocol);
}
END_TEST

START_TEST(test_subprotocol)
{
	struct auth_result	 res;

	rt.key_auth = 1;
	/* base64url("alice-secret") = YWxpY2Utc2VjcmV0 */
	request("/kafka", "Sec-WebSocket-Protocol: apikey.YWxpY2Utc2VjcmV0\r\n");
	admit(&res);
	ck_assert_ptr_eq(res.consumer, &users[0]);
	ck_assert_uint_eq(res.protocollen, strlen("apikey.YWxpY2Utc2VjcmV0"));
	ck_assert_int_eq(memcmp(res.protocol, "apikey.YWxpY2Utc2VjcmV0",
	    res.protocollen), 0);
	/* "kafkagate" offered too: that is what is echoed. */
	request("/kafka", "Sec-WebSocket-Protocol: kafkagate, "
	    "apikey.YWxpY2Utc2VjcmV0\r\n");
	admit(&res);
	ck_assert_ptr_eq(res.consumer, &users[0]);
	ck_assert_uint_eq(res.protocollen, 9);
	ck_assert_int_eq(memcmp(res.protocol, "kafkagate", 9), 0);
	/* A key in a header: "kafkagate" still echoed, not an offered
	   credential. */
	request("/kafka", "apikey: alice-secret\r\nSec-WebSocket-Protocol: "
	    "jwt.x.y.z, kafkagate\r\n");
	admit(&res);
	ck_assert_ptr_eq(res.consumer, &users[0]);
	ck_assert_uint_eq(res.protocollen, 9);
	ck_assert_int_eq(memcmp(res.protocol, "kafkagate", 9), 0);
	/* Padding, bad characters, a wrong key. */
	request("/kafka", "Sec-WebSocket-Protocol: apikey.YWxpY2Utc2VjcmV0=\r\n");
	admit(&res);
	ck_assert_int_eq(res.status, 401);
	request("/kafka", "Sec-WebSocket-Protocol: apikey.YWxpY2Utc2VjcmV1\r\n");
	admit(&res);
	ck_assert_int_eq(res.status, 401);
	ck_assert_str_eq(res.why, "invalid API key");
}
END_TEST

START_TEST(test_origin)
{
	static char		*origins[] = { s_o1, s_o2 };
	struct auth_result	 res;

	rt.origins = origins;
	rt.norigins = 2;
	request("/kafka", "Origin: https://app.example.com\r\n");
	admit(&res);
	ck_assert_int_eq(res.status, 0);
	request("/kafka", "Origin: HTTPS://APP.EXAMPLE.COM\r\n");
	admit(&res);
	ck_assert_int_eq(res.status, 0);
	request("/kafka", "Origin: https://app.example.com.evil.net\r\n");
	admit(&res);
	ck_assert_int_eq(res.status, 403);
	ck_assert_str_eq(res.why, "Origin not allowed");
	request("/kafka", "Origin: http://app.example.com\r\n");
	admit(&res);
	ck_assert_int_eq(res.status, 403);
	request("/kafka", "Origin: https://a.b.example.org:8443\r\n");
	admit(&res);
	ck_assert_int_eq(res.status, 0);
	request("/kafka", "Origin: https://example.org\r\n");
	admit(&res);
	ck_assert_int_eq(res.status, 403);
	request("/kafka", "Origin: https://badexample.org\r\n");
	admit(&res);
	ck_assert_int_eq(res.status, 403);
	request("/kafka", "Origin: null\r\n");
	admit(&res);
	ck_assert_int_eq(res.status, 403);
	request("/kafka", "Origin: https://app.example.com\r\n"
	    "Origin: https://evil.net\r\n");
	admit(&res);
	ck_assert_int_eq(res.status, 403);
	/* No Origin: a client that is not a browser, unless required. */
	request("/kafka", "");
	admit(&res);
	ck_assert_int_eq(res.status, 0);
	rt.origin_required = 1;
	admit(&res);
	ck_assert_int_eq(res.status, 403);
	ck_assert_str_eq(res.why, "no Origin header");
	/* The Origin is checked before the credential. */
	rt.key_auth = 1;
	request("/kafka", "Origin: https://evil.net\r\napikey: alice-secret\r\n");
	admit(&res);
	ck_assert_int_eq(res.status, 403);
	ck_assert_ptr_null(res.consumer);
}
END_TEST

START_TEST(test_acl)
{
	static char		*fetch[] = { s_orders, s_metrics, s_log };
	static char		*lo[] = { s_orders };
	static char		*mine[] = { s_mine };

	ck_assert(auth_match("orders", "orders"));
	ck_assert(!auth_match("orders", "orders2"));
	ck_assert(auth_match("metrics.*", "metrics.eu.cpu"));
	ck_assert(!auth_match("metrics.*", "metrics"));
	ck_assert(auth_match("log-?", "log-1"));
	ck_assert(!auth_match("log-?", "log-12"));
	ck_assert(auth_match("*", "anything"));
	ck_assert(!auth_match("a[bc]", "a["));	/* no classes needed */

	rt.acl.all[AUTH_CMD_FETCH] = 0;
	rt.acl.pat[AUTH_CMD_FETCH] = fetch;
	rt.acl.npat[AUTH_CMD_FETCH] = 3;
	rt.acl.all[AUTH_CMD_LIST_OFFSET] = 0;
	rt.acl.pat[AUTH_CMD_LIST_OFFSET] = lo;
	rt.acl.npat[AUTH_CMD_LIST_OFFSET] = 1;
	ck_assert(auth_allows(&rt, NULL, AUTH_CMD_FETCH, "orders"));
	ck_assert(auth_allows(&rt, NULL, AUTH_CMD_FETCH, "metrics.x"));
	ck_assert(!auth_allows(&rt, NULL, AUTH_CMD_FETCH, "payroll"));
	ck_assert(auth_allows(&rt, NULL, AUTH_CMD_LIST_OFFSET, "orders"));
	ck_assert(!auth_allows(&rt, NULL, AUTH_CMD_LIST_OFFSET, "metrics.x"));
	/* A consumer narrows it further; both must allow. */
	users[0].acl.all[AUTH_CMD_FETCH] = 0;
	users[0].acl.pat[AUTH_CMD_FETCH] = mine;
	users[0].acl.npat[AUTH_CMD_FETCH] = 1;
	users[0].acl.all[AUTH_CMD_LIST_OFFSET] = 0;
	ck_assert(auth_allows(&rt, &users[0], AUTH_CMD_FETCH, "metrics.eu.cpu"));
	ck_assert(!auth_allows(&rt, &users[0], AUTH_CMD_FETCH, "metrics.us.cpu"));
	ck_assert(!auth_allows(&rt, &users[0], AUTH_CMD_FETCH, "orders"));
	ck_assert(!auth_allows(&rt, &users[0], AUTH_CMD_LIST_OFFSET, "orders"));
	ck_assert(!auth_allows(&rt, &users[0], 7, "orders"));
	/* Each consumer has its own. */
	ck_assert(auth_allows(&rt, &users[1], AUTH_CMD_FETCH, "orders"));
	memset(&users[0].acl, 0, sizeof(users[0].acl));
	memset(&rt.acl, 0, sizeof(rt.acl));
}
END_TEST

START_TEST(test_max_conns)
{
	struct auth_result	 res;

	rt.key_auth = 1;
	users[0].max_conns = 2;
	users[0].nconns = 2;
	request("/kafka", "apikey: alice-secret\r\n");
	admit(&res);
	ck_assert_int_eq(res.status, 429);
	ck_assert_ptr_null(res.consumer);
	users[0].nconns = 1;
	admit(&res);
	ck_assert_int_eq(res.status, 0);
	ck_assert_ptr_eq(res.consumer, &users[0]);
}
END_TEST

START_TEST(test_query_and_cookie)
{
	char	 buf[32];

	ck_assert_int_eq(auth_query_arg("a=1&b=x%20y&c", 13, "b", buf,
	    sizeof(buf)), 3);
	ck_assert_str_eq(buf, "x y");
	ck_assert_int_eq(auth_query_arg("a=1&b=2", 7, "c", buf, sizeof(buf)),
	    -1);
	ck_assert_int_eq(auth_query_arg("ab=1&b=2", 8, "b", buf, sizeof(buf)),
	    1);
	ck_assert_str_eq(buf, "2");
	ck_assert_int_eq(auth_query_arg("b=0123456789012345678901234567890123",
	    36, "b", buf, sizeof(buf)), -1);
	ck_assert_int_eq(auth_cookie("a=1; jwt=abc.def; c=3", 21, "jwt", buf,
	    sizeof(buf)), 7);
	ck_assert_str_eq(buf, "abc.def");
	ck_assert_int_eq(auth_cookie("xjwt=1;jwt=\"q\"", 14, "jwt", buf,
	    sizeof(buf)), 1);
	ck_assert_str_eq(buf, "q");
	ck_assert_int_eq(auth_cookie("a=1", 3, "jwt", buf, sizeof(buf)), -1);
}
END_TEST

/* ---- jwt-auth, with HS256 tokens made here ---- */

static void
b64url(const uint8_t *p, size_t n, char *out)
{
	static const char	 a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t			 i;
	uint32_t		 v;
	int			 k = 0;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[k++] = a[v >> 18];
		out[k++] = a[v >> 12 & 63];
		out[k++] = a[v >> 6 & 63];
		out[k++] = a[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)p[i] << 16;
		out[k++] = a[v >> 18];
		out[k++] = a[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[k++] = a[v >> 18];
		out[k++] = a[v >> 12 & 63];
		out[k++] = a[v >> 6 & 63];
	}
	out[k] = '\0';
}

static void
hs256(const char *payload, const char *secret, char *out)
{
	const char	*hdr = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	uint8_t		 mac[32];
	size_t		 n;

	b64url((const uint8_t *)hdr, strlen(hdr), out);
	n = strlen(out);
	out[n++] = '.';
	b64url((const uint8_t *)payload, strlen(payload), out + n);
	n = strlen(out);
	ck_assert_int_eq(mbedtls_md_hmac(mbedtls_md_info_from_type(
	    MBEDTLS_MD_SHA256), (const uint8_t *)secret, strlen(secret),
	    (const uint8_t *)out, n, mac), 0);
	out[n++] = '.';
	b64url(mac, sizeof(mac), out + n);
}

START_TEST(test_jwt_auth)
{
	struct jwt_key		 k;
	struct auth_result	 res;
	char			 tok[1024], h[1200], e[128];

	ck_assert_int_eq(jwt_key_init_secret(&k, JWT_HS256,
	    (const uint8_t *)"carol-secret", 12, e, sizeof(e)), 0);
	users[2].jwt_key = s_ckey;
	users[2].jwt = &k;
	rt.jwt_auth = 1;

	hs256("{\"key\":\"carol-key\",\"exp\":1900000000}", "carol-secret", tok);
	(void)snprintf(h, sizeof(h), "Authorization: Bearer %s\r\n", tok);
	request("/kafka", h);
	admit(&res);
	ck_assert_int_eq(res.status, 0);
	ck_assert_ptr_eq(res.consumer, &users[2]);
	ck_assert_str_eq(res.method, "jwt-auth");
	ck_assert_double_eq(res.expires, 1900000000.0);
	/* Without "Bearer", in the query, a cookie, a subprotocol. */
	(void)snprintf(h, sizeof(h), "Authorization: %s\r\n", tok);
	request("/kafka", h);
	admit(&res);
	ck_assert_ptr_eq(res.consumer, &users[2]);
	(void)snprintf(h, sizeof(h), "/kafka?jwt=%s", tok);
	request(h, "");
	admit(&res);
	ck_assert_ptr_eq(res.consumer, &users[2]);
	(void)snprintf(h, sizeof(h), "Cookie: a=b; jwt=%s\r\n", tok);
	request("/kafka", h);
	admit(&res);
	ck_assert_ptr_eq(res.consumer, &users[2]);
	(void)snprintf(h, sizeof(h), "Sec-WebSocket-Protocol: kafkagate, "
	    "jwt.%s\r\n", tok);
	request("/kafka", h);
	admit(&res);
	ck_assert_ptr_eq(res.consumer, &users[2]);
	ck_assert_uint_eq(res.protocollen, 9);

	/* Expired, a wrong secret, an unknown key, no key, garbage. */
	hs256("{\"key\":\"carol-key\",\"exp\":1700000000}", "carol-secret", tok);
	(void)snprintf(h, sizeof(h), "Authorization: %s\r\n", tok);
	request("/kafka", h);
	admit(&res);
	ck_assert_int_eq(res.status, 401);
	ck_assert_ptr_null(res.consumer);
	ck_assert_ptr_nonnull(strstr(res.why, "expired"));
	hs256("{\"key\":\"carol-key\"}", "not-the-secret", tok);
	(void)snprintf(h, sizeof(h), "Authorization: %s\r\n", tok);
	request("/kafka", h);
	admit(&res);
	ck_assert_int_eq(res.status, 401);
	hs256("{\"key\":\"dave-key\"}", "carol-secret", tok);
	(void)snprintf(h, sizeof(h), "Authorization: %s\r\n", tok);
	request("/kafka", h);
	admit(&res);
	ck_assert_int_eq(res.status, 401);
	ck_assert_str_eq(res.why, "invalid user key in JWT token");
	hs256("{\"sub\":\"carol\"}", "carol-secret", tok);
	(void)snprintf(h, sizeof(h), "Authorization: %s\r\n", tok);
	request("/kafka", h);
	admit(&res);
	ck_assert_str_eq(res.why, "missing user key in JWT token");
	request("/kafka", "Authorization: Bearer x.y\r\n");
	admit(&res);
	ck_assert_int_eq(res.status, 401);
	request("/kafka", "");
	admit(&res);
	ck_assert_str_eq(res.why, "missing JWT token in request");

	/* key-auth and jwt-auth on one route: either will do. */
	rt.key_auth = 1;
	request("/kafka", "apikey: alice-secret\r\n");
	admit(&res);
	ck_assert_ptr_eq(res.consumer, &users[0]);
	hs256("{\"key\":\"carol-key\"}", "carol-secret", tok);
	(void)snprintf(h, sizeof(h), "Authorization: %s\r\n", tok);
	request("/kafka", h);
	admit(&res);
	ck_assert_ptr_eq(res.consumer, &users[2]);
	jwt_key_free(&k);
	users[2].jwt = NULL;
}
END_TEST

static Suite *
auth_suite(void)
{
	Suite	*s = suite_create("auth");
	TCase	*tc = tcase_create("admit");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_open_route);
	tcase_add_test(tc, test_key_auth);
	tcase_add_test(tc, test_subprotocol);
	tcase_add_test(tc, test_origin);
	tcase_add_test(tc, test_acl);
	tcase_add_test(tc, test_max_conns);
	tcase_add_test(tc, test_query_and_cookie);
	tcase_add_test(tc, test_jwt_auth);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(auth_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
