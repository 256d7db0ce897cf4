/*
 * jwt.h -- JSON Web Token (RFC 7519) verification for client
 * authentication with the semantics of APISIX's jwt-auth plugin: the
 * consumer is looked up by the payload's "key" claim, then the token is
 * verified with that consumer's key.  JWS compact serialization only
 * (RFC 7515), signed with HS256/384/512, RS256/384/512 or ES256/384
 * (RFC 7518 section 3); no JWE, no "none", no nested tokens.
 *
 * Pure functions over memory: no I/O, no clock (the caller passes the
 * time).  jwt_parse() allocates nothing: a token is decoded into the
 * fixed buffers of struct jwt_token (and 6 KiB of stack).  jwt_verify()
 * allocates only what mbedTLS takes for RSA and ECDSA arithmetic, sized
 * by the key, never by the token.  Keys are set up once, at
 * configuration time, and allocate then.
 *
 * Error messages go into the caller's err buffer; they name the part of
 * the token and the claim that failed, never the signature, a secret or
 * a value of the token.
 *
 * With mbedTLS 3.x and MBEDTLS_PSA_CRYPTO_C, jwt_key_init_public() calls
 * psa_crypto_init() (idempotent), as ntls_config_new() does.
 */
#ifndef NET_JWT_H
#define NET_JWT_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/pk.h>

/* Algorithms ("alg", RFC 7518 section 3.1).  -1: unknown or refused. */
enum jwt_alg {
	JWT_HS256 = 0,
	JWT_HS384,
	JWT_HS512,
	JWT_RS256,
	JWT_RS384,
	JWT_RS512,
	JWT_ES256,
	JWT_ES384
};

#define JWT_TOKEN_MAX	8192	/* octets of a whole token */
#define JWT_SIG_MAX	1024	/* signature octets: RSA up to 8192 bits */
#define JWT_STR_MAX	256	/* a string claim, its NUL included */
#define JWT_AUD_MAX	8	/* entries of an "aud" array */
#define JWT_DEPTH_MAX	16	/* nesting of JSON objects and arrays */
#define JWT_RSA_MIN_BITS 2048	/* RFC 7518 section 3.3 */

/* One verification key, set up once from the configuration. */
struct jwt_key {
	int			 alg;		/* enum jwt_alg */
	uint8_t			*secret;	/* HS*: a copy, wiped on free */
	size_t			 secretlen;
	int			 have_pk;
	mbedtls_pk_context	 pk;		/* RS*, ES*: the public key */
};

/*
 * The claims read from the payload.  Strings are UTF-8 without NUL,
 * NUL-terminated here; a string claim longer than JWT_STR_MAX - 1 octets
 * or holding a NUL (\u0000) makes jwt_parse() fail.  Numeric dates are
 * the integer part (towards zero) of the JSON number, within
 * +-(2^53 - 1).  Members of the payload not named here are checked for
 * syntax only.
 */
struct jwt_claims {
	int	 has_key;
	char	 key[JWT_STR_MAX];	/* APISIX's consumer lookup claim */
	int	 has_iss;
	char	 iss[JWT_STR_MAX];
	int	 has_sub;
	char	 sub[JWT_STR_MAX];
	int	 has_aud;		/* a string (naud 1) or an array */
	size_t	 naud;
	char	 aud[JWT_AUD_MAX][JWT_STR_MAX];
	int	 has_exp, has_nbf, has_iat;
	int64_t	 exp, nbf, iat;
};

/*
 * A parsed token.  Large (about 14 KiB): allocate it or keep one per
 * thread, not in a deep stack.  Self-contained: it does not point into
 * the token text it was parsed from.
 */
struct jwt_token {
	int			 parsed;	/* 1 after a jwt_parse() that succeeded */
	int			 alg;		/* the header's, enum jwt_alg */
	struct jwt_claims	 claims;
	size_t			 inputlen;
	char			 input[JWT_TOKEN_MAX];	/* header.payload, signed */
	size_t			 siglen;
	uint8_t			 sig[JWT_SIG_MAX];
};

/*
 * The algorithm named name (case-sensitive, RFC 7515 section 4.1.1):
 * an enum jwt_alg, or -1 for "none" and every name not supported.
 */
int	 jwt_alg_parse(const char *name);
/* "HS256" ... for an enum jwt_alg; "?" for anything else. */
const char *jwt_alg_name(int alg);

/*
 * Set up key for an HS* alg with a copy of the len octets at secret
 * (len > 0; they may hold any octet).  Returns 0, or -1 with the reason
 * in err: an alg that is not HS*, an empty secret, out of memory.  On
 * -1 nothing is to be freed (jwt_key_free() is harmless).
 */
int	 jwt_key_init_secret(struct jwt_key *key, int alg,
	    const uint8_t *secret, size_t len, char *err, size_t errlen);
/*
 * Set up key for an RS* or ES* alg from a public key, PEM ("PUBLIC KEY"
 * or "RSA PUBLIC KEY") or DER, of len octets (a NUL at the end may be
 * counted or not).  The key must suit alg: RSA of at least
 * JWT_RSA_MIN_BITS bits for RS*, EC on P-256 for ES256 and on P-384 for
 * ES384.  Returns 0, or -1 with the reason in err; on -1 nothing is to
 * be freed.
 */
int	 jwt_key_init_public(struct jwt_key *key, int alg, const char *pem,
	    size_t len, char *err, size_t errlen);
/*
 * Wipe and free what key holds; harmless on a zeroed or freed key.  The
 * jwt_key_init_*() functions overwrite key without freeing it: free a key
 * before setting it up again.
 */
void	 jwt_key_free(struct jwt_key *key);

/*
 * Step 1: split the len octets of token (no NUL needed, none allowed)
 * and decode them without verifying anything but their form, so that
 * the caller can look the consumer up by t->claims.key (a token without
 * "key" parses: has_key is 0 and the caller decides).
 *
 * Refused, with the reason in err: a token longer than JWT_TOKEN_MAX, not
 * exactly three segments, a segment that is not unpadded canonical
 * base64url (RFC 7515 section 2), a header or payload that is not one
 * strict JSON object (RFC 8259, UTF-8, nested at most JWT_DEPTH_MAX
 * deep), a header without "alg", with alg "none" or one not supported,
 * with "crit" (no extension is understood), with a "typ" other than
 * "JWT" or "application/jwt" (ASCII case-insensitive), with "cty" "JWT"
 * (a nested token); a member named twice among those read here (alg,
 * typ, cty, crit; key, iss, sub, aud, exp, nbf, iat); a claim of the wrong
 * type; a signature longer than JWT_SIG_MAX.
 *
 * Returns 0 with t->parsed 1, or -1 with t->parsed 0.
 */
int	 jwt_parse(struct jwt_token *t, const char *token, size_t len,
	    char *err, size_t errlen);

/*
 * Step 2: verify t with key at time now (seconds since the epoch),
 * in this order:
 * - t->alg must equal key->alg (this also refuses an HS* token checked
 *   against an RSA or EC key: no algorithm confusion);
 * - the signature (HMAC compared in constant time; RSASSA-PKCS1-v1_5;
 *   ECDSA from the raw R || S of RFC 7518 section 3.4);
 * - "exp", if present: now < exp + leeway, else "token expired";
 * - "nbf", if present: now + leeway >= nbf, else "token not yet valid";
 * - iss, if not NULL: the "iss" claim must be present and equal;
 * - aud, if not NULL: "aud" must be present and equal it, or hold it
 *   among its entries.
 * leeway is in seconds, >= 0.  Returns 0, or -1 with the reason in err.
 *
 * key is const to the caller, but mbedTLS may fill caches inside key->pk
 * while it verifies (a Montgomery constant, EC precomputations): use a
 * key from one thread at a time.
 */
int	 jwt_verify(const struct jwt_token *t, const struct jwt_key *key,
	    double now, double leeway, const char *iss, const char *aud,
	    char *err, size_t errlen);

#endif /* NET_JWT_H */
