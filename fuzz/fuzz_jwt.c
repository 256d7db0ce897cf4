/*
 * fuzz_jwt.c -- libFuzzer target: JSON Web Token parsing and verification
 * (net/jwt.c) against fixed keys.
 *
 * Input: a control octet, then the token.  The control octet picks the
 * clock (bits 0-3: JWT_T_NOW plus 0, +-10^k seconds) and the leeway
 * (bits 4-5: 0, 1, 60 or 3600 s); bit 6 asks for iss and aud.  The
 * token is parsed, then verified with an HS256 key, an RS256 key and an
 * ES256 key (those of tests/data/jwt/vectors.h, so that the seeds of
 * fuzz/corpus/fuzz_jwt/ reach the signature checks and the claims).
 *
 * Besides the sanitizers' checks (leaks included):
 * - parse and verify answer 0 or -1, and -1 with a message of printable
 *   ASCII that never quotes the input;
 * - a parsed token has a known alg, NUL-terminated claims that fit,
 *   at most JWT_AUD_MAX audiences, a signed input that is the token's
 *   text up to its last dot, and parsing again gives the same;
 * - a token verifies only with the key of its own alg.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/jwt.h"
#include "tests/data/jwt/vectors.h"

int	 LLVMFuzzerInitialize(int *, char ***);
int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct jwt_key	 khs, krs, kes;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	 err[256];

	(void)argc;
	(void)argv;
	if (jwt_key_init_secret(&khs, JWT_HS256,
	    (const uint8_t *)JWT_T_SECRET, strlen(JWT_T_SECRET), err,
	    sizeof(err)) == -1 ||
	    jwt_key_init_public(&krs, JWT_RS256, jwt_t_rsa_pem,
	    strlen(jwt_t_rsa_pem), err, sizeof(err)) == -1 ||
	    jwt_key_init_public(&kes, JWT_ES256, jwt_t_ec256_pem,
	    strlen(jwt_t_ec256_pem), err, sizeof(err)) == -1)
		abort();
	return 0;
}

static void
check_err(int r, const char *err)
{
	const char	*p;

	if (r != 0 && r != -1)
		abort();
	if (r == 0)
		return;
	if (err[0] == '\0')
		abort();
	for (p = err; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			abort();
}

static void
check_str(int has, const char *s)
{
	size_t	 n = strnlen(s, JWT_STR_MAX);

	if (n == JWT_STR_MAX || (!has && n != 0))
		abort();
}

static void
check_verify(const struct jwt_token *t, const struct jwt_key *k, double now,
    double leeway, const char *iss, const char *aud)
{
	char	 err[256];
	int	 r;

	r = jwt_verify(t, k, now, leeway, iss, aud, err, sizeof(err));
	check_err(r, err);
	if (r == 0 && t->alg != k->alg)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const double	 clock[] = { 0, 1, -1, 10, -10, 100, -100,
	    1000, -1000, 1e4, -1e4, 1e6, -1e6, 1e9, -1e9, 3600 };
	static const double	 leeways[] = { 0, 1, 60, 3600 };
	static struct jwt_token	 t, t2;
	const struct jwt_claims	*c = &t.claims;
	char			*buf, err[256];
	const char		*iss = NULL, *aud = NULL;
	double			 now, leeway;
	size_t			 len, i;
	int			 r;

	if (size < 1)
		return 0;
	now = JWT_T_NOW + clock[data[0] & 0x0f];
	leeway = leeways[(data[0] >> 4) & 0x03];
	if (data[0] & 0x40) {
		iss = "https://issuer.example";
		aud = "kafkagate";
	}
	len = size - 1;
	/* An exact copy, so that reading past len is caught. */
	if ((buf = malloc(len ? len : 1)) == NULL)
		return 0;
	memcpy(buf, data + 1, len);

	r = jwt_parse(&t, buf, len, err, sizeof(err));
	check_err(r, err);
	if ((r == 0) != (t.parsed == 1))
		abort();
	if (r == 0) {
		if (jwt_alg_name(t.alg)[0] == '?' || len > JWT_TOKEN_MAX ||
		    t.inputlen >= len || buf[t.inputlen] != '.' ||
		    memchr(buf + t.inputlen + 1, '.',
		    len - t.inputlen - 1) != NULL ||
		    memcmp(t.input, buf, t.inputlen) != 0 ||
		    t.siglen > JWT_SIG_MAX)
			abort();
		check_str(c->has_key, c->key);
		check_str(c->has_iss, c->iss);
		check_str(c->has_sub, c->sub);
		if (c->naud > JWT_AUD_MAX || (c->naud > 0 && !c->has_aud))
			abort();
		for (i = 0; i < c->naud; i++)
			check_str(1, c->aud[i]);
		if ((!c->has_exp && c->exp != 0) ||
		    (!c->has_nbf && c->nbf != 0) ||
		    (!c->has_iat && c->iat != 0))
			abort();
		if (jwt_parse(&t2, buf, len, err, sizeof(err)) != 0 ||
		    t2.alg != t.alg || t2.siglen != t.siglen ||
		    memcmp(&t2.claims, &t.claims, sizeof(t.claims)) != 0 ||
		    memcmp(t2.sig, t.sig, t.siglen) != 0)
			abort();
	}
	/* Parsed or not: a failed parse must verify nothing. */
	check_verify(&t, &khs, now, leeway, iss, aud);
	check_verify(&t, &krs, now, leeway, iss, aud);
	check_verify(&t, &kes, now, leeway, iss, aud);
	if (r == -1 && jwt_verify(&t, &khs, now, leeway, NULL, NULL, err,
	    sizeof(err)) != -1)
		abort();
	free(buf);
	return 0;
}
