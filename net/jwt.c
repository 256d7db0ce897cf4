/*
 * jwt.c -- JSON Web Token verification (see jwt.h).
 *
 * Decisions, where the RFCs or the libraries leave a choice:
 *
 * - "typ" (RFC 7519 section 5.1) is optional; when present it must be
 *   "JWT" or "application/jwt", ASCII case-insensitive (media types are,
 *   RFC 7515 section 4.1.9).  APISIX and PyJWT ignore "typ"; we refuse
 *   other types ("at+jwt", "secevent+jwt"...) so that a token minted for
 *   another purpose is not taken for a client credential (RFC 8725
 *   section 3.11).  A "cty" of "JWT" (a nested token) is refused too.
 * - "crit" is refused whatever it lists: we understand no extension
 *   (RFC 7515 section 4.1.11), which also refuses "b64": false
 *   (RFC 7797).  "jwk", "jku", "x5u", "x5c" and "kid" are ignored: the
 *   key is always the consumer's, never one the token names.
 * - Duplicate member names (RFC 7515 and RFC 7519 section 4: reject
 *   them or take the last) are refused for the members read here;
 *   others are not tracked, as they are never used.
 * - Numeric dates: any JSON number; its integer part, towards zero, must
 *   be within +-(2^53 - 1) (what a JSON number holds exactly in most
 *   parsers).  Other numbers are checked for syntax only, whatever their
 *   size.
 * - exp: valid while now < exp + leeway (APISIX: exp > now - leeway;
 *   PyJWT: expired when exp <= now - leeway).  nbf: valid once
 *   now + leeway >= nbf (RFC 7519 section 4.1.5 and PyJWT; APISIX wants
 *   nbf < now + leeway, refusing the instant now + leeway == nbf).
 * - An RSA key shorter than 2048 bits is refused (RFC 7518 section 3.3
 *   says MUST).  An HMAC secret of any non-zero length is taken (the
 *   caller may warn about a short one, RFC 7518 section 3.2).
 * - ES256/ES384 signatures are the raw R || S of RFC 7518 section 3.4,
 *   exactly 64 or 96 octets; they are turned into the DER that
 *   mbedtls_pk_verify() takes, so only public mbedTLS API is used.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/version.h>
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C)
#include <psa/crypto.h>
#endif

#include "net/jwt.h"
#include "net/utf8.h"

/* Decoded header and payload: at most what JWT_TOKEN_MAX octets hold. */
#define JWT_JSON_MAX	(JWT_TOKEN_MAX / 4 * 3)
/* The largest integer part of a numeric date: 2^53 - 1. */
#define JWT_DATE_MAX	INT64_C(9007199254740991)
/* A decimal exponent is clamped to this: enough to overflow any date. */
#define JWT_EXP_CLAMP	100000L
/* Longest member name compared: "crit" and the claims are shorter. */
#define JWT_NAME_MAX	16
/* ES384: SEQUENCE of two INTEGERs of at most 1 + 48 octets each. */
#define JWT_ECDER_MAX	128

enum jwt_kind {
	JWT_K_HMAC,
	JWT_K_RSA,
	JWT_K_EC
};

struct jwt_alg_info {
	const char		*name;
	enum jwt_kind		 kind;
	mbedtls_md_type_t	 md;
	mbedtls_ecp_group_id	 curve;		/* ES*: the key's */
	const char		*curvename;
	size_t			 half;		/* ES*: R, S size */
};

/* Indexed by enum jwt_alg. */
static const struct jwt_alg_info jwt_algs[] = {
	{ "HS256", JWT_K_HMAC, MBEDTLS_MD_SHA256, MBEDTLS_ECP_DP_NONE, "", 0 },
	{ "HS384", JWT_K_HMAC, MBEDTLS_MD_SHA384, MBEDTLS_ECP_DP_NONE, "", 0 },
	{ "HS512", JWT_K_HMAC, MBEDTLS_MD_SHA512, MBEDTLS_ECP_DP_NONE, "", 0 },
	{ "RS256", JWT_K_RSA, MBEDTLS_MD_SHA256, MBEDTLS_ECP_DP_NONE, "", 0 },
	{ "RS384", JWT_K_RSA, MBEDTLS_MD_SHA384, MBEDTLS_ECP_DP_NONE, "", 0 },
	{ "RS512", JWT_K_RSA, MBEDTLS_MD_SHA512, MBEDTLS_ECP_DP_NONE, "", 0 },
	{ "ES256", JWT_K_EC, MBEDTLS_MD_SHA256, MBEDTLS_ECP_DP_SECP256R1,
	    "P-256", 32 },
	{ "ES384", JWT_K_EC, MBEDTLS_MD_SHA384, MBEDTLS_ECP_DP_SECP384R1,
	    "P-384", 48 },
};
#define JWT_NALGS	((int)(sizeof(jwt_algs) / sizeof(jwt_algs[0])))

/* Header members read, and payload claims: bits of jwt_json.seen. */
#define JWT_H_ALG	0x001
#define JWT_H_TYP	0x002
#define JWT_H_CTY	0x004
#define JWT_H_CRIT	0x008
#define JWT_C_KEY	0x010
#define JWT_C_ISS	0x020
#define JWT_C_SUB	0x040
#define JWT_C_AUD	0x080
#define JWT_C_EXP	0x100
#define JWT_C_NBF	0x200
#define JWT_C_IAT	0x400

/* A strict JSON reader over one decoded segment. */
struct jwt_json {
	const uint8_t	*start;
	const uint8_t	*p;
	const uint8_t	*end;
	int		 failed;
	int		 syntax;	/* the failure is bad JSON */
	size_t		 at;		/* where it was found */
	unsigned int	 seen;		/* JWT_H_*, JWT_C_* */
	char		 why[96];
};

/* Called with j->p at a member's value, which it must consume. */
typedef int	(*jwt_member_fn)(struct jwt_json *, const char *, size_t,
		    void *);

static void	 jwt_seterr(char *, size_t, const char *, ...)
		    __attribute__((__format__(__printf__, 3, 4)));
static int	 jwt_fail(struct jwt_json *, int, const char *, ...)
		    __attribute__((__format__(__printf__, 3, 4)));
static const struct jwt_alg_info *jwt_info(int);
static int	 jwt_b64_value(unsigned char);
static int	 jwt_b64url_decode(const char *, size_t, uint8_t *, size_t,
		    size_t *, const char **);
static void	 jwt_json_ws(struct jwt_json *);
static int	 jwt_json_hex4(struct jwt_json *, unsigned int *);
static int	 jwt_json_uescape(struct jwt_json *, uint8_t *, size_t *);
static int	 jwt_json_string(struct jwt_json *, char *, size_t, size_t *);
static int	 jwt_json_number(struct jwt_json *, int64_t *, int *);
static int	 jwt_json_literal(struct jwt_json *, const char *);
static int	 jwt_json_value(struct jwt_json *, int);
static int	 jwt_json_object(struct jwt_json *, jwt_member_fn, void *);
static int	 jwt_name_is(const char *, size_t, const char *);
static int	 jwt_once(struct jwt_json *, unsigned int, const char *);
static int	 jwt_header_member(struct jwt_json *, const char *, size_t,
		    void *);
static int	 jwt_claim_string(struct jwt_json *, const char *, char *,
		    int *);
static int	 jwt_claim_date(struct jwt_json *, const char *, int64_t *,
		    int *);
static int	 jwt_claim_aud(struct jwt_json *, struct jwt_claims *);
static int	 jwt_payload_member(struct jwt_json *, const char *, size_t,
		    void *);
static int	 jwt_segment(const char *, const char *, size_t, uint8_t *,
		    size_t, size_t *, char *, size_t);
static int	 jwt_json_parse(const char *, const uint8_t *, size_t,
		    jwt_member_fn, void *, char *, size_t);
static int	 jwt_ct_equal(const uint8_t *, const uint8_t *, size_t);
static size_t	 jwt_der_int(uint8_t *, const uint8_t *, size_t);
static size_t	 jwt_ec_der(const uint8_t *, size_t, uint8_t *);
static int	 jwt_verify_sig(const struct jwt_token *,
		    const struct jwt_key *, char *, size_t);
static mbedtls_ecp_group_id jwt_pk_curve(const mbedtls_pk_context *);

static void
jwt_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* The first failure sticks.  syntax: bad JSON rather than a bad claim. */
static int
jwt_fail(struct jwt_json *j, int syntax, const char *fmt, ...)
{
	va_list	 ap;

	if (j->failed)
		return -1;
	j->failed = 1;
	j->syntax = syntax;
	j->at = (size_t)(j->p - j->start);
	va_start(ap, fmt);
	(void)vsnprintf(j->why, sizeof(j->why), fmt, ap);
	va_end(ap);
	return -1;
}

static const struct jwt_alg_info *
jwt_info(int alg)
{
	if (alg < 0 || alg >= JWT_NALGS)
		return NULL;
	return &jwt_algs[alg];
}

int
jwt_alg_parse(const char *name)
{
	int	 i;

	if (name == NULL)
		return -1;
	for (i = 0; i < JWT_NALGS; i++)
		if (strcmp(name, jwt_algs[i].name) == 0)
			return i;
	return -1;
}

const char *
jwt_alg_name(int alg)
{
	const struct jwt_alg_info	*ai = jwt_info(alg);

	return ai != NULL ? ai->name : "?";
}

/* ---- base64url (RFC 4648 section 5), unpadded (RFC 7515 section 2) ---- */

static int
jwt_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Decode the n characters at in into out (cap octets), *outlen octets.
 * Unused bits of the last character must be zero, so that a token has
 * one spelling.  Returns 0, or -1 with *why set.
 */
static int
jwt_b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap,
    size_t *outlen, const char **why)
{
	uint32_t	 acc = 0;
	size_t		 i, o = 0, need;
	int		 v = 0, bits = 0;

	*outlen = 0;
	for (i = 0; i < n; i++) {
		if (in[i] == '=') {
			*why = "base64url padding is not allowed";
			return -1;
		}
		if (jwt_b64_value((unsigned char)in[i]) == -1) {
			*why = "invalid base64url character";
			return -1;
		}
	}
	if (n % 4 == 1) {
		*why = "truncated base64url";
		return -1;
	}
	need = n / 4 * 3 + (n % 4 != 0 ? n % 4 - 1 : 0);
	if (need > cap) {
		*why = "too long";
		return -1;
	}
	for (i = 0; i < n; i++) {
		v = jwt_b64_value((unsigned char)in[i]);
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1U << bits) - 1;
		}
	}
	/* 2 characters leave 4 bits over, 3 leave 2: they must be zero. */
	if (acc != 0) {
		*why = "non-canonical base64url (unused bits set)";
		return -1;
	}
	*outlen = o;
	return 0;
}

/* ---- a strict, bounded JSON reader (RFC 8259) ---- */

static void
jwt_json_ws(struct jwt_json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
	    *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int
jwt_json_hex4(struct jwt_json *j, unsigned int *cp)
{
	unsigned int	 v = 0;
	int		 i;
	uint8_t		 c;

	if (j->end - j->p < 4)
		return jwt_fail(j, 1, "truncated \\u escape");
	for (i = 0; i < 4; i++) {
		c = *j->p;
		if (c >= '0' && c <= '9')
			v = v * 16 + (c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + (c - 'A' + 10);
		else
			return jwt_fail(j, 1, "bad \\u escape");
		j->p++;
	}
	*cp = v;
	return 0;
}

/*
 * After "\u": one code point, two escapes for a surrogate pair, as
 * UTF-8 into u (4 octets), *k octets.
 */
static int
jwt_json_uescape(struct jwt_json *j, uint8_t *u, size_t *k)
{
	unsigned int	 cp, lo;
	size_t		 n = 0;

	if (jwt_json_hex4(j, &cp) == -1)
		return -1;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return jwt_fail(j, 1, "unpaired surrogate in a string");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
			return jwt_fail(j, 1, "unpaired surrogate in a string");
		j->p += 2;
		if (jwt_json_hex4(j, &lo) == -1)
			return -1;
		if (lo < 0xdc00 || lo > 0xdfff)
			return jwt_fail(j, 1, "unpaired surrogate in a string");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (cp < 0x80) {
		u[n++] = (uint8_t)cp;
	} else if (cp < 0x800) {
		u[n++] = (uint8_t)(0xc0 | (cp >> 6));
		u[n++] = (uint8_t)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		u[n++] = (uint8_t)(0xe0 | (cp >> 12));
		u[n++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		u[n++] = (uint8_t)(0x80 | (cp & 0x3f));
	} else {
		u[n++] = (uint8_t)(0xf0 | (cp >> 18));
		u[n++] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		u[n++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		u[n++] = (uint8_t)(0x80 | (cp & 0x3f));
	}
	*k = n;
	return 0;
}

/*
 * A string, j->p at its opening quote.  Its UTF-8 goes to out, cap
 * octets at most (out may be NULL with cap 0); *len is its whole length,
 * which may exceed cap.  Escapes are decoded (\uXXXX with surrogate
 * pairs to UTF-8); raw control characters, invalid UTF-8 and unpaired
 * surrogates are errors.
 */
static int
jwt_json_string(struct jwt_json *j, char *out, size_t cap, size_t *len)
{
	uint8_t		 u[4];
	unsigned int	 st;
	size_t		 n = 0, k, i;
	uint8_t		 c;

	j->p++;				/* the opening quote */
	for (;;) {
		if (j->p >= j->end)
			return jwt_fail(j, 1, "unterminated string");
		c = *j->p;
		if (c == '"') {
			j->p++;
			break;
		}
		if (c < 0x20)
			return jwt_fail(j, 1, "control character in a string");
		k = 0;
		if (c == '\\') {
			if (++j->p >= j->end)
				return jwt_fail(j, 1, "unterminated string");
			c = *j->p++;
			switch (c) {
			case '"':
			case '\\':
			case '/':
				u[k++] = c;
				break;
			case 'b':
				u[k++] = '\b';
				break;
			case 'f':
				u[k++] = '\f';
				break;
			case 'n':
				u[k++] = '\n';
				break;
			case 'r':
				u[k++] = '\r';
				break;
			case 't':
				u[k++] = '\t';
				break;
			case 'u':
				if (jwt_json_uescape(j, u, &k) == -1)
					return -1;
				break;
			default:
				j->p--;
				return jwt_fail(j, 1, "bad escape in a string");
			}
		} else if (c < 0x80) {
			u[k++] = c;
			j->p++;
		} else {
			/* One whole UTF-8 character, checked strictly. */
			st = UTF8_ACCEPT;
			do {
				if (j->p >= j->end || k == sizeof(u))
					return jwt_fail(j, 1,
					    "invalid UTF-8 in a string");
				st = utf8_next(st, *j->p);
				if (st == UTF8_REJECT)
					return jwt_fail(j, 1,
					    "invalid UTF-8 in a string");
				u[k++] = *j->p++;
			} while (st != UTF8_ACCEPT);
		}
		for (i = 0; i < k; i++, n++)
			if (n < cap)
				out[n] = (char)u[i];
	}
	*len = n;
	return 0;
}

/*
 * A number, j->p at its first character.  If ip is not NULL, *ip is its
 * integer part (towards zero), and *inrange 0 if that is beyond
 * +-JWT_DATE_MAX.
 */
static int
jwt_json_number(struct jwt_json *j, int64_t *ip, int *inrange)
{
	const uint8_t	*digits, *q;
	int64_t		 v = 0;
	long		 e = 0, pos, nint = 0, ndig = 0;
	int		 neg = 0, eneg = 0, big = 0;

	if (j->p < j->end && *j->p == '-') {
		neg = 1;
		j->p++;
	}
	digits = j->p;
	if (j->p >= j->end || *j->p < '0' || *j->p > '9')
		return jwt_fail(j, 1, "invalid number");
	if (*j->p == '0') {
		j->p++;
		if (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			return jwt_fail(j, 1, "leading zero in a number");
	} else {
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	nint = j->p - digits;
	ndig = nint;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return jwt_fail(j, 1, "invalid number");
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
			j->p++;
			ndig++;
		}
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			eneg = *j->p++ == '-';
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return jwt_fail(j, 1, "invalid number");
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
			if (e < JWT_EXP_CLAMP)
				e = e * 10 + (*j->p - '0');
			j->p++;
		}
		if (eneg)
			e = -e;
	}
	if (ip == NULL)
		return 0;

	/*
	 * The digits, the integer ones then the fraction's, stand for
	 * 10^pos each, pos going down from nint - 1 + e; those with
	 * pos < 0 are the fraction that is dropped.
	 */
	pos = nint - 1 + e;
	for (q = digits; ndig > 0 && pos >= 0; q++) {
		if (*q == '.')
			continue;
		if (v > (JWT_DATE_MAX - (*q - '0')) / 10)
			big = 1;
		else
			v = v * 10 + (*q - '0');
		ndig--;
		pos--;
	}
	/* The digits ran out above 10^0: trailing zeros from e. */
	for (; pos >= 0 && v != 0 && !big; pos--) {
		if (v > JWT_DATE_MAX / 10)
			big = 1;
		else
			v *= 10;
	}
	*ip = neg ? -v : v;
	*inrange = !big;
	return 0;
}

static int
jwt_json_literal(struct jwt_json *j, const char *lit)
{
	size_t	 n = strlen(lit);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return jwt_fail(j, 1, "unexpected character");
	j->p += n;
	return 0;
}

/* Any value, checked and skipped; depth: the objects and arrays around it. */
static int
jwt_json_value(struct jwt_json *j, int depth)
{
	size_t	 n;

	if (j->p >= j->end)
		return jwt_fail(j, 1, "unexpected end");
	switch (*j->p) {
	case '{':
	case '[':
		if (depth + 1 > JWT_DEPTH_MAX)
			return jwt_fail(j, 1, "nested too deep (more than %d)",
			    JWT_DEPTH_MAX);
		if (*j->p == '{') {
			j->p++;
			jwt_json_ws(j);
			if (j->p < j->end && *j->p == '}') {
				j->p++;
				return 0;
			}
			for (;;) {
				if (j->p >= j->end || *j->p != '"')
					return jwt_fail(j, 1,
					    "expected a member name");
				if (jwt_json_string(j, NULL, 0, &n) == -1)
					return -1;
				jwt_json_ws(j);
				if (j->p >= j->end || *j->p != ':')
					return jwt_fail(j, 1, "expected ':'");
				j->p++;
				jwt_json_ws(j);
				if (jwt_json_value(j, depth + 1) == -1)
					return -1;
				jwt_json_ws(j);
				if (j->p < j->end && *j->p == ',') {
					j->p++;
					jwt_json_ws(j);
					continue;
				}
				if (j->p < j->end && *j->p == '}') {
					j->p++;
					return 0;
				}
				return jwt_fail(j, 1, "expected ',' or '}'");
			}
		}
		j->p++;
		jwt_json_ws(j);
		if (j->p < j->end && *j->p == ']') {
			j->p++;
			return 0;
		}
		for (;;) {
			if (jwt_json_value(j, depth + 1) == -1)
				return -1;
			jwt_json_ws(j);
			if (j->p < j->end && *j->p == ',') {
				j->p++;
				jwt_json_ws(j);
				continue;
			}
			if (j->p < j->end && *j->p == ']') {
				j->p++;
				return 0;
			}
			return jwt_fail(j, 1, "expected ',' or ']'");
		}
	case '"':
		return jwt_json_string(j, NULL, 0, &n);
	case 't':
		return jwt_json_literal(j, "true");
	case 'f':
		return jwt_json_literal(j, "false");
	case 'n':
		return jwt_json_literal(j, "null");
	default:
		if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
			return jwt_json_number(j, NULL, NULL);
		return jwt_fail(j, 1, "unexpected character");
	}
}

/*
 * The whole input must be one object (whitespace around it allowed);
 * fn gets each member's name (cut to JWT_NAME_MAX - 1 octets, nlen
 * being its whole length) with j->p at the value.
 */
static int
jwt_json_object(struct jwt_json *j, jwt_member_fn fn, void *arg)
{
	char	 name[JWT_NAME_MAX];
	size_t	 n;

	jwt_json_ws(j);
	if (j->p >= j->end || *j->p != '{')
		return jwt_fail(j, 0, "not a JSON object");
	j->p++;
	jwt_json_ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
	} else {
		for (;;) {
			if (j->p >= j->end || *j->p != '"')
				return jwt_fail(j, 1, "expected a member name");
			if (jwt_json_string(j, name, sizeof(name), &n) == -1)
				return -1;
			jwt_json_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return jwt_fail(j, 1, "expected ':'");
			j->p++;
			jwt_json_ws(j);
			if (j->p >= j->end)
				return jwt_fail(j, 1, "unexpected end");
			if (fn(j, name, n, arg) == -1)
				return -1;
			jwt_json_ws(j);
			if (j->p < j->end && *j->p == ',') {
				j->p++;
				jwt_json_ws(j);
				continue;
			}
			if (j->p < j->end && *j->p == '}') {
				j->p++;
				break;
			}
			return jwt_fail(j, 1, "expected ',' or '}'");
		}
	}
	jwt_json_ws(j);
	if (j->p != j->end)
		return jwt_fail(j, 1, "trailing characters after the object");
	return 0;
}

/* The member name (n octets, cut to JWT_NAME_MAX - 1) is s. */
static int
jwt_name_is(const char *name, size_t n, const char *s)
{
	return n == strlen(s) && n < JWT_NAME_MAX && memcmp(name, s, n) == 0;
}

static int
jwt_once(struct jwt_json *j, unsigned int bit, const char *what)
{
	if (j->seen & bit)
		return jwt_fail(j, 0, "duplicate %s", what);
	j->seen |= bit;
	return 0;
}

/* ---- the header (RFC 7515 section 4.1) ---- */

static int
jwt_header_member(struct jwt_json *j, const char *name, size_t nlen,
    void *arg)
{
	struct jwt_token	*t = arg;
	char			 v[JWT_NAME_MAX];
	size_t			 n;

	if (jwt_name_is(name, nlen, "alg")) {
		if (jwt_once(j, JWT_H_ALG, "alg") == -1)
			return -1;
		if (*j->p != '"')
			return jwt_fail(j, 0, "alg is not a string");
		if (jwt_json_string(j, v, sizeof(v), &n) == -1)
			return -1;
		if (n == 4 && memcmp(v, "none", 4) == 0)
			return jwt_fail(j, 0, "alg none is not accepted");
		if (n >= sizeof(v) || memchr(v, '\0', n) != NULL)
			return jwt_fail(j, 0, "unsupported alg");
		v[n] = '\0';
		if ((t->alg = jwt_alg_parse(v)) == -1)
			return jwt_fail(j, 0, "unsupported alg");
		return 0;
	}
	if (jwt_name_is(name, nlen, "typ")) {
		if (jwt_once(j, JWT_H_TYP, "typ") == -1)
			return -1;
		if (*j->p != '"')
			return jwt_fail(j, 0, "typ is not a string");
		if (jwt_json_string(j, v, sizeof(v), &n) == -1)
			return -1;
		if (!(n == 3 && strncasecmp(v, "JWT", 3) == 0) &&
		    !(n == 15 && strncasecmp(v, "application/jwt", 15) == 0))
			return jwt_fail(j, 0, "typ is not JWT");
		return 0;
	}
	if (jwt_name_is(name, nlen, "cty")) {
		if (jwt_once(j, JWT_H_CTY, "cty") == -1)
			return -1;
		if (*j->p != '"')
			return jwt_fail(j, 0, "cty is not a string");
		if (jwt_json_string(j, v, sizeof(v), &n) == -1)
			return -1;
		if ((n == 3 && strncasecmp(v, "JWT", 3) == 0) ||
		    (n == 15 && strncasecmp(v, "application/jwt", 15) == 0))
			return jwt_fail(j, 0, "nested tokens (cty JWT) are "
			    "not supported");
		return 0;
	}
	if (jwt_name_is(name, nlen, "crit"))
		return jwt_fail(j, 0, "crit is not supported (no extension "
		    "is understood)");
	return jwt_json_value(j, 1);
}

/* ---- the claims (RFC 7519 section 4.1) ---- */

static int
jwt_claim_string(struct jwt_json *j, const char *what, char *out, int *has)
{
	size_t	 n;

	if (*j->p != '"')
		return jwt_fail(j, 0, "claim %s is not a string", what);
	if (jwt_json_string(j, out, JWT_STR_MAX, &n) == -1)
		return -1;
	if (n >= JWT_STR_MAX)
		return jwt_fail(j, 0, "claim %s is longer than %d octets",
		    what, JWT_STR_MAX - 1);
	if (memchr(out, '\0', n) != NULL)
		return jwt_fail(j, 0, "claim %s holds a NUL", what);
	out[n] = '\0';
	*has = 1;
	return 0;
}

static int
jwt_claim_date(struct jwt_json *j, const char *what, int64_t *v, int *has)
{
	int	 inrange = 0;

	if (*j->p != '-' && (*j->p < '0' || *j->p > '9'))
		return jwt_fail(j, 0, "claim %s is not a number", what);
	if (jwt_json_number(j, v, &inrange) == -1)
		return -1;
	if (!inrange)
		return jwt_fail(j, 0, "claim %s is out of range", what);
	*has = 1;
	return 0;
}

/* "aud": a string or an array of at most JWT_AUD_MAX strings. */
static int
jwt_claim_aud(struct jwt_json *j, struct jwt_claims *c)
{
	int	 has;

	if (*j->p == '"') {
		if (jwt_claim_string(j, "aud", c->aud[0], &has) == -1)
			return -1;
		c->naud = 1;
		c->has_aud = 1;
		return 0;
	}
	if (*j->p != '[')
		return jwt_fail(j, 0, "claim aud is not a string or an array");
	j->p++;
	jwt_json_ws(j);
	c->has_aud = 1;
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return 0;
	}
	for (;;) {
		if (j->p >= j->end)
			return jwt_fail(j, 1, "unexpected end");
		if (c->naud == JWT_AUD_MAX)
			return jwt_fail(j, 0, "claim aud has more than %d "
			    "entries", JWT_AUD_MAX);
		if (*j->p == ']')
			return jwt_fail(j, 1, "unexpected character");
		if (*j->p != '"')
			return jwt_fail(j, 0, "claim aud holds a non-string");
		if (jwt_claim_string(j, "aud", c->aud[c->naud], &has) == -1)
			return -1;
		c->naud++;
		jwt_json_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			jwt_json_ws(j);
			continue;
		}
		if (j->p < j->end && *j->p == ']') {
			j->p++;
			return 0;
		}
		return jwt_fail(j, 1, "expected ',' or ']'");
	}
}

static int
jwt_payload_member(struct jwt_json *j, const char *name, size_t nlen,
    void *arg)
{
	struct jwt_claims	*c = arg;

	if (jwt_name_is(name, nlen, "key"))
		return jwt_once(j, JWT_C_KEY, "claim key") == -1 ? -1 :
		    jwt_claim_string(j, "key", c->key, &c->has_key);
	if (jwt_name_is(name, nlen, "iss"))
		return jwt_once(j, JWT_C_ISS, "claim iss") == -1 ? -1 :
		    jwt_claim_string(j, "iss", c->iss, &c->has_iss);
	if (jwt_name_is(name, nlen, "sub"))
		return jwt_once(j, JWT_C_SUB, "claim sub") == -1 ? -1 :
		    jwt_claim_string(j, "sub", c->sub, &c->has_sub);
	if (jwt_name_is(name, nlen, "aud"))
		return jwt_once(j, JWT_C_AUD, "claim aud") == -1 ? -1 :
		    jwt_claim_aud(j, c);
	if (jwt_name_is(name, nlen, "exp"))
		return jwt_once(j, JWT_C_EXP, "claim exp") == -1 ? -1 :
		    jwt_claim_date(j, "exp", &c->exp, &c->has_exp);
	if (jwt_name_is(name, nlen, "nbf"))
		return jwt_once(j, JWT_C_NBF, "claim nbf") == -1 ? -1 :
		    jwt_claim_date(j, "nbf", &c->nbf, &c->has_nbf);
	if (jwt_name_is(name, nlen, "iat"))
		return jwt_once(j, JWT_C_IAT, "claim iat") == -1 ? -1 :
		    jwt_claim_date(j, "iat", &c->iat, &c->has_iat);
	return jwt_json_value(j, 1);
}

/* ---- parsing ---- */

static int
jwt_segment(const char *what, const char *s, size_t n, uint8_t *out,
    size_t cap, size_t *outlen, char *err, size_t errlen)
{
	const char	*why = NULL;

	if (jwt_b64url_decode(s, n, out, cap, outlen, &why) == -1) {
		jwt_seterr(err, errlen, "%s: %s", what, why);
		return -1;
	}
	return 0;
}

static int
jwt_json_parse(const char *what, const uint8_t *buf, size_t len,
    jwt_member_fn fn, void *arg, char *err, size_t errlen)
{
	struct jwt_json	 j;

	memset(&j, 0, sizeof(j));
	j.start = j.p = buf;
	j.end = buf + len;
	if (jwt_json_object(&j, fn, arg) == 0)
		return 0;
	if (j.syntax)
		jwt_seterr(err, errlen, "%s: bad JSON at octet %zu: %s", what,
		    j.at, j.why);
	else
		jwt_seterr(err, errlen, "%s: %s", what, j.why);
	return -1;
}

int
jwt_parse(struct jwt_token *t, const char *token, size_t len, char *err,
    size_t errlen)
{
	uint8_t		 buf[JWT_JSON_MAX];
	const char	*d1, *d2;
	size_t		 n, i, nseg;

	t->parsed = 0;
	t->alg = -1;
	t->inputlen = 0;
	t->siglen = 0;
	memset(&t->claims, 0, sizeof(t->claims));
	jwt_seterr(err, errlen, "%s", "");

	if (len == 0) {
		jwt_seterr(err, errlen, "empty token");
		return -1;
	}
	if (len > JWT_TOKEN_MAX) {
		jwt_seterr(err, errlen, "token longer than %d octets",
		    JWT_TOKEN_MAX);
		return -1;
	}
	for (i = 0, nseg = 1; i < len; i++)
		if (token[i] == '.')
			nseg++;
	if (nseg != 3) {
		jwt_seterr(err, errlen, "token has %zu segment%s, not 3", nseg,
		    nseg == 1 ? "" : "s");
		return -1;
	}
	d1 = memchr(token, '.', len);
	d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token));

	if (jwt_segment("header", token, (size_t)(d1 - token), buf,
	    sizeof(buf), &n, err, errlen) == -1)
		return -1;
	if (jwt_json_parse("header", buf, n, jwt_header_member, t, err,
	    errlen) == -1)
		goto fail;
	if (t->alg == -1) {
		jwt_seterr(err, errlen, "header: no alg");
		return -1;
	}

	if (jwt_segment("payload", d1 + 1, (size_t)(d2 - d1 - 1), buf,
	    sizeof(buf), &n, err, errlen) == -1)
		goto fail;
	if (jwt_json_parse("payload", buf, n, jwt_payload_member,
	    &t->claims, err, errlen) == -1)
		goto fail;

	if (jwt_segment("signature", d2 + 1, len - (size_t)(d2 + 1 - token),
	    t->sig, sizeof(t->sig), &t->siglen, err, errlen) == -1)
		goto fail;

	t->inputlen = (size_t)(d2 - token);
	memcpy(t->input, token, t->inputlen);
	t->parsed = 1;
	return 0;
fail:
	t->alg = -1;
	memset(&t->claims, 0, sizeof(t->claims));
	t->siglen = 0;
	return -1;
}

/* ---- keys ---- */

int
jwt_key_init_secret(struct jwt_key *key, int alg, const uint8_t *secret,
    size_t len, char *err, size_t errlen)
{
	const struct jwt_alg_info	*ai = jwt_info(alg);

	memset(key, 0, sizeof(*key));
	key->alg = -1;
	if (ai == NULL) {
		jwt_seterr(err, errlen, "unsupported alg");
		return -1;
	}
	if (ai->kind != JWT_K_HMAC) {
		jwt_seterr(err, errlen, "alg %s takes a public key, not a "
		    "secret", ai->name);
		return -1;
	}
	if (len == 0) {
		jwt_seterr(err, errlen, "alg %s: empty secret", ai->name);
		return -1;
	}
	if ((key->secret = malloc(len)) == NULL) {
		jwt_seterr(err, errlen, "out of memory");
		return -1;
	}
	memcpy(key->secret, secret, len);
	key->secretlen = len;
	key->alg = alg;
	return 0;
}

/* The curve of an EC key. */
static mbedtls_ecp_group_id
jwt_pk_curve(const mbedtls_pk_context *pk)
{
#if MBEDTLS_VERSION_NUMBER >= 0x03060000
	return mbedtls_ecp_keypair_get_group_id(mbedtls_pk_ec(*pk));
#elif MBEDTLS_VERSION_NUMBER >= 0x03000000
	return mbedtls_pk_ec(*pk)->MBEDTLS_PRIVATE(grp).id;
#else
	return mbedtls_pk_ec(*pk)->grp.id;
#endif
}

int
jwt_key_init_public(struct jwt_key *key, int alg, const char *pem,
    size_t len, char *err, size_t errlen)
{
	const struct jwt_alg_info	*ai = jwt_info(alg);
	const mbedtls_ecp_curve_info	*ci;
	mbedtls_ecp_group_id		 gid;
	mbedtls_pk_type_t		 type;
	unsigned char			*buf = NULL;
	size_t				 n = len;
	char				 r[160];
	int				 ret;

	memset(key, 0, sizeof(*key));
	key->alg = -1;
	if (ai == NULL) {
		jwt_seterr(err, errlen, "unsupported alg");
		return -1;
	}
	if (ai->kind == JWT_K_HMAC) {
		jwt_seterr(err, errlen, "alg %s takes a secret, not a public "
		    "key", ai->name);
		return -1;
	}
	if (len == 0) {
		jwt_seterr(err, errlen, "alg %s: empty public key", ai->name);
		return -1;
	}
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C)
	if (psa_crypto_init() != PSA_SUCCESS) {
		jwt_seterr(err, errlen, "cannot initialise PSA crypto");
		return -1;
	}
#endif
	mbedtls_pk_init(&key->pk);
	/* PEM must end with a NUL that keylen counts; DER must not. */
	if ((unsigned char)pem[0] == 0x30) {
		ret = mbedtls_pk_parse_public_key(&key->pk,
		    (const unsigned char *)pem, len);
	} else {
		if (pem[len - 1] == '\0')
			n = len - 1;
		if ((buf = malloc(n + 1)) == NULL) {
			mbedtls_pk_free(&key->pk);
			jwt_seterr(err, errlen, "out of memory");
			return -1;
		}
		memcpy(buf, pem, n);
		buf[n] = '\0';
		ret = mbedtls_pk_parse_public_key(&key->pk, buf, n + 1);
		free(buf);
	}
	if (ret != 0) {
		mbedtls_strerror(ret, r, sizeof(r));
		jwt_seterr(err, errlen, "alg %s: cannot read the public key: "
		    "%s (-0x%04X)", ai->name, r, (unsigned int)-ret);
		goto fail;
	}
	type = mbedtls_pk_get_type(&key->pk);
	if (ai->kind == JWT_K_RSA) {
		if (type != MBEDTLS_PK_RSA) {
			jwt_seterr(err, errlen, "alg %s needs an RSA key, not "
			    "%s", ai->name, mbedtls_pk_get_name(&key->pk));
			goto fail;
		}
		if (mbedtls_pk_get_bitlen(&key->pk) < JWT_RSA_MIN_BITS) {
			jwt_seterr(err, errlen, "alg %s: RSA key of %zu bits, "
			    "at least %d needed", ai->name,
			    mbedtls_pk_get_bitlen(&key->pk), JWT_RSA_MIN_BITS);
			goto fail;
		}
	} else {
		if (type != MBEDTLS_PK_ECKEY && type != MBEDTLS_PK_ECDSA) {
			jwt_seterr(err, errlen, "alg %s needs an EC key, not "
			    "%s", ai->name, mbedtls_pk_get_name(&key->pk));
			goto fail;
		}
		if ((gid = jwt_pk_curve(&key->pk)) != ai->curve) {
			ci = mbedtls_ecp_curve_info_from_grp_id(gid);
			jwt_seterr(err, errlen, "alg %s needs a key on %s, not "
			    "on %s", ai->name, ai->curvename,
			    ci != NULL ? ci->name : "another curve");
			goto fail;
		}
	}
	key->have_pk = 1;
	key->alg = alg;
	return 0;
fail:
	mbedtls_pk_free(&key->pk);
	memset(key, 0, sizeof(*key));
	key->alg = -1;
	return -1;
}

void
jwt_key_free(struct jwt_key *key)
{
	if (key == NULL)
		return;
	if (key->secret != NULL) {
		mbedtls_platform_zeroize(key->secret, key->secretlen);
		free(key->secret);
	}
	if (key->have_pk)
		mbedtls_pk_free(&key->pk);
	mbedtls_platform_zeroize(key, sizeof(*key));
	key->alg = -1;
}

/* ---- verification ---- */

static int
jwt_ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	volatile uint8_t	 d = 0;
	size_t			 i;

	for (i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

/* A DER INTEGER from n big-endian octets (n <= 48), at out. */
static size_t
jwt_der_int(uint8_t *out, const uint8_t *v, size_t n)
{
	size_t	 pad;

	while (n > 0 && v[0] == 0) {
		v++;
		n--;
	}
	out[0] = 0x02;
	if (n == 0) {
		out[1] = 1;
		out[2] = 0;
		return 3;
	}
	pad = (v[0] & 0x80) != 0;
	out[1] = (uint8_t)(n + pad);
	if (pad)
		out[2] = 0;
	memcpy(out + 2 + pad, v, n);
	return 2 + pad + n;
}

/*
 * R || S (2 * half octets, half <= 48) to the DER ECDSA-Sig-Value
 * (RFC 5480 section 2.2.3) in out (JWT_ECDER_MAX octets); its length.
 * At most 2 + 2 * 51 octets: short-form lengths only.
 */
static size_t
jwt_ec_der(const uint8_t *sig, size_t half, uint8_t *out)
{
	size_t	 n;

	n = jwt_der_int(out + 2, sig, half);
	n += jwt_der_int(out + 2 + n, sig + half, half);
	out[0] = 0x30;
	out[1] = (uint8_t)n;
	return 2 + n;
}

static int
jwt_verify_sig(const struct jwt_token *t, const struct jwt_key *key,
    char *err, size_t errlen)
{
	const struct jwt_alg_info	*ai = jwt_info(key->alg);
	const mbedtls_md_info_t		*mi;
	uint8_t				 h[MBEDTLS_MD_MAX_SIZE];
	uint8_t				 der[JWT_ECDER_MAX];
	size_t				 hlen, want, dlen;
	int				 ok;

	if ((mi = mbedtls_md_info_from_type(ai->md)) == NULL) {
		jwt_seterr(err, errlen, "alg %s: hash not available",
		    ai->name);
		return -1;
	}
	hlen = mbedtls_md_get_size(mi);
	switch (ai->kind) {
	case JWT_K_HMAC:
		want = hlen;
		break;
	case JWT_K_RSA:
		want = mbedtls_pk_get_len(&key->pk);
		break;
	default:
		want = 2 * ai->half;
		break;
	}
	if (t->siglen != want) {
		jwt_seterr(err, errlen, "signature of %zu octets, %s with "
		    "this key makes %zu", t->siglen, ai->name, want);
		return -1;
	}
	if (ai->kind == JWT_K_HMAC) {
		if (mbedtls_md_hmac(mi, key->secret, key->secretlen,
		    (const unsigned char *)t->input, t->inputlen, h) != 0) {
			jwt_seterr(err, errlen, "alg %s: HMAC failed",
			    ai->name);
			return -1;
		}
		ok = jwt_ct_equal(h, t->sig, hlen);
		mbedtls_platform_zeroize(h, sizeof(h));
	} else {
		if (mbedtls_md(mi, (const unsigned char *)t->input,
		    t->inputlen, h) != 0) {
			jwt_seterr(err, errlen, "alg %s: hash failed",
			    ai->name);
			return -1;
		}
		if (ai->kind == JWT_K_RSA) {
			ok = mbedtls_pk_verify((mbedtls_pk_context *)&key->pk,
			    ai->md, h, hlen, t->sig, t->siglen) == 0;
		} else {
			dlen = jwt_ec_der(t->sig, ai->half, der);
			ok = mbedtls_pk_verify((mbedtls_pk_context *)&key->pk,
			    ai->md, h, hlen, der, dlen) == 0;
		}
	}
	if (!ok) {
		jwt_seterr(err, errlen, "signature does not verify");
		return -1;
	}
	return 0;
}

int
jwt_verify(const struct jwt_token *t, const struct jwt_key *key,
    double now, double leeway, const char *iss, const char *aud, char *err,
    size_t errlen)
{
	const struct jwt_claims		*c = &t->claims;
	const struct jwt_alg_info	*ai = jwt_info(key->alg);
	size_t				 i;

	jwt_seterr(err, errlen, "%s", "");
	if (!t->parsed) {
		jwt_seterr(err, errlen, "token not parsed");
		return -1;
	}
	if (ai == NULL || (ai->kind == JWT_K_HMAC ? key->secret == NULL :
	    !key->have_pk)) {
		jwt_seterr(err, errlen, "no key");
		return -1;
	}
	if (!isfinite(now) || !isfinite(leeway) || leeway < 0) {
		jwt_seterr(err, errlen, "invalid time or leeway");
		return -1;
	}
	if (t->alg != key->alg) {
		jwt_seterr(err, errlen, "token alg %s does not match the "
		    "key's %s", jwt_alg_name(t->alg), jwt_alg_name(key->alg));
		return -1;
	}
	if (jwt_verify_sig(t, key, err, errlen) == -1)
		return -1;
	if (c->has_exp && !(now < (double)c->exp + leeway)) {
		jwt_seterr(err, errlen, "token expired");
		return -1;
	}
	if (c->has_nbf && !(now + leeway >= (double)c->nbf)) {
		jwt_seterr(err, errlen, "token not yet valid");
		return -1;
	}
	if (iss != NULL) {
		if (!c->has_iss) {
			jwt_seterr(err, errlen, "no iss claim");
			return -1;
		}
		if (strcmp(c->iss, iss) != 0) {
			jwt_seterr(err, errlen, "iss claim does not match");
			return -1;
		}
	}
	if (aud != NULL) {
		if (!c->has_aud) {
			jwt_seterr(err, errlen, "no aud claim");
			return -1;
		}
		for (i = 0; i < c->naud; i++)
			if (strcmp(c->aud[i], aud) == 0)
				break;
		if (i == c->naud) {
			jwt_seterr(err, errlen, "aud claim does not match");
			return -1;
		}
	}
	return 0;
}
