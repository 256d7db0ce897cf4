/*
 * check_jwt.c -- the JWT verifier (net/jwt.c).
 *
 * Tokens for every algorithm, and the refused ones that need a real
 * signer (alg confusion, DER ECDSA signatures, another RSA key), come
 * from PyJWT and cryptography through tests/data/jwt/make-vectors.py,
 * committed in tests/data/jwt/vectors.h: no Python at run time.  Tokens
 * for the JSON and base64url edge cases are made here from their JSON
 * text and signed with HS256 by mbedTLS directly, so that a refusal is
 * the parser's doing, not a bad signature's.
 */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/md.h>

#include "net/jwt.h"
#include "tests/data/jwt/vectors.h"

#define NOW		((double)JWT_T_NOW)
#define ISS		"https://issuer.example"
#define TOKMAX		(JWT_TOKEN_MAX + 64)
/* The base64url characters whose two low bits are zero. */
#define SPARE2		"AEIMQUYcgkosw048"

static struct jwt_token	*tok;
static char		 err[256];

static void
setup(void)
{
	ck_assert_ptr_nonnull(tok = calloc(1, sizeof(*tok)));
	err[0] = '\0';
}

static void
teardown(void)
{
	free(tok);
	tok = NULL;
}

/* ---- helpers ---- */

/* base64url without padding of len octets, NUL-terminated in out. */
static void
b64u(const void *in, size_t len, char *out, size_t cap)
{
	size_t	 n, i;

	ck_assert_int_eq(mbedtls_base64_encode((unsigned char *)out, cap, &n,
	    in, len), 0);
	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (i = 0; i < n; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
}

/* header.payload of two JSON texts (any octets), NUL-terminated. */
static size_t
mk_input(const char *hdr, size_t hlen, const char *pay, size_t plen,
    char *out, size_t cap)
{
	size_t	 n;

	b64u(hdr, hlen, out, cap);
	n = strlen(out);
	ck_assert_uint_lt(n + 1, cap);
	out[n++] = '.';
	b64u(pay, plen, out + n, cap - n);
	return strlen(out);
}

/* A token of header and payload JSON, signed HS256 with JWT_T_SECRET. */
static const char *
mk_hs256_n(const char *hdr, size_t hlen, const char *pay, size_t plen)
{
	static char	 t[TOKMAX + 8192];
	uint8_t		 mac[32];
	size_t		 n;

	n = mk_input(hdr, hlen, pay, plen, t, sizeof(t));
	ck_assert_int_eq(mbedtls_md_hmac(mbedtls_md_info_from_type(
	    MBEDTLS_MD_SHA256), (const unsigned char *)JWT_T_SECRET,
	    strlen(JWT_T_SECRET), (const unsigned char *)t, n, mac), 0);
	t[n++] = '.';
	b64u(mac, sizeof(mac), t + n, sizeof(t) - n);
	return t;
}

static const char *
mk_hs256(const char *hdr, const char *pay)
{
	return mk_hs256_n(hdr, strlen(hdr), pay, strlen(pay));
}

/* A payload under {"alg":"HS256"}. */
static const char *
mk_pay(const char *pay)
{
	return mk_hs256("{\"alg\":\"HS256\"}", pay);
}

static int
parse(const char *t)
{
	return jwt_parse(tok, t, strlen(t), err, sizeof(err));
}

static void
parse_ok(const char *t)
{
	ck_assert_msg(parse(t) == 0, "%s: %s", t, err);
	ck_assert_int_eq(tok->parsed, 1);
}

/* Refused, with an error containing want. */
static void
parse_fails(const char *t, size_t len, const char *want)
{
	ck_assert_msg(jwt_parse(tok, t, len, err, sizeof(err)) == -1,
	    "parsed: %.*s", (int)len, t);
	ck_assert_int_eq(tok->parsed, 0);
	ck_assert_msg(strstr(err, want) != NULL, "error \"%s\", want \"%s\"",
	    err, want);
}

static void
parse_err(const char *t, const char *want)
{
	parse_fails(t, strlen(t), want);
}

static void
key_secret(struct jwt_key *k, int alg)
{
	ck_assert_msg(jwt_key_init_secret(k, alg,
	    (const uint8_t *)JWT_T_SECRET, strlen(JWT_T_SECRET), err,
	    sizeof(err)) == 0, "%s", err);
}

static void
key_public(struct jwt_key *k, int alg, const char *pem)
{
	ck_assert_msg(jwt_key_init_public(k, alg, pem, strlen(pem), err,
	    sizeof(err)) == 0, "%s", err);
}

/*
 * Verify; on failure the error must contain want (NULL: must succeed)
 * and never the secret or the signature segment.
 */
static void
verify_is(const struct jwt_key *k, double now, double leeway,
    const char *iss, const char *aud, const char *want, const char *t)
{
	const char	*sig = strrchr(t, '.');
	int		 r;

	r = jwt_verify(tok, k, now, leeway, iss, aud, err, sizeof(err));
	if (want == NULL) {
		ck_assert_msg(r == 0, "verify: %s", err);
		return;
	}
	ck_assert_msg(r == -1, "verified, want \"%s\"", want);
	ck_assert_msg(strstr(err, want) != NULL, "error \"%s\", want \"%s\"",
	    err, want);
	ck_assert_ptr_null(strstr(err, JWT_T_SECRET));
	if (sig != NULL && strlen(sig + 1) >= 8)
		ck_assert_ptr_null(strstr(err, sig + 1));
}

/*
 * A copy of t with the low bit of the first signature character's value
 * flipped: one bit of the signature's first octet.
 */
static const char *
flip_sig(const char *t)
{
	static const char	 a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	static char		 out[TOKMAX];
	char			*s;
	size_t			 v;

	ck_assert_uint_lt(strlen(t), sizeof(out));
	(void)snprintf(out, sizeof(out), "%s", t);
	s = strrchr(out, '.') + 1;
	v = (size_t)(strchr(a, *s) - a);
	*s = a[v ^ 1];
	return out;
}

/* ---- every algorithm ---- */

struct vec {
	const char	*name;
	int		 alg;
	const char	*token;
	const char	*pem;		/* NULL: JWT_T_SECRET */
};

static const struct vec vecs[] = {
	{ "HS256", JWT_HS256, jwt_t_hs256, NULL },
	{ "HS384", JWT_HS384, jwt_t_hs384, NULL },
	{ "HS512", JWT_HS512, jwt_t_hs512, NULL },
	{ "RS256", JWT_RS256, jwt_t_rs256, jwt_t_rsa_pem },
	{ "RS384", JWT_RS384, jwt_t_rs384, jwt_t_rsa_pem },
	{ "RS512", JWT_RS512, jwt_t_rs512, jwt_t_rsa_pem },
	{ "ES256", JWT_ES256, jwt_t_es256, jwt_t_ec256_pem },
	{ "ES384", JWT_ES384, jwt_t_es384, jwt_t_ec384_pem },
};
#define NVECS	((int)(sizeof(vecs) / sizeof(vecs[0])))

static void
vec_key(struct jwt_key *k, const struct vec *v)
{
	if (v->pem == NULL)
		key_secret(k, v->alg);
	else
		key_public(k, v->alg, v->pem);
}

START_TEST(test_alg_names)
{
	int	 i;

	for (i = 0; i < NVECS; i++) {
		ck_assert_int_eq(jwt_alg_parse(vecs[i].name), vecs[i].alg);
		ck_assert_str_eq(jwt_alg_name(vecs[i].alg), vecs[i].name);
	}
	ck_assert_int_eq(jwt_alg_parse("none"), -1);
	ck_assert_int_eq(jwt_alg_parse("None"), -1);
	ck_assert_int_eq(jwt_alg_parse("hs256"), -1);
	ck_assert_int_eq(jwt_alg_parse("HS256 "), -1);
	ck_assert_int_eq(jwt_alg_parse("PS256"), -1);
	ck_assert_int_eq(jwt_alg_parse("ES512"), -1);
	ck_assert_int_eq(jwt_alg_parse("EdDSA"), -1);
	ck_assert_int_eq(jwt_alg_parse(""), -1);
	ck_assert_int_eq(jwt_alg_parse(NULL), -1);
	ck_assert_str_eq(jwt_alg_name(-1), "?");
	ck_assert_str_eq(jwt_alg_name(NVECS), "?");
}
END_TEST

START_TEST(test_valid)
{
	const struct vec	*v = &vecs[_i];
	struct jwt_key		 k;
	const struct jwt_claims	*c = &tok->claims;

	vec_key(&k, v);
	parse_ok(v->token);
	ck_assert_int_eq(tok->alg, v->alg);
	ck_assert_int_eq(c->has_key, 1);
	ck_assert_str_eq(c->key, "user-key");
	ck_assert_int_eq(c->has_iss, 1);
	ck_assert_str_eq(c->iss, ISS);
	ck_assert_int_eq(c->has_sub, 1);
	ck_assert_str_eq(c->sub, "alice");
	ck_assert_int_eq(c->has_aud, 1);
	ck_assert_uint_eq(c->naud, 2);
	ck_assert_str_eq(c->aud[0], "kafkagate");
	ck_assert_str_eq(c->aud[1], "other");
	ck_assert_int_eq(c->has_exp, 1);
	ck_assert_int_eq(c->exp, JWT_T_NOW + 3600);
	ck_assert_int_eq(c->has_nbf, 1);
	ck_assert_int_eq(c->nbf, JWT_T_NOW - 60);
	ck_assert_int_eq(c->has_iat, 1);
	ck_assert_int_eq(c->iat, JWT_T_NOW - 60);
	verify_is(&k, NOW, 0, NULL, NULL, NULL, v->token);
	verify_is(&k, NOW, 0, ISS, "kafkagate", NULL, v->token);
	verify_is(&k, NOW, 0, ISS, "other", NULL, v->token);
	/* Verifying does not change the token: again, same answer. */
	verify_is(&k, NOW + 1, 0, ISS, "other", NULL, v->token);
	jwt_key_free(&k);
}
END_TEST

/* One bit flipped, in the signature or in the signed input. */
START_TEST(test_bit_flipped)
{
	const struct vec	*v = &vecs[_i];
	struct jwt_key		 k;
	uint8_t			 good[JWT_SIG_MAX];
	size_t			 i, bits = 0;
	const char		*bad;

	vec_key(&k, v);
	parse_ok(v->token);
	memcpy(good, tok->sig, tok->siglen);
	bad = flip_sig(v->token);
	parse_ok(bad);
	for (i = 0; i < tok->siglen; i++)
		bits += (size_t)__builtin_popcount(good[i] ^ tok->sig[i]);
	ck_assert_uint_eq(bits, 1);
	verify_is(&k, NOW, 0, NULL, NULL, "signature does not verify", bad);

	parse_ok(v->token);
	tok->input[tok->inputlen - 1] ^= 0x01;
	verify_is(&k, NOW, 0, NULL, NULL, "signature does not verify",
	    v->token);
	jwt_key_free(&k);
}
END_TEST

START_TEST(test_other_rsa_key)
{
	struct jwt_key	 k;

	key_public(&k, JWT_RS256, jwt_t_rsa_pem);
	parse_ok(jwt_t_rs256_other);
	verify_is(&k, NOW, 0, NULL, NULL, "signature does not verify",
	    jwt_t_rs256_other);
	jwt_key_free(&k);
	/* ... and it verifies with its own. */
	key_public(&k, JWT_RS256, jwt_t_rsa_other_pem);
	verify_is(&k, NOW, 0, NULL, NULL, NULL, jwt_t_rs256_other);
	jwt_key_free(&k);
}
END_TEST

/* ---- refused algorithms ---- */

START_TEST(test_alg_none)
{
	char	 t[TOKMAX];

	/* As PyJWT makes it: an empty signature segment. */
	parse_err(jwt_t_none, "header: alg none is not accepted");
	/* Without the third segment. */
	(void)snprintf(t, sizeof(t), "%s", jwt_t_none);
	t[strlen(t) - 1] = '\0';
	parse_err(t, "token has 2 segments, not 3");
	/* With a signature. */
	parse_err(jwt_t_none_signed, "header: alg none is not accepted");
	parse_err(mk_hs256("{\"alg\":\"None\"}", "{}"),
	    "header: unsupported alg");
	parse_err(mk_hs256("{\"alg\":\"NONE\"}", "{}"),
	    "header: unsupported alg");
	ck_assert_int_eq(tok->alg, -1);
}
END_TEST

/*
 * An HS256 token whose secret is the RSA public key's PEM: refused with
 * the RS256 key; it is a real HS256 token, as a key made of that PEM
 * shows.
 */
START_TEST(test_alg_confusion)
{
	struct jwt_key	 k;

	key_public(&k, JWT_RS256, jwt_t_rsa_pem);
	parse_ok(jwt_t_confusion);
	ck_assert_int_eq(tok->alg, JWT_HS256);
	verify_is(&k, NOW, 0, NULL, NULL,
	    "token alg HS256 does not match the key's RS256", jwt_t_confusion);
	jwt_key_free(&k);

	ck_assert_int_eq(jwt_key_init_secret(&k, JWT_HS256,
	    (const uint8_t *)jwt_t_rsa_pem, strlen(jwt_t_rsa_pem), err,
	    sizeof(err)), 0);
	verify_is(&k, NOW, 0, NULL, NULL, NULL, jwt_t_confusion);
	jwt_key_free(&k);

	/* The PEM as a public key for an HS alg: refused at set-up. */
	ck_assert_int_eq(jwt_key_init_public(&k, JWT_HS256, jwt_t_rsa_pem,
	    strlen(jwt_t_rsa_pem), err, sizeof(err)), -1);
	ck_assert_str_eq(err, "alg HS256 takes a secret, not a public key");
}
END_TEST

START_TEST(test_alg_mismatch)
{
	struct jwt_key	 k;

	key_secret(&k, JWT_HS256);
	parse_ok(jwt_t_hs384);
	verify_is(&k, NOW, 0, NULL, NULL,
	    "token alg HS384 does not match the key's HS256", jwt_t_hs384);
	jwt_key_free(&k);

	key_public(&k, JWT_RS512, jwt_t_rsa_pem);
	parse_ok(jwt_t_rs256);
	verify_is(&k, NOW, 0, NULL, NULL,
	    "token alg RS256 does not match the key's RS512", jwt_t_rs256);
	jwt_key_free(&k);

	key_public(&k, JWT_ES384, jwt_t_ec384_pem);
	parse_ok(jwt_t_es256);
	verify_is(&k, NOW, 0, NULL, NULL,
	    "token alg ES256 does not match the key's ES384", jwt_t_es256);
	jwt_key_free(&k);

	/* A P-256 signature called ES384, against the P-256 key. */
	key_public(&k, JWT_ES256, jwt_t_ec256_pem);
	parse_ok(jwt_t_es384_as_256);
	verify_is(&k, NOW, 0, NULL, NULL,
	    "token alg ES384 does not match the key's ES256",
	    jwt_t_es384_as_256);
	jwt_key_free(&k);

	/* An RS256 token against an HS256 key made of anything. */
	key_secret(&k, JWT_HS256);
	parse_ok(jwt_t_rs256);
	verify_is(&k, NOW, 0, NULL, NULL,
	    "token alg RS256 does not match the key's HS256", jwt_t_rs256);
	jwt_key_free(&k);
}
END_TEST

START_TEST(test_signature_length)
{
	struct jwt_key	 k;
	char		 t[TOKMAX];

	key_public(&k, JWT_ES256, jwt_t_ec256_pem);
	parse_ok(jwt_t_es256_der);
	ck_assert_uint_ge(tok->siglen, 68);
	ck_assert_uint_le(tok->siglen, 72);
	verify_is(&k, NOW, 0, NULL, NULL, "ES256 with this key makes 64",
	    jwt_t_es256_der);
	parse_ok(jwt_t_es256_short);
	verify_is(&k, NOW, 0, NULL, NULL,
	    "signature of 63 octets, ES256 with this key makes 64",
	    jwt_t_es256_short);
	jwt_key_free(&k);

	/* HS256 cut by one octet (42 characters hold 31 octets). */
	key_secret(&k, JWT_HS256);
	(void)snprintf(t, sizeof(t), "%s", jwt_t_hs256);
	t[strlen(t) - 1] = '\0';
	t[strlen(t) - 1] = 'A';
	parse_ok(t);
	verify_is(&k, NOW, 0, NULL, NULL,
	    "signature of 31 octets, HS256 with this key makes 32", t);
	/* Empty. */
	*(strrchr(t, '.') + 1) = '\0';
	parse_ok(t);
	verify_is(&k, NOW, 0, NULL, NULL,
	    "signature of 0 octets, HS256 with this key makes 32", t);
	jwt_key_free(&k);

	/* RSA: one octet more than the key's 256. */
	key_public(&k, JWT_RS256, jwt_t_rsa_pem);
	(void)snprintf(t, sizeof(t), "%sAA", jwt_t_rs256);
	parse_ok(t);
	verify_is(&k, NOW, 0, NULL, NULL,
	    "signature of 258 octets, RS256 with this key makes 256", t);
	jwt_key_free(&k);
}
END_TEST

START_TEST(test_header)
{
	static const char *const ok[] = {
		"{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
		"{\"typ\":\"jwt\",\"alg\":\"HS256\"}",
		"{\"alg\":\"HS256\",\"typ\":\"application/jwt\"}",
		"{\"alg\":\"HS256\",\"typ\":\"Application/JWT\"}",
		"{\"alg\":\"HS256\",\"cty\":\"json\"}",
		"{\"alg\":\"HS256\",\"kid\":\"1\",\"jwk\":{\"kty\":\"oct\","
		    "\"k\":\"AAAA\"},\"x5u\":\"http://x\","
		    "\"jku\":\"http://y\"}",
		" \t\r\n{ \"alg\" : \"HS256\" } \n",
		"{\"alg\":\"HS\\u0032\\u00356\"}",
	};
	static const struct {
		const char	*hdr, *want;
	} bad[] = {
		{ "{}", "header: no alg" },
		{ "{\"typ\":\"JWT\"}", "header: no alg" },
		{ "{\"alg\":256}", "header: alg is not a string" },
		{ "{\"alg\":null}", "header: alg is not a string" },
		{ "{\"alg\":\"PS256\"}", "header: unsupported alg" },
		{ "{\"alg\":\"ES512\"}", "header: unsupported alg" },
		{ "{\"alg\":\"HS256\\u0000\"}", "header: unsupported alg" },
		{ "{\"alg\":\"HS256HS256HS256HS256\"}",
		    "header: unsupported alg" },
		{ "{\"alg\":\"\"}", "header: unsupported alg" },
		{ "{\"alg\":\"HS256\",\"alg\":\"HS256\"}",
		    "header: duplicate alg" },
		{ "{\"alg\":\"HS256\",\"\\u0061lg\":\"none\"}",
		    "header: duplicate alg" },
		{ "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}",
		    "header: typ is not JWT" },
		{ "{\"alg\":\"HS256\",\"typ\":\"JWS\"}",
		    "header: typ is not JWT" },
		{ "{\"alg\":\"HS256\",\"typ\":\"\"}",
		    "header: typ is not JWT" },
		{ "{\"alg\":\"HS256\",\"typ\":1}",
		    "header: typ is not a string" },
		{ "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"typ\":\"JWT\"}",
		    "header: duplicate typ" },
		{ "{\"alg\":\"HS256\",\"cty\":\"JWT\"}",
		    "header: nested tokens (cty JWT) are not supported" },
		{ "{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}",
		    "header: crit is not supported" },
		{ "{\"alg\":\"HS256\",\"crit\":[]}",
		    "header: crit is not supported" },
		{ "{\"crit\":[\"exp\"],\"alg\":\"HS256\"}",
		    "header: crit is not supported" },
	};
	struct jwt_key	 k;
	size_t		 i;
	const char	*t;

	key_secret(&k, JWT_HS256);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		t = mk_hs256(ok[i], "{\"key\":\"k\"}");
		parse_ok(t);
		ck_assert_int_eq(tok->alg, JWT_HS256);
		verify_is(&k, NOW, 0, NULL, NULL, NULL, t);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse_err(mk_hs256(bad[i].hdr, "{\"key\":\"k\"}"),
		    bad[i].want);
		ck_assert_int_eq(tok->alg, -1);
	}
	jwt_key_free(&k);
}
END_TEST

/* ---- dates ---- */

START_TEST(test_exp_nbf)
{
	struct jwt_key	 k;
	const char	*t = jwt_t_window;	/* NOW - 100 to NOW + 100 */

	key_secret(&k, JWT_HS256);
	parse_ok(t);
	ck_assert_int_eq(tok->claims.exp, JWT_T_NOW + 100);
	ck_assert_int_eq(tok->claims.nbf, JWT_T_NOW - 100);
	verify_is(&k, NOW, 0, NULL, NULL, NULL, t);
	/* exp: valid while now < exp + leeway. */
	verify_is(&k, NOW + 99.999, 0, NULL, NULL, NULL, t);
	verify_is(&k, NOW + 100, 0, NULL, NULL, "token expired", t);
	verify_is(&k, NOW + 1e9, 0, NULL, NULL, "token expired", t);
	verify_is(&k, NOW + 109.5, 10, NULL, NULL, NULL, t);
	verify_is(&k, NOW + 110, 10, NULL, NULL, "token expired", t);
	/* nbf: valid once now + leeway >= nbf. */
	verify_is(&k, NOW - 100, 0, NULL, NULL, NULL, t);
	verify_is(&k, NOW - 100.5, 0, NULL, NULL, "token not yet valid", t);
	verify_is(&k, NOW - 1e9, 0, NULL, NULL, "token not yet valid", t);
	verify_is(&k, NOW - 110, 10, NULL, NULL, NULL, t);
	verify_is(&k, NOW - 110.5, 10, NULL, NULL, "token not yet valid", t);
	/* A leeway that covers the whole window both ways. */
	verify_is(&k, NOW + 150, 60, NULL, NULL, NULL, t);
	verify_is(&k, NOW - 150, 60, NULL, NULL, NULL, t);
	/* Bad clock or leeway. */
	verify_is(&k, NAN, 0, NULL, NULL, "invalid time or leeway", t);
	verify_is(&k, INFINITY, 0, NULL, NULL, "invalid time or leeway", t);
	verify_is(&k, NOW, -1, NULL, NULL, "invalid time or leeway", t);
	verify_is(&k, NOW, NAN, NULL, NULL, "invalid time or leeway", t);
	jwt_key_free(&k);
}
END_TEST

START_TEST(test_dates_decimal)
{
	struct jwt_key	 k;
	const char	*t = jwt_t_exp_decimal;	/* exp NOW + 100.75 */

	key_secret(&k, JWT_HS256);
	parse_ok(t);
	ck_assert_int_eq(tok->claims.exp, JWT_T_NOW + 100);
	ck_assert_int_eq(tok->claims.nbf, JWT_T_NOW - 1);  /* NOW - 0.25 */
	verify_is(&k, NOW + 99.5, 0, NULL, NULL, NULL, t);
	verify_is(&k, NOW + 100, 0, NULL, NULL, "token expired", t);
	verify_is(&k, NOW - 1, 0, NULL, NULL, NULL, t);
	verify_is(&k, NOW - 1.5, 0, NULL, NULL, "token not yet valid", t);
	jwt_key_free(&k);
}
END_TEST

START_TEST(test_dates_numbers)
{
	static const struct {
		const char	*num;
		int64_t		 v;
	} ok[] = {
		{ "0", 0 },
		{ "-0", 0 },
		{ "-1", -1 },
		{ "-0.5", 0 },
		{ "-1.5", -1 },
		{ "1700000000", 1700000000 },
		{ "1700000000.999999", 1700000000 },
		{ "17e8", 1700000000 },
		{ "17E+8", 1700000000 },
		{ "1.7000001e9", 1700000100 },
		{ "0.17e10", 1700000000 },
		{ "170000000000e-2", 1700000000 },
		{ "1700000000.5e0", 1700000000 },
		{ "1e-400", 0 },
		{ "0e999999999999", 0 },
		{ "0.0000000000000000000000001e25", 1 },
		{ "9007199254740991", INT64_C(9007199254740991) },
		{ "-9007199254740991", -INT64_C(9007199254740991) },
		{ "9007199254740991.9", INT64_C(9007199254740991) },
		{ "900719925474099.1e1", INT64_C(9007199254740991) },
	};
	static const struct {
		const char	*num, *want;
	} bad[] = {
		{ "9007199254740992", "claim exp is out of range" },
		{ "-9007199254740992", "claim exp is out of range" },
		{ "1e16", "claim exp is out of range" },
		{ "1e400", "claim exp is out of range" },
		{ "1e99999999999999999999", "claim exp is out of range" },
		{ "\"1700000000\"", "claim exp is not a number" },
		{ "true", "claim exp is not a number" },
		{ "null", "claim exp is not a number" },
		{ "[1]", "claim exp is not a number" },
		{ "01", "bad JSON at octet 8: leading zero" },
		{ "1.", "bad JSON" },
		{ "-", "bad JSON" },
		{ "1e", "bad JSON" },
		{ "1e+", "bad JSON" },
		{ ".5", "claim exp is not a number" },
		{ "+1", "claim exp is not a number" },
		{ "NaN", "claim exp is not a number" },
		{ "Infinity", "claim exp is not a number" },
		{ "0x10", "bad JSON" },
	};
	char	 pay[512], big[600];
	size_t	 i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		(void)snprintf(pay, sizeof(pay), "{\"exp\":%s,\"nbf\":%s,"
		    "\"iat\":%s}", ok[i].num, ok[i].num, ok[i].num);
		parse_ok(mk_pay(pay));
		ck_assert_msg(tok->claims.exp == ok[i].v, "%s: %jd", ok[i].num,
		    (intmax_t)tok->claims.exp);
		ck_assert_int_eq(tok->claims.nbf, ok[i].v);
		ck_assert_int_eq(tok->claims.iat, ok[i].v);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		(void)snprintf(pay, sizeof(pay), "{\"exp\":%s}", bad[i].num);
		parse_err(mk_pay(pay), bad[i].want);
	}
	parse_err(mk_pay("{\"nbf\":1e17}"),
	    "payload: claim nbf is out of range");
	parse_err(mk_pay("{\"iat\":\"x\"}"),
	    "payload: claim iat is not a number");

	/* 400 digits. */
	memset(big, '9', sizeof(big));
	(void)snprintf(pay, sizeof(pay), "{\"exp\":%.400s}", big);
	parse_err(mk_pay(pay), "payload: claim exp is out of range");
	/* The same in a claim not read: only its syntax matters. */
	(void)snprintf(pay, sizeof(pay), "{\"x\":%.400s,\"y\":1e999999999,"
	    "\"z\":-0.0e-0}", big);
	parse_ok(mk_pay(pay));
}
END_TEST

START_TEST(test_no_exp)
{
	struct jwt_key	 k;

	key_secret(&k, JWT_HS256);
	parse_ok(jwt_t_no_exp);
	ck_assert_int_eq(tok->claims.has_exp, 0);
	ck_assert_int_eq(tok->claims.has_nbf, 0);
	ck_assert_int_eq(tok->claims.has_iat, 0);
	verify_is(&k, NOW, 0, NULL, NULL, NULL, jwt_t_no_exp);
	verify_is(&k, 1e12, 0, NULL, NULL, NULL, jwt_t_no_exp);
	verify_is(&k, 0, 0, NULL, NULL, NULL, jwt_t_no_exp);
	jwt_key_free(&k);
}
END_TEST

START_TEST(test_duplicates)
{
	parse_err(mk_pay("{\"exp\":1,\"exp\":2}"),
	    "payload: duplicate claim exp");
	parse_err(mk_pay("{\"exp\":1,\"\\u0065xp\":2}"),
	    "payload: duplicate claim exp");
	parse_err(mk_pay("{\"exp\":1,\"key\":\"a\",\"nbf\":1,\"key\":\"b\"}"),
	    "payload: duplicate claim key");
	parse_err(mk_pay("{\"aud\":\"a\",\"aud\":[\"b\"]}"),
	    "payload: duplicate claim aud");
	parse_err(mk_pay("{\"iss\":\"a\",\"iss\":\"a\"}"),
	    "payload: duplicate claim iss");
	parse_err(mk_pay("{\"nbf\":1,\"nbf\":1}"),
	    "payload: duplicate claim nbf");
	parse_err(mk_pay("{\"iat\":1,\"iat\":1}"),
	    "payload: duplicate claim iat");
	parse_err(mk_pay("{\"sub\":\"a\",\"sub\":\"a\"}"),
	    "payload: duplicate claim sub");
	/* Members not read may repeat. */
	parse_ok(mk_pay("{\"x\":1,\"x\":2,\"exp\":3,\"expx\":4,\"ex\":5}"));
	ck_assert_int_eq(tok->claims.exp, 3);
}
END_TEST

/* ---- claims ---- */

START_TEST(test_iss_aud)
{
	struct jwt_key	 k;

	key_secret(&k, JWT_HS256);
	parse_ok(jwt_t_hs256);
	verify_is(&k, NOW, 0, ISS, NULL, NULL, jwt_t_hs256);
	verify_is(&k, NOW, 0, NULL, "kafkagate", NULL, jwt_t_hs256);
	verify_is(&k, NOW, 0, NULL, "other", NULL, jwt_t_hs256);
	verify_is(&k, NOW, 0, "https://issuer.example/", NULL,
	    "iss claim does not match", jwt_t_hs256);
	verify_is(&k, NOW, 0, "", NULL, "iss claim does not match",
	    jwt_t_hs256);
	verify_is(&k, NOW, 0, NULL, "kafka", "aud claim does not match",
	    jwt_t_hs256);
	verify_is(&k, NOW, 0, NULL, "KAFKAGATE", "aud claim does not match",
	    jwt_t_hs256);
	/* Expired first: the dates are checked before iss and aud. */
	verify_is(&k, NOW + 4000, 0, "x", "y", "token expired", jwt_t_hs256);

	/* aud a string. */
	parse_ok(jwt_t_aud_string);
	ck_assert_uint_eq(tok->claims.naud, 1);
	verify_is(&k, NOW, 0, NULL, "kafkagate", NULL, jwt_t_aud_string);
	verify_is(&k, NOW, 0, "other-issuer", "kafkagate", NULL,
	    jwt_t_aud_string);
	verify_is(&k, NOW, 0, ISS, "kafkagate", "iss claim does not match",
	    jwt_t_aud_string);
	verify_is(&k, NOW, 0, NULL, "other", "aud claim does not match",
	    jwt_t_aud_string);

	/* Neither. */
	parse_ok(jwt_t_no_exp);
	verify_is(&k, NOW, 0, ISS, NULL, "no iss claim", jwt_t_no_exp);
	verify_is(&k, NOW, 0, NULL, "kafkagate", "no aud claim",
	    jwt_t_no_exp);

	/* An empty array matches nothing. */
	parse_ok(mk_pay("{\"aud\":[]}"));
	ck_assert_int_eq(tok->claims.has_aud, 1);
	ck_assert_uint_eq(tok->claims.naud, 0);
	verify_is(&k, NOW, 0, NULL, "kafkagate", "aud claim does not match",
	    "");
	verify_is(&k, NOW, 0, NULL, NULL, NULL, "");
	jwt_key_free(&k);
}
END_TEST

START_TEST(test_claims)
{
	char	 pay[1024], s[400];
	int	 i;

	/* No key: parses, the caller decides. */
	parse_ok(jwt_t_no_key);
	ck_assert_int_eq(tok->claims.has_key, 0);
	ck_assert_str_eq(tok->claims.key, "");

	parse_ok(mk_pay("{\"key\":\"\"}"));
	ck_assert_int_eq(tok->claims.has_key, 1);
	ck_assert_str_eq(tok->claims.key, "");
	parse_ok(mk_pay("{\"key\":\"caf\\u00e9 \\ud83d\\ude00 \xe2\x82\xac"
	    "\\\"\\\\\\/\\b\\f\\n\\r\\t\"}"));
	ck_assert_str_eq(tok->claims.key, "caf\xc3\xa9 \xf0\x9f\x98\x80 "
	    "\xe2\x82\xac\"\\/\b\f\n\r\t");

	parse_err(mk_pay("{\"key\":1}"), "payload: claim key is not a string");
	parse_err(mk_pay("{\"key\":null}"),
	    "payload: claim key is not a string");
	parse_err(mk_pay("{\"key\":[\"a\"]}"),
	    "payload: claim key is not a string");
	parse_err(mk_pay("{\"iss\":{}}"), "payload: claim iss is not a string");
	parse_err(mk_pay("{\"sub\":false}"),
	    "payload: claim sub is not a string");
	parse_err(mk_pay("{\"key\":\"ab\\u0000c\"}"),
	    "payload: claim key holds a NUL");

	/* 255 octets fit, 256 do not. */
	memset(s, 'k', sizeof(s));
	(void)snprintf(pay, sizeof(pay), "{\"key\":\"%.255s\"}", s);
	parse_ok(mk_pay(pay));
	ck_assert_uint_eq(strlen(tok->claims.key), 255);
	(void)snprintf(pay, sizeof(pay), "{\"key\":\"%.256s\"}", s);
	parse_err(mk_pay(pay), "payload: claim key is longer than 255 octets");
	/* Escapes count as what they decode to: 85 x 3 octets. */
	pay[0] = '\0';
	(void)snprintf(pay, sizeof(pay), "{\"iss\":\"");
	for (i = 0; i < 85; i++)
		(void)strncat(pay, "\\u20ac", sizeof(pay) - strlen(pay) - 1);
	(void)strncat(pay, "\"}", sizeof(pay) - strlen(pay) - 1);
	parse_ok(mk_pay(pay));
	ck_assert_uint_eq(strlen(tok->claims.iss), 255);

	/* aud arrays: up to JWT_AUD_MAX strings. */
	parse_ok(mk_pay("{\"aud\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\","
	    "\"8\"]}"));
	ck_assert_uint_eq(tok->claims.naud, 8);
	ck_assert_str_eq(tok->claims.aud[7], "8");
	parse_err(mk_pay("{\"aud\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\","
	    "\"8\",\"9\"]}"), "payload: claim aud has more than 8 entries");
	parse_err(mk_pay("{\"aud\":[\"a\",1]}"),
	    "payload: claim aud holds a non-string");
	parse_err(mk_pay("{\"aud\":[[\"a\"]]}"),
	    "payload: claim aud holds a non-string");
	parse_err(mk_pay("{\"aud\":{}}"),
	    "payload: claim aud is not a string or an array");
	parse_err(mk_pay("{\"aud\":7}"),
	    "payload: claim aud is not a string or an array");
	parse_err(mk_pay("{\"aud\":[\"a\",]}"), "payload: bad JSON");
	parse_err(mk_pay("{\"aud\":[\"a\" \"b\"]}"), "payload: bad JSON");
	parse_err(mk_pay("{\"aud\":[\"a\""), "payload: bad JSON");
	parse_ok(mk_pay("{\"aud\":[ \"a\" , \"b\" ]}"));
	ck_assert_uint_eq(tok->claims.naud, 2);
	ck_assert_str_eq(tok->claims.aud[1], "b");

	/* Other members: anything well-formed. */
	parse_ok(mk_pay("{\"a\":{\"b\":[1,2.5,-3e2,true,false,null,\"s\",{}]},"
	    "\"c\":[],\"d\":{},\"\":\"\",\"key\":\"k\"}"));
	ck_assert_str_eq(tok->claims.key, "k");
}
END_TEST

/* ---- token syntax ---- */

START_TEST(test_segments)
{
	static const struct {
		const char	*t, *want;
	} bad[] = {
		{ "", "empty token" },
		{ "abc", "token has 1 segment, not 3" },
		{ "a.b", "token has 2 segments, not 3" },
		{ "a.b.c.d", "token has 4 segments, not 3" },
		{ "a.b.c.d.e", "token has 5 segments, not 3" },
		{ "...", "token has 4 segments, not 3" },
		{ "..", "header: not a JSON object" },
	};
	char	 t[TOKMAX];
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_err(bad[i].t, bad[i].want);
	/* A valid token with a fourth segment. */
	(void)snprintf(t, sizeof(t), "%s.", jwt_t_hs256);
	parse_err(t, "token has 4 segments, not 3");
	(void)snprintf(t, sizeof(t), "%s.AAAA", jwt_t_hs256);
	parse_err(t, "token has 4 segments, not 3");
	/* Whitespace around it is not ours to strip. */
	(void)snprintf(t, sizeof(t), " %s", jwt_t_hs256);
	parse_err(t, "header: invalid base64url character");
	(void)snprintf(t, sizeof(t), "%s\n", jwt_t_hs256);
	parse_err(t, "signature: invalid base64url character");
	/* A NUL inside. */
	(void)snprintf(t, sizeof(t), "%s", jwt_t_hs256);
	t[10] = '\0';
	parse_fails(t, strlen(jwt_t_hs256), "header: invalid base64url "
	    "character");
}
END_TEST

START_TEST(test_base64url)
{
	char		 t[TOKMAX], *p;
	const char	*good;

	good = mk_pay("{\"key\":\"k\"}");  /* 15 characters, 2 bits spare */
	(void)snprintf(t, sizeof(t), "%s", good);
	p = strchr(t, '.') + 1;
	ck_assert_uint_eq(strcspn(p, "."), 15);

	/* Padding, anywhere. */
	(void)snprintf(t, sizeof(t), "%.*s=%s", (int)(strchr(good, '.') -
	    good + 1 + 15), good, good + (strchr(good, '.') - good + 1 + 15));
	parse_err(t, "payload: base64url padding is not allowed");
	(void)snprintf(t, sizeof(t), "%s=", good);
	parse_err(t, "signature: base64url padding is not allowed");
	(void)snprintf(t, sizeof(t), "%s", jwt_t_hs256);
	t[0] = '=';
	parse_err(t, "header: base64url padding is not allowed");
	/* The standard alphabet's characters and others. */
	(void)snprintf(t, sizeof(t), "%s", good);
	p = strchr(t, '.') + 1;
	p[2] = '+';
	parse_err(t, "payload: invalid base64url character");
	p[2] = '/';
	parse_err(t, "payload: invalid base64url character");
	p[2] = '*';
	parse_err(t, "payload: invalid base64url character");
	p[2] = '\x80';
	parse_err(t, "payload: invalid base64url character");
	/* Unused bits set: the last character's value plus one. */
	(void)snprintf(t, sizeof(t), "%s", good);
	p = strchr(t, '.') + 1 + 14;
	ck_assert_ptr_nonnull(strchr(SPARE2, *p));
	*p = (char)(*p + 1);
	parse_err(t, "payload: non-canonical base64url");
	/* The HS256 signature: 43 characters, 2 bits spare. */
	(void)snprintf(t, sizeof(t), "%s", jwt_t_hs256);
	p = t + strlen(t) - 1;
	ck_assert_ptr_nonnull(strchr(SPARE2, *p));
	*p = (char)(*p + 1);
	parse_err(t, "signature: non-canonical base64url");
	/* One character over a multiple of four cannot be. */
	(void)snprintf(t, sizeof(t), "%sAA", jwt_t_hs256);
	parse_err(t, "signature: truncated base64url");
	/* A header of 2 + 1 octets: 4 characters: fine syntax, bad JSON. */
	parse_err("e30K.e30.", "header: no alg");	/* "{}\n" */
	parse_err("e30.e30.", "header: no alg");	/* "{}" */
}
END_TEST

START_TEST(test_not_object)
{
	static const char *const hdrs[] = {
		"", "[]", "\"alg\"", "1", "null", "true", " ",
		"[{\"alg\":\"HS256\"}]",
	};
	size_t	 i;

	for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		parse_err(mk_hs256(hdrs[i], "{}"), "header: not a JSON object");
		parse_err(mk_pay(hdrs[i]), "payload: not a JSON object");
	}
}
END_TEST

START_TEST(test_bad_json)
{
	static const struct {
		const char	*pay, *want;
	} bad[] = {
		{ "{\"key\":\"k\"}x", "trailing characters after the object" },
		{ "{\"key\":\"k\"},", "trailing characters after the object" },
		{ "{\"key\":\"k\"}{}", "trailing characters after the object" },
		{ "{\"key\":\"k\"", "expected ',' or '}'" },
		{ "{\"key\":\"k\",}", "expected a member name" },
		{ "{\"key\" \"k\"}", "expected ':'" },
		{ "{\"a\":}", "unexpected character" },
		{ "{\"key\":", "unexpected end" },
		{ "{key:\"k\"}", "expected a member name" },
		{ "{'key':'k'}", "expected a member name" },
		{ "{\"a\":1 /* c */}", "expected ',' or '}'" },
		{ "{\"a\":tru}", "unexpected character" },
		{ "{\"a\":True}", "unexpected character" },
		{ "{\"a\":nul}", "unexpected character" },
		{ "{\"a\":[1,]}", "unexpected character" },
		{ "{\"a\":[1 2]}", "expected ',' or ']'" },
		{ "{\"a\":{\"b\"}}", "expected ':'" },
		{ "{\"a\":{1:2}}", "expected a member name" },
		{ "{\"a\":\"unterminated}", "unterminated string" },
		{ "{\"a\":\"x\\", "unterminated string" },
		{ "{\"a\":\"\\x\"}", "bad escape in a string" },
		{ "{\"a\":\"\\u12G4\"}", "bad \\u escape" },
		{ "{\"a\":\"\\u12\"}", "bad \\u escape" },
		{ "{\"a\":\"\\u1", "truncated \\u escape" },
		{ "{\"a\":\"tab\there\"}", "control character in a string" },
		{ "{\"a\":\"nl\nhere\"}", "control character in a string" },
		{ "{\"a\":\"\x01\"}", "control character in a string" },
		{ "{\"a\":\"\x7f\"}", NULL },	/* DEL is allowed */
		{ "\xef\xbb\xbf{}", "not a JSON object" },	/* a BOM */
		{ "{\"a\"\xc2\xa0:1}", "expected ':'" },	/* NBSP */
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (bad[i].want == NULL)
			parse_ok(mk_pay(bad[i].pay));
		else
			parse_err(mk_pay(bad[i].pay), bad[i].want);
	}
	/* With the NUL: its length by hand. */
	parse_err(mk_hs256_n("{\"alg\":\"HS256\"}", 15, "{\"a\":1}\0", 8),
	    "payload: bad JSON at octet 7: trailing characters");
	/* Errors in the header say so. */
	parse_err(mk_hs256("{\"alg\":\"HS256\"}x", "{}"),
	    "header: bad JSON at octet 15: trailing characters");
}
END_TEST

START_TEST(test_utf8)
{
	static const struct {
		const char	*pay, *want;
	} cases[] = {
		{ "{\"key\":\"\xc3\xa9\"}", NULL },
		{ "{\"key\":\"\xf4\x8f\xbf\xbf\"}", NULL },  /* U+10FFFF */
		{ "{\"\xc3\xa9\":\"\xe2\x82\xac\"}", NULL },
		{ "{\"key\":\"\xc3\x28\"}", "invalid UTF-8" },
		{ "{\"key\":\"\xc0\xaf\"}", "invalid UTF-8" }, /* overlong */
		{ "{\"key\":\"\xe0\x80\xaf\"}", "invalid UTF-8" },
		{ "{\"key\":\"\xed\xa0\x80\"}", "invalid UTF-8" }, /* D800 */
		{ "{\"key\":\"\xf4\x90\x80\x80\"}", "invalid UTF-8" },
		{ "{\"key\":\"\xf8\x88\x80\x80\x80\"}", "invalid UTF-8" },
		{ "{\"key\":\"\xff\"}", "invalid UTF-8" },
		{ "{\"key\":\"\x80\"}", "invalid UTF-8" },
		{ "{\"key\":\"\xe2\x82\"}", "invalid UTF-8" },	/* cut */
		{ "{\"key\":\"\xe2\x82", "invalid UTF-8" }, /* at the end */
		{ "{\"\xc3\":1}", "invalid UTF-8" },	/* in a name */
		{ "{\"x\":[\"\xc3\"]}", "invalid UTF-8" },	/* deep */
		{ "{\"x\":\xc3\xa9}", "unexpected character" }, /* bare */
		/* Surrogates through escapes. */
		{ "{\"key\":\"\\ud83d\\ude00\"}", NULL },
		{ "{\"key\":\"\\uD83D\\uDE00\"}", NULL },
		{ "{\"key\":\"\\ud800\"}", "unpaired surrogate" },
		{ "{\"key\":\"\\udc00\"}", "unpaired surrogate" },
		{ "{\"key\":\"\\udfff\\ud800\"}", "unpaired surrogate" },
		{ "{\"key\":\"\\ud800\\u0041\"}", "unpaired surrogate" },
		{ "{\"key\":\"\\ud800\\ud800\"}", "unpaired surrogate" },
		{ "{\"key\":\"\\ud800x\"}", "unpaired surrogate" },
		{ "{\"key\":\"\\ud800\\n\"}", "unpaired surrogate" },
		{ "{\"key\":\"\\ud800", "unpaired surrogate" },
		{ "{\"x\":\"\\udbff\"}", "unpaired surrogate" },  /* not read */
		{ "{\"\\udbff\":1}", "unpaired surrogate" },	/* a name */
	};
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].want == NULL)
			parse_ok(mk_pay(cases[i].pay));
		else
			parse_err(mk_pay(cases[i].pay), cases[i].want);
	}
	parse_ok(mk_pay("{\"key\":\"\\ud83d\\ude00\"}"));
	ck_assert_str_eq(tok->claims.key, "\xf0\x9f\x98\x80");
	parse_ok(mk_pay("{\"key\":\"\\u0041\\u00e9\\u20ac\\uffff\"}"));
	ck_assert_str_eq(tok->claims.key, "A\xc3\xa9\xe2\x82\xac\xef\xbf\xbf");
}
END_TEST

/* {"x": then n times {"a": then {} and the closing braces. */
static void
nest_objects(char *out, size_t cap, int n)
{
	int	 i;

	(void)snprintf(out, cap, "{\"x\":");
	for (i = 0; i < n; i++)
		(void)strncat(out, "{\"a\":", cap - strlen(out) - 1);
	(void)strncat(out, "{}", cap - strlen(out) - 1);
	for (i = 0; i < n + 1; i++)
		(void)strncat(out, "}", cap - strlen(out) - 1);
}

START_TEST(test_nesting)
{
	char	 pay[256];
	int	 n;

	/* The payload is one level; 15 more fit, 16 do not. */
	for (n = 14; n <= 17; n++) {
		(void)snprintf(pay, sizeof(pay), "{\"x\":%.*s1%.*s}", n,
		    "[[[[[[[[[[[[[[[[[[[[", n, "]]]]]]]]]]]]]]]]]]]]");
		if (n <= JWT_DEPTH_MAX - 1)
			parse_ok(mk_pay(pay));
		else
			parse_err(mk_pay(pay),
			    "nested too deep (more than 16)");
	}
	/* Objects: 15 around {} fit, 16 do not. */
	nest_objects(pay, sizeof(pay), 14);
	parse_ok(mk_pay(pay));
	nest_objects(pay, sizeof(pay), 15);
	parse_err(mk_pay(pay),
	    "payload: bad JSON at octet 80: nested too deep");
	/* The same in the header. */
	parse_err(mk_hs256("{\"alg\":\"HS256\",\"x\":[[[[[[[[[[[[[[[[]]]]]]]]]"
	    "]]]]]]]}", "{}"), "header: bad JSON at octet 34: nested too deep");

	/* Deeper than any stack would like: refused at once. */
	{
		static char	 deep[5000];

		memset(deep, '[', sizeof(deep));
		memcpy(deep, "{\"x\":", 5);
		deep[sizeof(deep) - 1] = '\0';
		parse_err(mk_pay(deep), "nested too deep");
	}
}
END_TEST

START_TEST(test_size)
{
	struct jwt_key	 k;
	static char	 pay[8192], t[TOKMAX + 8];
	const char	*s;
	size_t		 len, pad;

	key_secret(&k, JWT_HS256);
	/* Grow a claim until the token is exactly JWT_TOKEN_MAX long. */
	for (pad = 5000; pad < sizeof(pay) - 32; pad++) {
		(void)snprintf(pay, sizeof(pay),
		    "{\"key\":\"k\",\"pad\":\"%0*d\"}", (int)pad, 0);
		s = mk_pay(pay);
		if ((len = strlen(s)) >= JWT_TOKEN_MAX)
			break;
	}
	ck_assert_uint_eq(len, JWT_TOKEN_MAX);
	parse_ok(s);
	verify_is(&k, NOW, 0, NULL, NULL, NULL, s);
	(void)snprintf(t, sizeof(t), "%s", s);
	/* One more: refused before anything is decoded. */
	(void)snprintf(pay, sizeof(pay), "{\"key\":\"k\",\"pad\":\"%0*d\"}",
	    (int)pad + 1, 0);
	s = mk_pay(pay);
	ck_assert_uint_gt(strlen(s), JWT_TOKEN_MAX);
	parse_err(s, "token longer than 8192 octets");
	/* A length one over, whatever the octets. */
	parse_fails(t, JWT_TOKEN_MAX + 1, "token longer than 8192 octets");
	jwt_key_free(&k);

	/* A signature over JWT_SIG_MAX octets. */
	memset(pay, 'A', sizeof(pay));
	(void)snprintf(t, sizeof(t), "%s", jwt_t_hs256);
	len = (size_t)(strrchr(t, '.') + 1 - t);
	memcpy(t + len, pay, 1368);		/* 1026 octets */
	t[len + 1368] = '\0';
	parse_err(t, "signature: too long");
	t[len + 1364] = '\0';			/* 1023 */
	parse_ok(t);
	ck_assert_uint_eq(tok->siglen, 1023);
}
END_TEST

/* ---- keys ---- */

START_TEST(test_key_public)
{
	static const struct {
		int		 alg;
		const char	*pem, *want;
	} bad[] = {
		{ JWT_RS256, jwt_t_ec256_pem, "alg RS256 needs an RSA key, not "
		    "EC" },
		{ JWT_RS512, jwt_t_ec384_pem, "alg RS512 needs an RSA key, not "
		    "EC" },
		{ JWT_ES256, jwt_t_rsa_pem, "alg ES256 needs an EC key, not "
		    "RSA" },
		{ JWT_ES256, jwt_t_ec384_pem, "alg ES256 needs a key on P-256, "
		    "not on secp384r1" },
		{ JWT_ES384, jwt_t_ec256_pem, "alg ES384 needs a key on P-384, "
		    "not on secp256r1" },
		{ JWT_ES256, jwt_t_ec256k1_pem, "alg ES256 needs a key on "
		    "P-256, not on secp256k1" },
		{ JWT_RS256, jwt_t_rsa1024_pem, "alg RS256: RSA key of 1024 "
		    "bits, at least 2048 needed" },
		{ JWT_RS256, "-----BEGIN PUBLIC KEY-----\nAAAA\n"
		    "-----END PUBLIC KEY-----\n", "alg RS256: cannot read the "
		    "public key" },
		{ JWT_RS256, "not a key", "alg RS256: cannot read the public "
		    "key" },
		{ JWT_ES256, "0", "alg ES256: cannot read the public key" },
		{ JWT_HS256, jwt_t_rsa_pem, "alg HS256 takes a secret, not a "
		    "public key" },
		{ JWT_HS512, jwt_t_ec256_pem, "alg HS512 takes a secret, not "
		    "a public key" },
		{ -1, jwt_t_rsa_pem, "unsupported alg" },
		{ 99, jwt_t_rsa_pem, "unsupported alg" },
		{ JWT_RS256, "", "alg RS256: empty public key" },
	};
	struct jwt_key	 k;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&k, 0xa5, sizeof(k));
		ck_assert_int_eq(jwt_key_init_public(&k, bad[i].alg,
		    bad[i].pem, strlen(bad[i].pem), err, sizeof(err)), -1);
		ck_assert_msg(strstr(err, bad[i].want) != NULL,
		    "error \"%s\", want \"%s\"", err, bad[i].want);
		ck_assert_int_eq(k.alg, -1);
		ck_assert_ptr_null(k.secret);
		ck_assert_int_eq(k.have_pk, 0);
		jwt_key_free(&k);		/* harmless */
	}

	/* The terminating NUL counted or not. */
	ck_assert_int_eq(jwt_key_init_public(&k, JWT_RS256, jwt_t_rsa_pem,
	    sizeof(jwt_t_rsa_pem), err, sizeof(err)), 0);
	parse_ok(jwt_t_rs256);
	verify_is(&k, NOW, 0, NULL, NULL, NULL, jwt_t_rs256);
	jwt_key_free(&k);
	/* An EC key is refused for RS* even where the PEM is fine. */
	key_public(&k, JWT_ES256, jwt_t_ec256_pem);
	ck_assert_int_eq(k.alg, JWT_ES256);
	jwt_key_free(&k);
}
END_TEST

/* DER, decoded from the PEM here. */
START_TEST(test_key_der)
{
	struct jwt_key	 k;
	unsigned char	 der[600];
	char		 b64[800], *p, *q;
	size_t		 n = 0, dlen;

	p = strchr(jwt_t_rsa_pem, '\n') + 1;
	q = strstr(p, "-----END");
	for (; p < q; p++)
		if (*p != '\n')
			b64[n++] = *p;
	ck_assert_int_eq(mbedtls_base64_decode(der, sizeof(der), &dlen,
	    (unsigned char *)b64, n), 0);
	ck_assert_int_eq(der[0], 0x30);
	ck_assert_int_eq(jwt_key_init_public(&k, JWT_RS256, (char *)der, dlen,
	    err, sizeof(err)), 0);
	parse_ok(jwt_t_rs256);
	verify_is(&k, NOW, 0, NULL, NULL, NULL, jwt_t_rs256);
	jwt_key_free(&k);
	/* Cut: refused. */
	ck_assert_int_eq(jwt_key_init_public(&k, JWT_RS256, (char *)der,
	    dlen - 1, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "cannot read the public key"));
}
END_TEST

START_TEST(test_key_secret)
{
	static const uint8_t	 bin[] = { 0, 1, 2, 0, 0xff };
	struct jwt_key		 k;
	const char		*t;

	memset(&k, 0xa5, sizeof(k));
	ck_assert_int_eq(jwt_key_init_secret(&k, JWT_RS256, bin, sizeof(bin),
	    err, sizeof(err)), -1);
	ck_assert_str_eq(err, "alg RS256 takes a public key, not a secret");
	ck_assert_ptr_null(k.secret);
	ck_assert_int_eq(jwt_key_init_secret(&k, JWT_ES384, bin, sizeof(bin),
	    err, sizeof(err)), -1);
	ck_assert_str_eq(err, "alg ES384 takes a public key, not a secret");
	ck_assert_int_eq(jwt_key_init_secret(&k, JWT_HS256, bin, 0, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "alg HS256: empty secret");
	ck_assert_int_eq(jwt_key_init_secret(&k, 42, bin, sizeof(bin), err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "unsupported alg");

	/* Any octets, NULs included; the key holds a copy. */
	{
		uint8_t	 copy[sizeof(bin)];

		memcpy(copy, bin, sizeof(bin));
		ck_assert_int_eq(jwt_key_init_secret(&k, JWT_HS256, copy,
		    sizeof(copy), err, sizeof(err)), 0);
		memset(copy, 0, sizeof(copy));
	}
	ck_assert_uint_eq(k.secretlen, sizeof(bin));
	ck_assert_int_eq(memcmp(k.secret, bin, sizeof(bin)), 0);
	t = mk_pay("{\"key\":\"k\"}");
	parse_ok(t);
	verify_is(&k, NOW, 0, NULL, NULL, "signature does not verify", t);
	jwt_key_free(&k);
	ck_assert_ptr_null(k.secret);
	ck_assert_uint_eq(k.secretlen, 0);
	ck_assert_int_eq(k.alg, -1);
	jwt_key_free(&k);			/* twice: harmless */
	jwt_key_free(NULL);
	/* A freed key verifies nothing. */
	verify_is(&k, NOW, 0, NULL, NULL, "no key", t);
	memset(&k, 0, sizeof(k));
	verify_is(&k, NOW, 0, NULL, NULL, "no key", t);
}
END_TEST

START_TEST(test_not_parsed)
{
	struct jwt_key	 k;

	key_secret(&k, JWT_HS256);
	parse_ok(jwt_t_hs256);
	/* A failed parse leaves nothing to verify, even over a good one. */
	parse_err(jwt_t_none, "alg none");
	ck_assert_int_eq(tok->claims.has_key, 0);
	verify_is(&k, NOW, 0, NULL, NULL, "token not parsed", jwt_t_hs256);
	parse_ok(jwt_t_hs256);
	parse_err(mk_pay("{\"key\":\"k\",\"exp\":1,\"exp\":1}"),
	    "duplicate claim exp");
	ck_assert_int_eq(tok->claims.has_key, 0);
	ck_assert_int_eq(tok->alg, -1);
	verify_is(&k, NOW, 0, NULL, NULL, "token not parsed", jwt_t_hs256);
	jwt_key_free(&k);

	/* err may be NULL. */
	ck_assert_int_eq(jwt_parse(tok, "x", 1, NULL, 0), -1);
}
END_TEST

static Suite *
jwt_suite(void)
{
	Suite	*s = suite_create("jwt");
	TCase	*tc;

	tc = tcase_create("algorithms");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_alg_names);
	tcase_add_loop_test(tc, test_valid, 0, NVECS);
	tcase_add_loop_test(tc, test_bit_flipped, 0, NVECS);
	tcase_add_test(tc, test_other_rsa_key);
	suite_add_tcase(s, tc);

	tc = tcase_create("refused");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_alg_none);
	tcase_add_test(tc, test_alg_confusion);
	tcase_add_test(tc, test_alg_mismatch);
	tcase_add_test(tc, test_signature_length);
	tcase_add_test(tc, test_header);
	tcase_add_test(tc, test_not_parsed);
	suite_add_tcase(s, tc);

	tc = tcase_create("claims");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_exp_nbf);
	tcase_add_test(tc, test_dates_decimal);
	tcase_add_test(tc, test_dates_numbers);
	tcase_add_test(tc, test_no_exp);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_iss_aud);
	tcase_add_test(tc, test_claims);
	suite_add_tcase(s, tc);

	tc = tcase_create("syntax");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_segments);
	tcase_add_test(tc, test_base64url);
	tcase_add_test(tc, test_not_object);
	tcase_add_test(tc, test_bad_json);
	tcase_add_test(tc, test_utf8);
	tcase_add_test(tc, test_nesting);
	tcase_add_test(tc, test_size);
	suite_add_tcase(s, tc);

	tc = tcase_create("keys");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_key_public);
	tcase_add_test(tc, test_key_der);
	tcase_add_test(tc, test_key_secret);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(jwt_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
