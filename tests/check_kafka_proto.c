/*
 * check_kafka_proto.c -- unit tests for the Kafka request/response codec.
 *
 * Every byte vector here is written by hand from Apache Kafka's message
 * definitions (clients/src/main/resources/common/message/, the files
 * RequestHeader, ApiVersions{Request,Response}, Metadata{Request,Response},
 * ListOffsets{Request,Response}, Fetch{Request,Response},
 * SaslHandshake{Request,Response} and SaslAuthenticate{Request,Response}.json), field by
 * field, and annotated; none of them was produced by our encoder.
 * Requests are whole frames (INT32 size + header + body); responses are
 * the body after the response header.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/kproto.h"

#define Z4	0x00, 0x00, 0x00, 0x00
#define Z8	Z4, Z4
#define FF4	0xff, 0xff, 0xff, 0xff
#define FF8	FF4, FF4
#define UUID0	Z8, Z8
/* ClientId "kg" as a NULLABLE_STRING (never compact, RequestHeader.json) */
#define KG	0x00, 0x02, 'k', 'g'
/* 1700000000000 ms as INT64 */
#define TS17	0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static int	 same_bytes(const char *, const uint8_t *, size_t,
		    const uint8_t *, size_t);
static int	 dec_any(int16_t, const uint8_t *, size_t, int16_t);
static void	 check_truncations(int16_t, const uint8_t *, size_t,
		    int16_t);
static Suite	*proto_suite(void);

/* Compare, and dump both sides in hex when they differ. */
static int
same_bytes(const char *what, const uint8_t *got, size_t gotlen,
    const uint8_t *exp, size_t explen)
{
	size_t	 i;

	if (gotlen == explen && memcmp(got, exp, explen) == 0)
		return 1;
	fprintf(stderr, "%s: got %zu bytes, expected %zu\n", what, gotlen,
	    explen);
	for (i = 0; i < gotlen || i < explen; i++) {
		fprintf(stderr, "  %4zu: ", i);
		if (i < gotlen)
			fprintf(stderr, "%02x", got[i]);
		else
			fprintf(stderr, "--");
		if (i < explen)
			fprintf(stderr, " %02x", exp[i]);
		else
			fprintf(stderr, " --");
		fprintf(stderr, "%s\n", i < gotlen && i < explen &&
		    got[i] == exp[i] ? "" : "  <<<");
	}
	return 0;
}

#define ck_assert_frame(w, exp) do {					\
	ck_assert_int_eq((w)->err, 0);					\
	ck_assert_msg(same_bytes(#exp, (w)->buf, (w)->len, (exp),	\
	    sizeof(exp)), "frame differs from " #exp);			\
} while (0)

/*
 * Decode with any decoder and free the result.  A failed decode must leave
 * the result empty (safe to free twice).  Returns the decoder's result.
 */
static int
dec_any(int16_t api, const uint8_t *p, size_t len, int16_t v)
{
	struct kafka_api_versions_resp	 av;
	struct kafka_metadata_resp	 md;
	struct kafka_list_offsets_resp	 lo;
	struct kafka_fetch_resp		 fe;
	struct kafka_sasl_handshake_resp	 sh;
	struct kafka_sasl_authenticate_resp	 sa;
	int				 rc = -1;

	switch (api) {
	case KAFKA_API_VERSIONS:
		rc = kafka_dec_api_versions(p, len, v, &av);
		if (rc != 0) {
			ck_assert_ptr_null(av.apis);
			ck_assert_int_eq(av.count, 0);
		}
		kafka_api_versions_free(&av);
		kafka_api_versions_free(&av);
		break;
	case KAFKA_API_METADATA:
		rc = kafka_dec_metadata(p, len, v, &md);
		if (rc != 0) {
			ck_assert_ptr_null(md.brokers);
			ck_assert_ptr_null(md.topics);
			ck_assert_int_eq(md.topic_count, 0);
		}
		kafka_metadata_free(&md);
		kafka_metadata_free(&md);
		break;
	case KAFKA_API_LIST_OFFSETS:
		rc = kafka_dec_list_offsets(p, len, v, &lo);
		if (rc != 0) {
			ck_assert_ptr_null(lo.results);
			ck_assert_int_eq(lo.count, 0);
		}
		kafka_list_offsets_free(&lo);
		kafka_list_offsets_free(&lo);
		break;
	case KAFKA_API_FETCH:
		rc = kafka_dec_fetch(p, len, v, &fe);
		if (rc != 0) {
			ck_assert_ptr_null(fe.parts);
			ck_assert_int_eq(fe.count, 0);
		}
		kafka_fetch_free(&fe);
		kafka_fetch_free(&fe);
		break;
	case KAFKA_API_SASL_HANDSHAKE:
		rc = kafka_dec_sasl_handshake(p, len, v, &sh);
		if (rc != 0) {
			ck_assert_ptr_null(sh.mechanisms);
			ck_assert_int_eq(sh.count, 0);
		}
		kafka_sasl_handshake_free(&sh);
		kafka_sasl_handshake_free(&sh);
		break;
	case KAFKA_API_SASL_AUTHENTICATE:
		rc = kafka_dec_sasl_authenticate(p, len, v, &sa);
		if (rc != 0) {
			ck_assert_ptr_null(sa.auth_bytes.p);
			ck_assert_ptr_null(sa.error_message.p);
		}
		break;
	default:
		ck_abort_msg("no decoder for API %d", api);
	}
	return rc;
}

/*
 * The whole vector decodes; every proper prefix, copied into a buffer of
 * exactly that size (so that ASan sees any over-read), is rejected.
 */
static void
check_truncations(int16_t api, const uint8_t *vec, size_t len, int16_t v)
{
	uint8_t	*p;
	size_t	 n;

	ck_assert_int_eq(dec_any(api, vec, len, v), 0);
	for (n = 0; n < len; n++) {
		p = malloc(n ? n : 1);
		ck_assert_ptr_nonnull(p);
		memcpy(p, vec, n);
		ck_assert_msg(dec_any(api, p, n, v) == -1,
		    "API %d v%d: prefix of %zu/%zu bytes accepted", api, v,
		    n, len);
		free(p);
	}
}

/* ---- tables ---- */

START_TEST(test_api_tables)
{
	int16_t	 min, max;

	ck_assert_int_eq(kafka_api_supported(KAFKA_API_VERSIONS, &min, &max),
	    0);
	ck_assert_int_eq(min, 0);
	ck_assert_int_eq(max, 3);
	ck_assert_int_eq(kafka_api_supported(KAFKA_API_METADATA, &min, &max),
	    0);
	ck_assert_int_eq(min, 1);
	ck_assert_int_eq(max, 12);
	ck_assert_int_eq(kafka_api_supported(KAFKA_API_LIST_OFFSETS, &min,
	    &max), 0);
	ck_assert_int_eq(min, 1);
	ck_assert_int_eq(max, 9);
	ck_assert_int_eq(kafka_api_supported(KAFKA_API_FETCH, &min, &max), 0);
	ck_assert_int_eq(min, 4);
	ck_assert_int_eq(max, 12);
	/* SaslHandshake v1 only: v0 sends the tokens as raw frames. */
	ck_assert_int_eq(kafka_api_supported(KAFKA_API_SASL_HANDSHAKE, &min,
	    &max), 0);
	ck_assert_int_eq(min, 1);
	ck_assert_int_eq(max, 1);
	ck_assert_int_eq(kafka_api_supported(KAFKA_API_SASL_AUTHENTICATE, &min,
	    &max), 0);
	ck_assert_int_eq(min, 0);
	ck_assert_int_eq(max, 2);
	ck_assert_int_eq(kafka_api_supported(0, &min, &max), -1);
	ck_assert_int_eq(kafka_api_supported(99, NULL, NULL), -1);
	ck_assert_int_eq(kafka_api_supported(-1, NULL, NULL), -1);
	ck_assert_int_eq(kafka_api_supported(KAFKA_API_FETCH, NULL, NULL), 0);

	ck_assert_int_eq(kafka_api_flexible(KAFKA_API_VERSIONS, 2), 0);
	ck_assert_int_eq(kafka_api_flexible(KAFKA_API_VERSIONS, 3), 1);
	ck_assert_int_eq(kafka_api_flexible(KAFKA_API_METADATA, 8), 0);
	ck_assert_int_eq(kafka_api_flexible(KAFKA_API_METADATA, 9), 1);
	ck_assert_int_eq(kafka_api_flexible(KAFKA_API_METADATA, 12), 1);
	ck_assert_int_eq(kafka_api_flexible(KAFKA_API_LIST_OFFSETS, 5), 0);
	ck_assert_int_eq(kafka_api_flexible(KAFKA_API_LIST_OFFSETS, 6), 1);
	ck_assert_int_eq(kafka_api_flexible(KAFKA_API_FETCH, 11), 0);
	ck_assert_int_eq(kafka_api_flexible(KAFKA_API_FETCH, 12), 1);
	ck_assert_int_eq(kafka_api_flexible(KAFKA_API_SASL_HANDSHAKE, 1), 0);
	ck_assert_int_eq(kafka_api_flexible(KAFKA_API_SASL_AUTHENTICATE, 1),
	    0);
	ck_assert_int_eq(kafka_api_flexible(KAFKA_API_SASL_AUTHENTICATE, 2),
	    1);
	ck_assert_int_eq(kafka_api_flexible(0, 9), 0);	/* not ours */
	ck_assert_int_eq(kafka_api_flexible(77, 100), 0);
}
END_TEST

START_TEST(test_err_name)
{
	const char	*a, *b;
	int		 i, j;

	ck_assert_str_eq(kafka_err_name(KAFKA_ERR_UNKNOWN_SERVER_ERROR),
	    "UNKNOWN_SERVER_ERROR");
	ck_assert_str_eq(kafka_err_name(KAFKA_ERR_NONE), "NONE");
	ck_assert_str_eq(kafka_err_name(KAFKA_ERR_OFFSET_OUT_OF_RANGE),
	    "OFFSET_OUT_OF_RANGE");
	ck_assert_str_eq(kafka_err_name(KAFKA_ERR_CORRUPT_MESSAGE),
	    "CORRUPT_MESSAGE");
	ck_assert_str_eq(kafka_err_name(KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION),
	    "UNKNOWN_TOPIC_OR_PARTITION");
	ck_assert_str_eq(kafka_err_name(KAFKA_ERR_LEADER_NOT_AVAILABLE),
	    "LEADER_NOT_AVAILABLE");
	ck_assert_str_eq(kafka_err_name(KAFKA_ERR_NOT_LEADER_OR_FOLLOWER),
	    "NOT_LEADER_OR_FOLLOWER");
	ck_assert_str_eq(kafka_err_name(KAFKA_ERR_REQUEST_TIMED_OUT),
	    "REQUEST_TIMED_OUT");
	ck_assert_str_eq(kafka_err_name(KAFKA_ERR_REPLICA_NOT_AVAILABLE),
	    "REPLICA_NOT_AVAILABLE");
	ck_assert_str_eq(kafka_err_name(KAFKA_ERR_NETWORK_EXCEPTION),
	    "NETWORK_EXCEPTION");
	ck_assert_str_eq(kafka_err_name(KAFKA_ERR_UNSUPPORTED_VERSION),
	    "UNSUPPORTED_VERSION");
	ck_assert_str_eq(kafka_err_name(KAFKA_ERR_INVALID_REQUEST),
	    "INVALID_REQUEST");
	ck_assert_str_eq(kafka_err_name(KAFKA_ERR_KAFKA_STORAGE_ERROR),
	    "KAFKA_STORAGE_ERROR");
	ck_assert_str_eq(kafka_err_name(KAFKA_ERR_FENCED_LEADER_EPOCH),
	    "FENCED_LEADER_EPOCH");
	ck_assert_str_eq(kafka_err_name(KAFKA_ERR_UNKNOWN_LEADER_EPOCH),
	    "UNKNOWN_LEADER_EPOCH");
	ck_assert_str_eq(kafka_err_name(KAFKA_ERR_OFFSET_NOT_AVAILABLE),
	    "OFFSET_NOT_AVAILABLE");
	ck_assert_str_eq(kafka_err_name(29), "TOPIC_AUTHORIZATION_FAILED");
	ck_assert_str_eq(kafka_err_name(58), "SASL_AUTHENTICATION_FAILED");
	ck_assert_str_eq(kafka_err_name(99), "POSITION_OUT_OF_RANGE");
	ck_assert_str_eq(kafka_err_name(100), "UNKNOWN_TOPIC_ID");
	ck_assert_str_eq(kafka_err_name(106), "FETCH_SESSION_TOPIC_ID_ERROR");
	ck_assert_str_eq(kafka_err_name(120), "TRANSACTION_ABORTABLE");
	ck_assert_str_eq(kafka_err_name(129), "REBOOTSTRAP_REQUIRED");
	ck_assert_str_eq(kafka_err_name(130), "UNKNOWN_ERROR_130");
	ck_assert_str_eq(kafka_err_name(-2), "UNKNOWN_ERROR_-2");
	ck_assert_str_eq(kafka_err_name(INT16_MIN), "UNKNOWN_ERROR_-32768");
	ck_assert_str_eq(kafka_err_name(INT16_MAX), "UNKNOWN_ERROR_32767");

	/* Every known code has its own name. */
	for (i = -1; i <= 129; i++) {
		a = kafka_err_name((int16_t)i);
		ck_assert_ptr_nonnull(a);
		ck_assert(strncmp(a, "UNKNOWN_ERROR_", 14) != 0);
		for (j = -1; j < i; j++) {
			b = kafka_err_name((int16_t)j);
			ck_assert_msg(strcmp(a, b) != 0, "%d and %d: %s", i,
			    j, a);
		}
	}
}
END_TEST

/* ---- frames ---- */

START_TEST(test_req_frame)
{
	/* Two frames in one writer: each size is patched at its start. */
	static const uint8_t	 exp[] = {
		0x00, 0x00, 0x00, 0x0a,		/* size 10 */
		0x00, 0x12,			/* RequestApiKey 18 */
		0x00, 0x01,			/* RequestApiVersion 1 */
		0x00, 0x00, 0x00, 0x09,		/* CorrelationId 9 */
		0xff, 0xff,			/* ClientId null */
		0x00, 0x00, 0x00, 0x0d,		/* size 13 */
		0x00, 0x01,			/* Fetch */
		0x00, 0x0c,			/* v12: header v2 */
		0x00, 0x00, 0x00, 0x0a,		/* CorrelationId 10 */
		KG,				/* ClientId, not compact */
		0x00,				/* TAG_BUFFER */
	};
	struct kwriter		 w;
	size_t			 s1, s2;

	kw_init(&w, 1024);
	s1 = kafka_req_begin(&w, KAFKA_API_VERSIONS, 1, 9, NULL);
	ck_assert_int_eq(kafka_req_end(&w, s1), 0);
	s2 = kafka_req_begin(&w, KAFKA_API_FETCH, 12, 10, "kg");
	ck_assert_uint_eq(s2, 14);
	ck_assert_int_eq(kafka_req_end(&w, s2), 0);
	ck_assert_frame(&w, exp);

	/* kafka_req_end() fails on a writer in error. */
	kw_reset(&w);
	s1 = kafka_req_begin(&w, KAFKA_API_VERSIONS, 1, 9, NULL);
	w.err = 1;
	ck_assert_int_eq(kafka_req_end(&w, s1), -1);
	kw_reset(&w);
	ck_assert_int_eq(kafka_req_end(&w, 0), -1);	/* nothing there */
	kw_free(&w);
}
END_TEST

START_TEST(test_resp_header_rest)
{
	static const uint8_t	 empty[] = { 0x00, 0xaa };
	static const uint8_t	 tagged[] = {
		0x01, 0x03, 0x02, 0xbe, 0xef,	/* one unknown tag */
		0xaa,
	};
	struct kreader		 r;

	kr_init(&r, empty, sizeof(empty));
	kafka_resp_header_rest(&r, KAFKA_API_FETCH, 12);
	ck_assert_uint_eq(kr_left(&r), 1);
	kr_init(&r, empty, sizeof(empty));
	kafka_resp_header_rest(&r, KAFKA_API_FETCH, 11);
	ck_assert_uint_eq(kr_left(&r), 2);
	kr_init(&r, empty, sizeof(empty));
	kafka_resp_header_rest(&r, KAFKA_API_METADATA, 9);
	ck_assert_uint_eq(kr_left(&r), 1);
	kr_init(&r, empty, sizeof(empty));
	kafka_resp_header_rest(&r, KAFKA_API_LIST_OFFSETS, 6);
	ck_assert_uint_eq(kr_left(&r), 1);
	/* ApiVersions: always response header v0 (KIP-511). */
	kr_init(&r, empty, sizeof(empty));
	kafka_resp_header_rest(&r, KAFKA_API_VERSIONS, 3);
	ck_assert_uint_eq(kr_left(&r), 2);
	kr_init(&r, tagged, sizeof(tagged));
	kafka_resp_header_rest(&r, KAFKA_API_METADATA, 12);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(kr_left(&r), 1);
	kr_init(&r, tagged, 3);
	kafka_resp_header_rest(&r, KAFKA_API_METADATA, 12);
	ck_assert_int_eq(r.err, 1);
}
END_TEST

START_TEST(test_enc_bad_args)
{
	struct kwriter			 w;
	struct kafka_lo_req		 lo = { "t", 0, -1, -1 };
	struct kafka_fetch_part_req	 fp = { "t", 0, -1, 0, 1024 };
	struct kafka_fetch_req		 fr = { 100, 1, 1024, 0, &fp, 1 };
	const char			*topics[] = { "t", NULL };

	kw_init(&w, 4096);
	ck_assert_int_eq(kafka_enc_api_versions(&w, 4, 1, "kg", "a", "1"), -1);
	ck_assert_int_eq(kafka_enc_api_versions(&w, -1, 1, "kg", "a", "1"),
	    -1);
	ck_assert_int_eq(kafka_enc_api_versions(&w, 3, 1, "kg", NULL, "1"),
	    -1);
	ck_assert_int_eq(kafka_enc_metadata(&w, 0, 1, "kg", NULL, 0), -1);
	ck_assert_int_eq(kafka_enc_metadata(&w, 13, 1, "kg", NULL, 0), -1);
	ck_assert_int_eq(kafka_enc_metadata(&w, 7, 1, "kg", NULL, 1), -1);
	ck_assert_int_eq(kafka_enc_metadata(&w, 7, 1, "kg", topics, -1), -1);
	ck_assert_int_eq(kafka_enc_metadata(&w, 7, 1, "kg", topics, 2), -1);
	ck_assert_int_eq(kafka_enc_list_offsets(&w, 0, 1, "kg", 0, &lo, 1),
	    -1);
	ck_assert_int_eq(kafka_enc_list_offsets(&w, 10, 1, "kg", 0, &lo, 1),
	    -1);
	ck_assert_int_eq(kafka_enc_list_offsets(&w, 4, 1, "kg", 0, NULL, 1),
	    -1);
	ck_assert_int_eq(kafka_enc_fetch(&w, 3, 1, "kg", &fr), -1);
	ck_assert_int_eq(kafka_enc_fetch(&w, 13, 1, "kg", &fr), -1);
	ck_assert_int_eq(kafka_enc_fetch(&w, 10, 1, "kg", NULL), -1);
	fp.topic = NULL;
	ck_assert_int_eq(kafka_enc_fetch(&w, 10, 1, "kg", &fr), -1);
	ck_assert_int_eq(kafka_enc_sasl_handshake(&w, 2, 1, "kg", "PLAIN"),
	    -1);
	ck_assert_int_eq(kafka_enc_sasl_handshake(&w, -1, 1, "kg", "PLAIN"),
	    -1);
	ck_assert_int_eq(kafka_enc_sasl_handshake(&w, 1, 1, "kg", NULL), -1);
	ck_assert_int_eq(kafka_enc_sasl_authenticate(&w, 3, 1, "kg",
	    (const uint8_t *)"x", 1), -1);
	ck_assert_int_eq(kafka_enc_sasl_authenticate(&w, -1, 1, "kg",
	    (const uint8_t *)"x", 1), -1);
	ck_assert_int_eq(kafka_enc_sasl_authenticate(&w, 1, 1, "kg", NULL, 1),
	    -1);
	/* Bad arguments write nothing and do not poison the writer. */
	ck_assert_uint_eq(w.len, 0);
	ck_assert_int_eq(w.err, 0);
	kw_free(&w);
}
END_TEST

START_TEST(test_enc_writer_full)
{
	static const uint8_t		 first[] = {
		0x00, 0x00, 0x00, 0x0c, 0x00, 0x12, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x01, KG,
	};
	struct kwriter			 w;
	struct kafka_fetch_part_req	 fp = { "t1", 0, -1, 0, 1024 };
	struct kafka_fetch_req		 fr = { 100, 1, 1024, 0, &fp, 1 };

	/* Room for the ApiVersions frame (16 bytes) and not much more. */
	kw_init(&w, 40);
	ck_assert_int_eq(kafka_enc_api_versions(&w, 0, 1, "kg", NULL, NULL),
	    0);
	ck_assert_int_eq(kafka_enc_fetch(&w, 10, 2, "kg", &fr), -1);
	ck_assert_int_eq(w.err, 1);
	/* The partial frame is dropped, the earlier one kept. */
	ck_assert_uint_eq(w.len, sizeof(first));
	ck_assert_mem_eq(w.buf, first, sizeof(first));
	kw_free(&w);
}
END_TEST

/* ---- ApiVersions ---- */

START_TEST(test_enc_api_versions_v0)
{
	static const uint8_t	 exp[] = {
		0x00, 0x00, 0x00, 0x0c,		/* size 12 */
		0x00, 0x12,			/* RequestApiKey 18 */
		0x00, 0x00,			/* RequestApiVersion 0 */
		0x01, 0x02, 0x03, 0x04,		/* CorrelationId */
		KG,				/* ClientId "kg" */
						/* v0-v2: empty body */
	};
	struct kwriter		 w;

	kw_init(&w, 1024);
	ck_assert_int_eq(kafka_enc_api_versions(&w, 0, 0x01020304, "kg",
	    "ignored", "ignored"), 0);
	ck_assert_frame(&w, exp);
	kw_free(&w);
}
END_TEST

START_TEST(test_enc_api_versions_v3)
{
	static const uint8_t	 exp[] = {
		0x00, 0x00, 0x00, 0x1c,		/* size 28 */
		0x00, 0x12,			/* RequestApiKey 18 */
		0x00, 0x03,			/* RequestApiVersion 3 */
		0x00, 0x00, 0x00, 0x07,		/* CorrelationId 7 */
		KG,				/* ClientId: INT16 length */
		0x00,				/* header TAG_BUFFER */
		0x0a, 'k', 'a', 'f', 'k', 'a',	/* ClientSoftwareName */
		'g', 'a', 't', 'e',		/*   COMPACT_STRING 9+1 */
		0x04, '1', '.', '0',		/* ClientSoftwareVersion */
		0x00,				/* TAG_BUFFER */
	};
	struct kwriter		 w;

	kw_init(&w, 1024);
	ck_assert_int_eq(kafka_enc_api_versions(&w, 3, 7, "kg", "kafkagate",
	    "1.0"), 0);
	ck_assert_frame(&w, exp);
	kw_free(&w);
}
END_TEST

static const uint8_t av_v0[] = {
	0x00, 0x00,				/* ErrorCode */
	0x00, 0x00, 0x00, 0x02,			/* ApiKeys: 2 */
	0x00, 0x01, 0x00, 0x04, 0x00, 0x0c,	/*   Fetch 4-12 */
	0x00, 0x12, 0x00, 0x00, 0x00, 0x03,	/*   ApiVersions 0-3 */
};

static const uint8_t av_v2[] = {
	0x00, 0x00,				/* ErrorCode */
	0x00, 0x00, 0x00, 0x01,			/* ApiKeys: 1 */
	0x00, 0x03, 0x00, 0x00, 0x00, 0x0c,	/*   Metadata 0-12 */
	0x00, 0x00, 0x00, 0x0a,			/* ThrottleTimeMs 10 */
};

static const uint8_t av_v3[] = {
	0x00, 0x00,				/* ErrorCode */
	0x03,					/* ApiKeys: 2 (compact) */
	0x00, 0x01, 0x00, 0x04, 0x00, 0x11,	/*   Fetch 4-17 */
	0x00,					/*   TAG_BUFFER */
	0x00, 0x12, 0x00, 0x00, 0x00, 0x04,	/*   ApiVersions 0-4 */
	0x00,					/*   TAG_BUFFER */
	0x00, 0x00, 0x00, 0x0a,			/* ThrottleTimeMs 10 */
	0x02,					/* TAG_BUFFER: 2 tags */
	0x00, 0x17,				/*  SupportedFeatures, 23 */
	0x02,					/*   1 feature */
	0x11, 'm', 'e', 't', 'a', 'd', 'a',	/*   Name */
	't', 'a', '.', 'v', 'e', 'r', 's',
	'i', 'o', 'n',
	0x00, 0x01,				/*   MinVersion */
	0x00, 0x14,				/*   MaxVersion */
	0x00,					/*   TAG_BUFFER */
	0x01, 0x08,				/*  FinalizedFeaturesEpoch */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a,
};

/* Kafka >= 2.4 answering a version it does not know: v0 body (KIP-511). */
static const uint8_t av_err35_v0[] = {
	0x00, 0x23,				/* UNSUPPORTED_VERSION */
	0x00, 0x00, 0x00, 0x01,			/* ApiKeys: 1 */
	0x00, 0x12, 0x00, 0x00, 0x00, 0x02,	/*   ApiVersions 0-2 */
};

/* Kafka 2.0-2.3: the same error with an empty list. */
static const uint8_t av_err35_empty[] = {
	0x00, 0x23, 0x00, 0x00, 0x00, 0x00,
};

/* The librdkafka 2.0.2 mock's answer to v3: neither v0 nor v3. */
static const uint8_t av_mock[] = {
	0x00, 0x23, 0x01, 0x00, 0x12, 0x00, 0x00, 0x00, 0x02,
	0x00, 0x00, 0x00, 0x00,
};

START_TEST(test_dec_api_versions_v0)
{
	struct kafka_api_versions_resp	 r;

	ck_assert_int_eq(kafka_dec_api_versions(av_v0, sizeof(av_v0), 0, &r),
	    0);
	ck_assert_int_eq(r.error_code, 0);
	ck_assert_int_eq(r.count, 2);
	ck_assert_int_eq(r.apis[0].api_key, 1);
	ck_assert_int_eq(r.apis[0].min, 4);
	ck_assert_int_eq(r.apis[0].max, 12);
	ck_assert_int_eq(r.apis[1].api_key, 18);
	ck_assert_int_eq(r.apis[1].min, 0);
	ck_assert_int_eq(r.apis[1].max, 3);
	ck_assert_int_eq(r.throttle_ms, 0);
	kafka_api_versions_free(&r);
	check_truncations(KAFKA_API_VERSIONS, av_v0, sizeof(av_v0), 0);

	ck_assert_int_eq(kafka_dec_api_versions(av_v2, sizeof(av_v2), 2, &r),
	    0);
	ck_assert_int_eq(r.count, 1);
	ck_assert_int_eq(r.apis[0].api_key, 3);
	ck_assert_int_eq(r.apis[0].max, 12);
	ck_assert_int_eq(r.throttle_ms, 10);
	kafka_api_versions_free(&r);
	check_truncations(KAFKA_API_VERSIONS, av_v2, sizeof(av_v2), 2);
	check_truncations(KAFKA_API_VERSIONS, av_v2, sizeof(av_v2), 1);
}
END_TEST

START_TEST(test_dec_api_versions_v3)
{
	struct kafka_api_versions_resp	 r;

	ck_assert_int_eq(kafka_dec_api_versions(av_v3, sizeof(av_v3), 3, &r),
	    0);
	ck_assert_int_eq(r.error_code, 0);
	ck_assert_int_eq(r.count, 2);
	ck_assert_int_eq(r.apis[0].api_key, 1);
	ck_assert_int_eq(r.apis[0].min, 4);
	ck_assert_int_eq(r.apis[0].max, 17);
	ck_assert_int_eq(r.apis[1].api_key, 18);
	ck_assert_int_eq(r.apis[1].max, 4);
	ck_assert_int_eq(r.throttle_ms, 10);
	kafka_api_versions_free(&r);
	check_truncations(KAFKA_API_VERSIONS, av_v3, sizeof(av_v3), 3);
}
END_TEST

START_TEST(test_dec_api_versions_err35)
{
	struct kafka_api_versions_resp	 r;
	uint8_t				*p;
	size_t				 n;

	/* v3 sent, v0 body back: the list is read as v0. */
	ck_assert_int_eq(kafka_dec_api_versions(av_err35_v0,
	    sizeof(av_err35_v0), 3, &r), 0);
	ck_assert_int_eq(r.error_code, KAFKA_ERR_UNSUPPORTED_VERSION);
	ck_assert_int_eq(r.count, 1);
	ck_assert_int_eq(r.apis[0].api_key, KAFKA_API_VERSIONS);
	ck_assert_int_eq(r.apis[0].min, 0);
	ck_assert_int_eq(r.apis[0].max, 2);
	kafka_api_versions_free(&r);
	/* The same at v1 (a v0 body has no ThrottleTimeMs). */
	ck_assert_int_eq(kafka_dec_api_versions(av_err35_v0,
	    sizeof(av_err35_v0), 1, &r), 0);
	ck_assert_int_eq(r.count, 1);
	kafka_api_versions_free(&r);

	ck_assert_int_eq(kafka_dec_api_versions(av_err35_empty,
	    sizeof(av_err35_empty), 3, &r), 0);
	ck_assert_int_eq(r.error_code, KAFKA_ERR_UNSUPPORTED_VERSION);
	ck_assert_int_eq(r.count, 0);
	ck_assert_ptr_null(r.apis);
	kafka_api_versions_free(&r);

	/* The malformed mock answer: error 35 and no usable list. */
	ck_assert_int_eq(kafka_dec_api_versions(av_mock, sizeof(av_mock), 3,
	    &r), 0);
	ck_assert_int_eq(r.error_code, KAFKA_ERR_UNSUPPORTED_VERSION);
	ck_assert_int_eq(r.count, 0);
	kafka_api_versions_free(&r);

	/*
	 * Truncated error-35 bodies: never a crash; below 2 bytes
	 * malformed, from 2 bytes on the error with an empty list, so that
	 * the caller retries a lower version.
	 */
	for (n = 0; n < sizeof(av_err35_v0); n++) {
		p = malloc(n ? n : 1);
		ck_assert_ptr_nonnull(p);
		memcpy(p, av_err35_v0, n);
		if (n < 2)
			ck_assert_int_eq(kafka_dec_api_versions(p, n, 3, &r),
			    -1);
		else {
			ck_assert_int_eq(kafka_dec_api_versions(p, n, 3, &r),
			    0);
			ck_assert_int_eq(r.error_code, 35);
			ck_assert_int_eq(r.count, 0);
		}
		kafka_api_versions_free(&r);
		free(p);
	}
}
END_TEST

START_TEST(test_dec_api_versions_bad)
{
	static const uint8_t	 huge_v0[] = { 0x00, 0x00,
	    0x7f, 0xff, 0xff, 0xff, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01 };
	static const uint8_t	 huge_v3[] = { 0x00, 0x00,
	    0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01 };
	static const uint8_t	 null_v3[] = { 0x00, 0x00, 0x00,
	    0x00, 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t	 huge_35[] = { 0x00, 0x23,
	    0x7f, 0xff, 0xff, 0xff, 0x00, 0x01 };
	struct kafka_api_versions_resp	 r;

	ck_assert_int_eq(dec_any(KAFKA_API_VERSIONS, huge_v0,
	    sizeof(huge_v0), 0), -1);
	ck_assert_int_eq(dec_any(KAFKA_API_VERSIONS, huge_v3,
	    sizeof(huge_v3), 3), -1);
	ck_assert_int_eq(dec_any(KAFKA_API_VERSIONS, null_v3,
	    sizeof(null_v3), 3), -1);		/* ApiKeys is not nullable */
	ck_assert_int_eq(dec_any(KAFKA_API_VERSIONS, av_v0,
	    sizeof(av_v0), 4), -1);		/* version not ours */
	/* An absurd count with error 35 allocates nothing either. */
	ck_assert_int_eq(kafka_dec_api_versions(huge_35, sizeof(huge_35), 3,
	    &r), 0);
	ck_assert_int_eq(r.count, 0);
	ck_assert_ptr_null(r.apis);
	kafka_api_versions_free(&r);
}
END_TEST

/* ---- Metadata ---- */

START_TEST(test_enc_metadata_v7)
{
	static const uint8_t	 exp[] = {
		0x00, 0x00, 0x00, 0x15,		/* size 21 */
		0x00, 0x03, 0x00, 0x07,		/* Metadata v7 */
		0x00, 0x00, 0x00, 0x01,		/* CorrelationId 1 */
		KG,
		0x00, 0x00, 0x00, 0x01,		/* Topics: 1 */
		0x00, 0x02, 't', '1',		/*   Name */
		0x00,				/* AllowAutoTopicCreation */
	};
	static const uint8_t	 all_v1[] = {
		0x00, 0x00, 0x00, 0x10,		/* size 16 */
		0x00, 0x03, 0x00, 0x01,		/* Metadata v1 */
		0x00, 0x00, 0x00, 0x02,
		KG,
		FF4,				/* Topics: null = all */
	};
	static const uint8_t	 none_v4[] = {
		0x00, 0x00, 0x00, 0x11,		/* size 17 */
		0x00, 0x03, 0x00, 0x04,		/* Metadata v4 */
		0x00, 0x00, 0x00, 0x02,
		KG,
		Z4,				/* Topics: empty = none */
		0x00,				/* AllowAutoTopicCreation */
	};
	static const uint8_t	 v8[] = {
		0x00, 0x00, 0x00, 0x13,		/* size 19 */
		0x00, 0x03, 0x00, 0x08,		/* Metadata v8 */
		0x00, 0x00, 0x00, 0x03,
		KG,
		FF4,				/* Topics: null */
		0x00,				/* AllowAutoTopicCreation */
		0x00,			/* IncludeClusterAuthorizedOperations */
		0x00,			/* IncludeTopicAuthorizedOperations */
	};
	const char		*topics[] = { "t1" };
	struct kwriter		 w;

	kw_init(&w, 1024);
	ck_assert_int_eq(kafka_enc_metadata(&w, 7, 1, "kg", topics, 1), 0);
	ck_assert_frame(&w, exp);
	kw_reset(&w);
	ck_assert_int_eq(kafka_enc_metadata(&w, 1, 2, "kg", NULL, 0), 0);
	ck_assert_frame(&w, all_v1);
	kw_reset(&w);
	ck_assert_int_eq(kafka_enc_metadata(&w, 4, 2, "kg", topics, 0), 0);
	ck_assert_frame(&w, none_v4);
	kw_reset(&w);
	ck_assert_int_eq(kafka_enc_metadata(&w, 8, 3, "kg", NULL, 0), 0);
	ck_assert_frame(&w, v8);
	kw_free(&w);
}
END_TEST

START_TEST(test_enc_metadata_flex)
{
	static const uint8_t	 v12[] = {
		0x00, 0x00, 0x00, 0x3d,		/* size 61 */
		0x00, 0x03, 0x00, 0x0c,		/* Metadata v12 */
		0x00, 0x00, 0x00, 0x03,		/* CorrelationId 3 */
		KG,
		0x00,				/* header TAG_BUFFER */
		0x03,				/* Topics: 2 (compact) */
		UUID0,				/*   TopicId: zero */
		0x03, 't', '1',			/*   Name */
		0x00,				/*   TAG_BUFFER */
		UUID0,
		0x07, 't', 'o', 'p', 'i', 'c', '2',
		0x00,
		0x00,				/* AllowAutoTopicCreation */
		0x00,			/* IncludeTopicAuthorizedOperations */
		0x00,				/* TAG_BUFFER */
	};
	static const uint8_t	 all_v9[] = {
		0x00, 0x00, 0x00, 0x12,		/* size 18 */
		0x00, 0x03, 0x00, 0x09,		/* Metadata v9 */
		0x00, 0x00, 0x00, 0x04,
		KG,
		0x00,				/* header TAG_BUFFER */
		0x00,				/* Topics: null (compact) */
		0x00,				/* AllowAutoTopicCreation */
		0x00,			/* IncludeClusterAuthorizedOperations */
		0x00,			/* IncludeTopicAuthorizedOperations */
		0x00,				/* TAG_BUFFER */
	};
	static const uint8_t	 v10[] = {
		0x00, 0x00, 0x00, 0x26,		/* size 38 */
		0x00, 0x03, 0x00, 0x0a,		/* Metadata v10 */
		0x00, 0x00, 0x00, 0x05,
		KG,
		0x00,
		0x02,				/* Topics: 1 */
		UUID0,				/*   TopicId (v10+) */
		0x03, 't', '1',
		0x00,
		0x00,				/* AllowAutoTopicCreation */
		0x00,		/* IncludeClusterAuthorizedOperations (8-10) */
		0x00,			/* IncludeTopicAuthorizedOperations */
		0x00,
	};
	const char		*topics[] = { "t1", "topic2" };
	struct kwriter		 w;

	kw_init(&w, 1024);
	ck_assert_int_eq(kafka_enc_metadata(&w, 12, 3, "kg", topics, 2), 0);
	ck_assert_frame(&w, v12);
	kw_reset(&w);
	ck_assert_int_eq(kafka_enc_metadata(&w, 9, 4, "kg", NULL, 0), 0);
	ck_assert_frame(&w, all_v9);
	kw_reset(&w);
	ck_assert_int_eq(kafka_enc_metadata(&w, 10, 5, "kg", topics, 1), 0);
	ck_assert_frame(&w, v10);
	kw_free(&w);
}
END_TEST

static const uint8_t md_v1[] = {
	0x00, 0x00, 0x00, 0x01,			/* Brokers: 1 */
	0x00, 0x00, 0x00, 0x01,			/*   NodeId 1 */
	0x00, 0x02, 'b', '1',			/*   Host */
	0x00, 0x00, 0x23, 0x84,			/*   Port 9092 */
	0xff, 0xff,				/*   Rack null */
	0x00, 0x00, 0x00, 0x01,			/* ControllerId 1 */
	0x00, 0x00, 0x00, 0x01,			/* Topics: 1 */
	0x00, 0x00,				/*   ErrorCode */
	0x00, 0x02, 't', '1',			/*   Name */
	0x00,					/*   IsInternal */
	0x00, 0x00, 0x00, 0x01,			/*   Partitions: 1 */
	0x00, 0x00,				/*     ErrorCode */
	0x00, 0x00, 0x00, 0x00,			/*     PartitionIndex 0 */
	0x00, 0x00, 0x00, 0x01,			/*     LeaderId 1 */
	0x00, 0x00, 0x00, 0x01,			/*     ReplicaNodes [1] */
	0x00, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x01,			/*     IsrNodes [1] */
	0x00, 0x00, 0x00, 0x01,
};

static const uint8_t md_v7[] = {
	0x00, 0x00, 0x00, 0x00,			/* ThrottleTimeMs */
	0x00, 0x00, 0x00, 0x02,			/* Brokers: 2 */
	0x00, 0x00, 0x00, 0x01,			/*   NodeId 1 */
	0x00, 0x02, 'b', '1',			/*   Host */
	0x00, 0x00, 0x23, 0x84,			/*   Port 9092 */
	0xff, 0xff,				/*   Rack null */
	0x00, 0x00, 0x00, 0x02,			/*   NodeId 2 */
	0x00, 0x02, 'b', '2',
	0x00, 0x00, 0x23, 0x85,			/*   Port 9093 */
	0x00, 0x02, 'r', '1',			/*   Rack "r1" */
	0x00, 0x04, 'c', 'l', 'u', '1',		/* ClusterId */
	0x00, 0x00, 0x00, 0x01,			/* ControllerId 1 */
	0x00, 0x00, 0x00, 0x02,			/* Topics: 2 */
	0x00, 0x00,				/*   ErrorCode */
	0x00, 0x02, 't', '1',			/*   Name */
	0x00,					/*   IsInternal */
	0x00, 0x00, 0x00, 0x02,			/*   Partitions: 2 */
	0x00, 0x00,				/*     ErrorCode */
	0x00, 0x00, 0x00, 0x00,			/*     PartitionIndex 0 */
	0x00, 0x00, 0x00, 0x01,			/*     LeaderId 1 */
	0x00, 0x00, 0x00, 0x05,			/*     LeaderEpoch 5 */
	0x00, 0x00, 0x00, 0x02,			/*     ReplicaNodes [1, 2] */
	0x00, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x02,
	0x00, 0x00, 0x00, 0x01,			/*     IsrNodes [1] */
	0x00, 0x00, 0x00, 0x01,
	Z4,					/*     OfflineReplicas [] */
	0x00, 0x09,				/*     REPLICA_NOT_AVAILABLE */
	0x00, 0x00, 0x00, 0x01,			/*     PartitionIndex 1 */
	0x00, 0x00, 0x00, 0x02,			/*     LeaderId 2 */
	0x00, 0x00, 0x00, 0x06,			/*     LeaderEpoch 6 */
	0x00, 0x00, 0x00, 0x01,			/*     ReplicaNodes [2] */
	0x00, 0x00, 0x00, 0x02,
	Z4,					/*     IsrNodes [] */
	0x00, 0x00, 0x00, 0x01,			/*     OfflineReplicas [1] */
	0x00, 0x00, 0x00, 0x01,
	0x00, 0x03,				/*   UNKNOWN_TOPIC_OR_PART. */
	0x00, 0x02, 't', '9',			/*   Name */
	0x00,					/*   IsInternal */
	Z4,					/*   Partitions: 0 */
};

static const uint8_t md_v12[] = {
	0x00, 0x00, 0x00, 0x00,			/* ThrottleTimeMs */
	0x02,					/* Brokers: 1 */
	0x00, 0x00, 0x00, 0x01,			/*   NodeId 1 */
	0x03, 'b', '1',				/*   Host */
	0x00, 0x00, 0x23, 0x84,			/*   Port 9092 */
	0x00,					/*   Rack null */
	0x00,					/*   TAG_BUFFER */
	0x05, 'c', 'l', 'u', '1',		/* ClusterId */
	0x00, 0x00, 0x00, 0x01,			/* ControllerId 1 */
	0x03,					/* Topics: 2 */
	0x00, 0x00,				/*   ErrorCode */
	0x03, 't', '1',				/*   Name */
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06,	/*   TopicId */
	0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
	0x0d, 0x0e, 0x0f, 0x10,
	0x00,					/*   IsInternal */
	0x02,					/*   Partitions: 1 */
	0x00, 0x00,				/*     ErrorCode */
	0x00, 0x00, 0x00, 0x00,			/*     PartitionIndex 0 */
	0x00, 0x00, 0x00, 0x01,			/*     LeaderId 1 */
	0x00, 0x00, 0x00, 0x07,			/*     LeaderEpoch 7 */
	0x02, 0x00, 0x00, 0x00, 0x01,		/*     ReplicaNodes [1] */
	0x02, 0x00, 0x00, 0x00, 0x01,		/*     IsrNodes [1] */
	0x01,					/*     OfflineReplicas [] */
	0x01, 0x05, 0x02, 0xab, 0xcd,		/*     TAG_BUFFER: tag 5 */
	0x80, 0x00, 0x00, 0x00,			/*   TopicAuthorizedOps */
	0x00,					/*   TAG_BUFFER */
	0x00, 0x64,				/*   UNKNOWN_TOPIC_ID */
	0x00,					/*   Name null (v12+) */
	0x11, 0x12, 0x13, 0x14, 0x15, 0x16,	/*   TopicId */
	0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c,
	0x1d, 0x1e, 0x1f, 0x20,
	0x00,					/*   IsInternal */
	0x01,					/*   Partitions: 0 */
	0x80, 0x00, 0x00, 0x00,			/*   TopicAuthorizedOps */
	0x00,					/*   TAG_BUFFER */
	0x01, 0x09, 0x03, 0x01, 0x02, 0x03,	/* TAG_BUFFER: tag 9 */
};

START_TEST(test_dec_metadata_v1)
{
	struct kafka_metadata_resp	 r;

	ck_assert_int_eq(kafka_dec_metadata(md_v1, sizeof(md_v1), 1, &r), 0);
	ck_assert_int_eq(r.broker_count, 1);
	ck_assert_int_eq(r.brokers[0].node_id, 1);
	ck_assert_int_eq(r.brokers[0].host.len, 2);
	ck_assert_mem_eq(r.brokers[0].host.p, "b1", 2);
	ck_assert_int_eq(r.brokers[0].port, 9092);
	ck_assert_int_eq(r.controller_id, 1);
	ck_assert_int_eq(r.topic_count, 1);
	ck_assert_int_eq(r.topics[0].partition_count, 1);
	ck_assert_int_eq(r.topics[0].partitions[0].leader_id, 1);
	ck_assert_int_eq(r.topics[0].partitions[0].leader_epoch, -1);
	kafka_metadata_free(&r);
	check_truncations(KAFKA_API_METADATA, md_v1, sizeof(md_v1), 1);
}
END_TEST

START_TEST(test_dec_metadata_v7)
{
	struct kafka_metadata_resp	 r;
	struct kafka_md_topic		*t;

	ck_assert_int_eq(kafka_dec_metadata(md_v7, sizeof(md_v7), 7, &r), 0);
	ck_assert_int_eq(r.broker_count, 2);
	ck_assert_int_eq(r.brokers[0].node_id, 1);
	ck_assert_int_eq(r.brokers[0].port, 9092);
	ck_assert_int_eq(r.brokers[1].node_id, 2);
	ck_assert_int_eq(r.brokers[1].host.len, 2);
	ck_assert_mem_eq(r.brokers[1].host.p, "b2", 2);
	ck_assert_int_eq(r.brokers[1].port, 9093);
	ck_assert_int_eq(r.controller_id, 1);
	ck_assert_int_eq(r.topic_count, 2);
	t = &r.topics[0];
	ck_assert_int_eq(t->error_code, 0);
	ck_assert_int_eq(t->name.len, 2);
	ck_assert_mem_eq(t->name.p, "t1", 2);
	ck_assert_int_eq(t->partition_count, 2);
	ck_assert_int_eq(t->partitions[0].partition, 0);
	ck_assert_int_eq(t->partitions[0].leader_id, 1);
	ck_assert_int_eq(t->partitions[0].leader_epoch, 5);
	ck_assert_int_eq(t->partitions[1].error_code,
	    KAFKA_ERR_REPLICA_NOT_AVAILABLE);
	ck_assert_int_eq(t->partitions[1].partition, 1);
	ck_assert_int_eq(t->partitions[1].leader_id, 2);
	ck_assert_int_eq(t->partitions[1].leader_epoch, 6);
	t = &r.topics[1];
	ck_assert_int_eq(t->error_code, KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
	ck_assert_mem_eq(t->name.p, "t9", 2);
	ck_assert_int_eq(t->partition_count, 0);
	ck_assert_ptr_null(t->partitions);
	kafka_metadata_free(&r);
	check_truncations(KAFKA_API_METADATA, md_v7, sizeof(md_v7), 7);
}
END_TEST

START_TEST(test_dec_metadata_v12)
{
	struct kafka_metadata_resp	 r;
	struct kafka_md_topic		*t;

	ck_assert_int_eq(kafka_dec_metadata(md_v12, sizeof(md_v12), 12, &r),
	    0);
	ck_assert_int_eq(r.broker_count, 1);
	ck_assert_int_eq(r.brokers[0].node_id, 1);
	ck_assert_mem_eq(r.brokers[0].host.p, "b1", 2);
	ck_assert_int_eq(r.brokers[0].port, 9092);
	ck_assert_int_eq(r.controller_id, 1);
	ck_assert_int_eq(r.topic_count, 2);
	t = &r.topics[0];
	ck_assert_int_eq(t->name.len, 2);
	ck_assert_mem_eq(t->name.p, "t1", 2);
	ck_assert_int_eq(t->partition_count, 1);
	ck_assert_int_eq(t->partitions[0].leader_id, 1);
	ck_assert_int_eq(t->partitions[0].leader_epoch, 7);
	t = &r.topics[1];
	ck_assert_int_eq(t->error_code, 100);
	ck_assert_int_eq(t->name.len, -1);
	ck_assert_ptr_null(t->name.p);
	ck_assert_int_eq(t->partition_count, 0);
	kafka_metadata_free(&r);
	check_truncations(KAFKA_API_METADATA, md_v12, sizeof(md_v12), 12);
}
END_TEST

START_TEST(test_dec_metadata_bad)
{
	static const uint8_t	 huge_brokers[] = {
		Z4, 0x7f, 0xff, 0xff, 0xff, 0x00, 0x00,
	};
	static const uint8_t	 huge_brokers_c[] = {
		Z4, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x00,
	};
	static const uint8_t	 null_brokers[] = {
		Z4, FF4, 0xff, 0xff, Z4, Z4,	/* Brokers null */
	};
	static const uint8_t	 huge_parts[] = {
		Z4,				/* ThrottleTimeMs */
		Z4,				/* Brokers: 0 */
		0xff, 0xff,			/* ClusterId null */
		Z4,				/* ControllerId */
		0x00, 0x00, 0x00, 0x01,		/* Topics: 1 */
		0x00, 0x00, 0x00, 0x02, 't', '1', 0x00,
		0x10, 0x00, 0x00, 0x00,		/* Partitions: 2^28 */
		Z8, Z8, Z8,
	};
	static const uint8_t	 huge_replicas[] = {
		Z4, Z4, 0xff, 0xff, Z4,
		0x00, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x02, 't', '1', 0x00,
		0x00, 0x00, 0x00, 0x01,		/* Partitions: 1 */
		0x00, 0x00, Z4, Z4, Z4,
		0x01, 0x00, 0x00, 0x00,		/* ReplicaNodes: 2^24 */
		Z8, Z8,
	};
	static const uint8_t	 null_topic_name_v11[] = {
		Z4, 0x01, 0x00, Z4, 0x02,
		0x00, 0x00, 0x00,		/* Name null: not v11 */
		UUID0, 0x00, 0x01, Z4, 0x00, 0x00,
	};

	ck_assert_int_eq(dec_any(KAFKA_API_METADATA, huge_brokers,
	    sizeof(huge_brokers), 7), -1);
	ck_assert_int_eq(dec_any(KAFKA_API_METADATA, huge_brokers_c,
	    sizeof(huge_brokers_c), 12), -1);
	ck_assert_int_eq(dec_any(KAFKA_API_METADATA, null_brokers,
	    sizeof(null_brokers), 7), -1);
	ck_assert_int_eq(dec_any(KAFKA_API_METADATA, huge_parts,
	    sizeof(huge_parts), 7), -1);
	ck_assert_int_eq(dec_any(KAFKA_API_METADATA, huge_replicas,
	    sizeof(huge_replicas), 7), -1);
	ck_assert_int_eq(dec_any(KAFKA_API_METADATA, null_topic_name_v11,
	    sizeof(null_topic_name_v11), 11), -1);
	ck_assert_int_eq(dec_any(KAFKA_API_METADATA, md_v7, sizeof(md_v7), 0),
	    -1);
	ck_assert_int_eq(dec_any(KAFKA_API_METADATA, md_v12, sizeof(md_v12),
	    13), -1);
}
END_TEST

/* ---- ListOffsets ---- */

static const struct kafka_lo_req lo_reqs[] = {
	{ "t1", 0, -1, -1 },		/* latest */
	{ "t1", 1, 5, -2 },		/* earliest, leader epoch 5 */
	{ "t2", 0, -1, 1700000000000LL },
};

START_TEST(test_enc_list_offsets_v4)
{
	static const uint8_t	 exp[] = {
		0x00, 0x00, 0x00, 0x55,		/* size 85 */
		0x00, 0x02, 0x00, 0x04,		/* ListOffsets v4 */
		0x00, 0x00, 0x00, 0x04,		/* CorrelationId 4 */
		KG,
		FF4,				/* ReplicaId -1 */
		0x01,				/* IsolationLevel */
		0x00, 0x00, 0x00, 0x02,		/* Topics: 2 */
		0x00, 0x02, 't', '1',		/*   Name */
		0x00, 0x00, 0x00, 0x02,		/*   Partitions: 2 */
		0x00, 0x00, 0x00, 0x00,		/*     PartitionIndex 0 */
		FF4,				/*     CurrentLeaderEpoch */
		FF8,				/*     Timestamp -1 */
		0x00, 0x00, 0x00, 0x01,		/*     PartitionIndex 1 */
		0x00, 0x00, 0x00, 0x05,		/*     CurrentLeaderEpoch */
		FF4, 0xff, 0xff, 0xff, 0xfe,	/*     Timestamp -2 */
		0x00, 0x02, 't', '2',
		0x00, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x00,
		FF4,
		TS17,
	};
	struct kwriter		 w;

	kw_init(&w, 1024);
	ck_assert_int_eq(kafka_enc_list_offsets(&w, 4, 4, "kg", 1, lo_reqs,
	    3), 0);
	ck_assert_frame(&w, exp);
	kw_free(&w);
}
END_TEST

START_TEST(test_enc_list_offsets_v1)
{
	static const uint8_t	 exp[] = {
		0x00, 0x00, 0x00, 0x28,		/* size 40 */
		0x00, 0x02, 0x00, 0x01,		/* ListOffsets v1 */
		0x00, 0x00, 0x00, 0x06,
		KG,
		FF4,				/* ReplicaId */
		0x00, 0x00, 0x00, 0x01,		/* Topics: 1 */
		0x00, 0x02, 't', '1',
		0x00, 0x00, 0x00, 0x01,		/*   Partitions: 1 */
		0x00, 0x00, 0x00, 0x01,		/*     PartitionIndex 1 */
		FF4, 0xff, 0xff, 0xff, 0xfe,	/*     Timestamp -2 */
	};
	static const struct kafka_lo_req	 split[] = {
		{ "a", 0, -1, -1 }, { "b", 0, -1, -1 }, { "a", 1, -1, -1 },
	};
	struct kwriter		 w;

	kw_init(&w, 1024);
	ck_assert_int_eq(kafka_enc_list_offsets(&w, 1, 6, "kg", 1,
	    &lo_reqs[1], 1), 0);
	ck_assert_frame(&w, exp);
	/* Only adjacent requests for a topic are grouped. */
	kw_reset(&w);
	ck_assert_int_eq(kafka_enc_list_offsets(&w, 1, 6, "kg", 0, split, 3),
	    0);
	ck_assert_mem_eq(w.buf + 4 + 12 + 4, "\0\0\0\3", 4);
	/* No requests: an empty topic list. */
	kw_reset(&w);
	ck_assert_int_eq(kafka_enc_list_offsets(&w, 1, 6, "kg", 0, NULL, 0),
	    0);
	ck_assert_uint_eq(w.len, 4 + 12 + 4 + 4);
	kw_free(&w);
}
END_TEST

START_TEST(test_enc_list_offsets_v7)
{
	static const uint8_t	 exp[] = {
		0x00, 0x00, 0x00, 0x51,		/* size 81 */
		0x00, 0x02, 0x00, 0x07,		/* ListOffsets v7 */
		0x00, 0x00, 0x00, 0x05,		/* CorrelationId 5 */
		KG,
		0x00,				/* header TAG_BUFFER */
		FF4,				/* ReplicaId -1 */
		0x00,				/* IsolationLevel */
		0x03,				/* Topics: 2 */
		0x03, 't', '1',			/*   Name */
		0x03,				/*   Partitions: 2 */
		0x00, 0x00, 0x00, 0x00,		/*     PartitionIndex 0 */
		FF4,				/*     CurrentLeaderEpoch */
		FF8,				/*     Timestamp -1 */
		0x00,				/*     TAG_BUFFER */
		0x00, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x05,
		FF4, 0xff, 0xff, 0xff, 0xfe,
		0x00,
		0x00,				/*   TAG_BUFFER */
		0x03, 't', '2',
		0x02,
		0x00, 0x00, 0x00, 0x00,
		FF4,
		TS17,
		0x00,
		0x00,
		0x00,				/* TAG_BUFFER */
	};
	struct kwriter		 w;

	kw_init(&w, 1024);
	ck_assert_int_eq(kafka_enc_list_offsets(&w, 7, 5, "kg", 0, lo_reqs,
	    3), 0);
	ck_assert_frame(&w, exp);
	kw_free(&w);
}
END_TEST

static const uint8_t lo_v1[] = {
	0x00, 0x00, 0x00, 0x01,			/* Topics: 1 */
	0x00, 0x02, 't', '1',			/*   Name */
	0x00, 0x00, 0x00, 0x01,			/*   Partitions: 1 */
	Z4,					/*     PartitionIndex 0 */
	0x00, 0x00,				/*     ErrorCode */
	FF8,					/*     Timestamp -1 */
	Z4, 0x00, 0x00, 0x00, 0x2a,		/*     Offset 42 */
};

static const uint8_t lo_v4[] = {
	Z4,					/* ThrottleTimeMs */
	0x00, 0x00, 0x00, 0x02,			/* Topics: 2 */
	0x00, 0x02, 't', '1',			/*   Name */
	0x00, 0x00, 0x00, 0x02,			/*   Partitions: 2 */
	Z4,					/*     PartitionIndex 0 */
	0x00, 0x00,				/*     ErrorCode */
	FF8,					/*     Timestamp -1 */
	Z4, 0x00, 0x00, 0x00, 0x2a,		/*     Offset 42 */
	0x00, 0x00, 0x00, 0x05,			/*     LeaderEpoch 5 */
	0x00, 0x00, 0x00, 0x01,			/*     PartitionIndex 1 */
	0x00, 0x4e,				/*     OFFSET_NOT_AVAILABLE */
	FF8,
	FF8,					/*     Offset -1 */
	FF4,					/*     LeaderEpoch -1 */
	0x00, 0x02, 't', '2',
	0x00, 0x00, 0x00, 0x01,
	Z4,
	0x00, 0x00,
	TS17,					/*     Timestamp */
	Z4, 0x00, 0x00, 0x00, 0x07,		/*     Offset 7 */
	Z4,					/*     LeaderEpoch 0 */
};

static const uint8_t lo_v7[] = {
	Z4,					/* ThrottleTimeMs */
	0x02,					/* Topics: 1 */
	0x03, 't', '1',				/*   Name */
	0x02,					/*   Partitions: 1 */
	0x00, 0x00, 0x00, 0x03,			/*     PartitionIndex 3 */
	0x00, 0x00,				/*     ErrorCode */
	FF8,					/*     Timestamp */
	Z4, 0x00, 0x00, 0x00, 0x10,		/*     Offset 16 */
	0x00, 0x00, 0x00, 0x02,			/*     LeaderEpoch 2 */
	0x01, 0x00, 0x01, 0xff,			/*     TAG_BUFFER: tag 0 */
	0x00,					/*   TAG_BUFFER */
	0x00,					/* TAG_BUFFER */
};

START_TEST(test_dec_list_offsets)
{
	struct kafka_list_offsets_resp	 r;

	ck_assert_int_eq(kafka_dec_list_offsets(lo_v1, sizeof(lo_v1), 1, &r),
	    0);
	ck_assert_int_eq(r.count, 1);
	ck_assert_mem_eq(r.results[0].topic.p, "t1", 2);
	ck_assert(r.results[0].timestamp == -1);
	ck_assert(r.results[0].offset == 42);
	ck_assert_int_eq(r.results[0].leader_epoch, -1);
	kafka_list_offsets_free(&r);
	check_truncations(KAFKA_API_LIST_OFFSETS, lo_v1, sizeof(lo_v1), 1);

	ck_assert_int_eq(kafka_dec_list_offsets(lo_v4, sizeof(lo_v4), 4, &r),
	    0);
	ck_assert_int_eq(r.count, 3);
	ck_assert_int_eq(r.results[0].topic.len, 2);
	ck_assert_mem_eq(r.results[0].topic.p, "t1", 2);
	ck_assert_int_eq(r.results[0].partition, 0);
	ck_assert_int_eq(r.results[0].error_code, 0);
	ck_assert(r.results[0].timestamp == -1);
	ck_assert(r.results[0].offset == 42);
	ck_assert_int_eq(r.results[0].leader_epoch, 5);
	ck_assert_mem_eq(r.results[1].topic.p, "t1", 2);
	ck_assert_int_eq(r.results[1].partition, 1);
	ck_assert_int_eq(r.results[1].error_code,
	    KAFKA_ERR_OFFSET_NOT_AVAILABLE);
	ck_assert(r.results[1].offset == -1);
	ck_assert_int_eq(r.results[1].leader_epoch, -1);
	ck_assert_mem_eq(r.results[2].topic.p, "t2", 2);
	ck_assert(r.results[2].timestamp == 1700000000000LL);
	ck_assert(r.results[2].offset == 7);
	ck_assert_int_eq(r.results[2].leader_epoch, 0);
	kafka_list_offsets_free(&r);
	check_truncations(KAFKA_API_LIST_OFFSETS, lo_v4, sizeof(lo_v4), 4);

	ck_assert_int_eq(kafka_dec_list_offsets(lo_v7, sizeof(lo_v7), 7, &r),
	    0);
	ck_assert_int_eq(r.count, 1);
	ck_assert_int_eq(r.results[0].partition, 3);
	ck_assert(r.results[0].offset == 16);
	ck_assert_int_eq(r.results[0].leader_epoch, 2);
	kafka_list_offsets_free(&r);
	check_truncations(KAFKA_API_LIST_OFFSETS, lo_v7, sizeof(lo_v7), 7);
}
END_TEST

START_TEST(test_dec_list_offsets_bad)
{
	static const uint8_t	 huge_topics[] = {
		Z4, 0x7f, 0xff, 0xff, 0xff, Z8,
	};
	static const uint8_t	 huge_parts_c[] = {
		Z4, 0x02, 0x03, 't', '1', 0xff, 0xff, 0xff, 0x7f, Z8,
	};
	static const uint8_t	 null_name[] = {
		Z4, 0x00, 0x00, 0x00, 0x01, 0xff, 0xff, Z4,
	};

	ck_assert_int_eq(dec_any(KAFKA_API_LIST_OFFSETS, huge_topics,
	    sizeof(huge_topics), 4), -1);
	ck_assert_int_eq(dec_any(KAFKA_API_LIST_OFFSETS, huge_parts_c,
	    sizeof(huge_parts_c), 7), -1);
	ck_assert_int_eq(dec_any(KAFKA_API_LIST_OFFSETS, null_name,
	    sizeof(null_name), 4), -1);
	ck_assert_int_eq(dec_any(KAFKA_API_LIST_OFFSETS, lo_v4,
	    sizeof(lo_v4), 10), -1);
}
END_TEST

/* ---- Fetch ---- */

static const struct kafka_fetch_part_req fetch_parts[] = {
	{ "t1", 0, 3, 100, 1048576 },
	{ "t1", 1, -1, 0, 65536 },
};

static const struct kafka_fetch_req fetch_req = {
	500,			/* max_wait_ms */
	1,			/* min_bytes */
	0x100000,		/* max_bytes */
	1,			/* isolation_level: READ_COMMITTED */
	fetch_parts,
	2,
};

START_TEST(test_enc_fetch_v4)
{
	static const uint8_t	 exp[] = {
		0x00, 0x00, 0x00, 0x39,		/* size 57 */
		0x00, 0x01, 0x00, 0x04,		/* Fetch v4 */
		0x00, 0x00, 0x00, 0x08,		/* CorrelationId 8 */
		KG,
		FF4,				/* ReplicaId -1 */
		0x00, 0x00, 0x01, 0xf4,		/* MaxWaitMs 500 */
		0x00, 0x00, 0x00, 0x01,		/* MinBytes 1 */
		0x00, 0x10, 0x00, 0x00,		/* MaxBytes */
		0x01,				/* IsolationLevel */
		0x00, 0x00, 0x00, 0x01,		/* Topics: 1 */
		0x00, 0x02, 't', '1',		/*   Topic */
		0x00, 0x00, 0x00, 0x01,		/*   Partitions: 1 */
		Z4,				/*     Partition 0 */
		Z4, 0x00, 0x00, 0x00, 0x64,	/*     FetchOffset 100 */
		0x00, 0x10, 0x00, 0x00,		/*     PartitionMaxBytes */
	};
	struct kafka_fetch_req	 req = fetch_req;
	struct kwriter		 w;

	req.nparts = 1;
	kw_init(&w, 1024);
	ck_assert_int_eq(kafka_enc_fetch(&w, 4, 8, "kg", &req), 0);
	ck_assert_frame(&w, exp);
	kw_free(&w);
}
END_TEST

START_TEST(test_enc_fetch_v10)
{
	static const uint8_t	 exp[] = {
		0x00, 0x00, 0x00, 0x6d,		/* size 109 */
		0x00, 0x01, 0x00, 0x0a,		/* Fetch v10 */
		0x00, 0x00, 0x00, 0x06,		/* CorrelationId 6 */
		KG,
		FF4,				/* ReplicaId -1 */
		0x00, 0x00, 0x01, 0xf4,		/* MaxWaitMs 500 */
		0x00, 0x00, 0x00, 0x01,		/* MinBytes 1 */
		0x00, 0x10, 0x00, 0x00,		/* MaxBytes */
		0x01,				/* IsolationLevel */
		Z4,				/* SessionId 0 */
		FF4,				/* SessionEpoch -1 */
		0x00, 0x00, 0x00, 0x01,		/* Topics: 1 */
		0x00, 0x02, 't', '1',		/*   Topic */
		0x00, 0x00, 0x00, 0x02,		/*   Partitions: 2 */
		Z4,				/*     Partition 0 */
		0x00, 0x00, 0x00, 0x03,		/*     CurrentLeaderEpoch */
		Z4, 0x00, 0x00, 0x00, 0x64,	/*     FetchOffset 100 */
		FF8,				/*     LogStartOffset -1 */
		0x00, 0x10, 0x00, 0x00,		/*     PartitionMaxBytes */
		0x00, 0x00, 0x00, 0x01,		/*     Partition 1 */
		FF4,
		Z8,
		FF8,
		0x00, 0x01, 0x00, 0x00,
		Z4,				/* ForgottenTopicsData: 0 */
	};
	struct kwriter		 w;

	kw_init(&w, 1024);
	ck_assert_int_eq(kafka_enc_fetch(&w, 10, 6, "kg", &fetch_req), 0);
	ck_assert_frame(&w, exp);
	kw_free(&w);
}
END_TEST

START_TEST(test_enc_fetch_v11)
{
	struct kwriter		 w;

	/* v11 = v10 + RackId "" as STRING. */
	kw_init(&w, 1024);
	ck_assert_int_eq(kafka_enc_fetch(&w, 11, 6, "kg", &fetch_req), 0);
	ck_assert_uint_eq(w.len, 4 + 111);	/* size 109 + 2 */
	ck_assert_mem_eq(w.buf, "\0\0\0\157\0\1\0\13", 8);
	ck_assert_mem_eq(w.buf + w.len - 6, "\0\0\0\0\0\0", 6);
	kw_free(&w);
}
END_TEST

START_TEST(test_enc_fetch_v12)
{
	static const uint8_t	 exp[] = {
		0x00, 0x00, 0x00, 0x71,		/* size 113 */
		0x00, 0x01, 0x00, 0x0c,		/* Fetch v12 */
		0x00, 0x00, 0x00, 0x07,		/* CorrelationId 7 */
		KG,
		0x00,				/* header TAG_BUFFER */
		FF4,				/* ReplicaId -1 */
		0x00, 0x00, 0x01, 0xf4,		/* MaxWaitMs 500 */
		0x00, 0x00, 0x00, 0x01,		/* MinBytes 1 */
		0x00, 0x10, 0x00, 0x00,		/* MaxBytes */
		0x01,				/* IsolationLevel */
		Z4,				/* SessionId 0 */
		FF4,				/* SessionEpoch -1 */
		0x02,				/* Topics: 1 */
		0x03, 't', '1',			/*   Topic */
		0x03,				/*   Partitions: 2 */
		Z4,				/*     Partition 0 */
		0x00, 0x00, 0x00, 0x03,		/*     CurrentLeaderEpoch */
		Z4, 0x00, 0x00, 0x00, 0x64,	/*     FetchOffset 100 */
		FF4,				/*     LastFetchedEpoch -1 */
		FF8,				/*     LogStartOffset -1 */
		0x00, 0x10, 0x00, 0x00,		/*     PartitionMaxBytes */
		0x00,				/*     TAG_BUFFER */
		0x00, 0x00, 0x00, 0x01,		/*     Partition 1 */
		FF4,
		Z8,
		FF4,
		FF8,
		0x00, 0x01, 0x00, 0x00,
		0x00,
		0x00,				/*   TAG_BUFFER */
		0x01,				/* ForgottenTopicsData: 0 */
		0x01,				/* RackId "" */
		0x00,				/* TAG_BUFFER */
	};
	struct kwriter		 w;

	kw_init(&w, 1024);
	ck_assert_int_eq(kafka_enc_fetch(&w, 12, 7, "kg", &fetch_req), 0);
	ck_assert_frame(&w, exp);
	kw_free(&w);
}
END_TEST

static const uint8_t fetch_v4[] = {
	Z4,					/* ThrottleTimeMs */
	0x00, 0x00, 0x00, 0x01,			/* Responses: 1 */
	0x00, 0x02, 't', '1',			/*   Topic */
	0x00, 0x00, 0x00, 0x01,			/*   Partitions: 1 */
	Z4,					/*     PartitionIndex 0 */
	0x00, 0x00,				/*     ErrorCode */
	Z4, 0x00, 0x00, 0x00, 0x0a,		/*     HighWatermark 10 */
	Z4, 0x00, 0x00, 0x00, 0x09,		/*     LastStableOffset 9 */
	FF4,					/*     AbortedTxns: null */
	Z4,					/*     Records: 0 bytes */
};

static const uint8_t fetch_v10[] = {
	Z4,					/* ThrottleTimeMs */
	0x00, 0x00,				/* ErrorCode */
	Z4,					/* SessionId */
	0x00, 0x00, 0x00, 0x01,			/* Responses: 1 */
	0x00, 0x02, 't', '1',			/*   Topic */
	0x00, 0x00, 0x00, 0x02,			/*   Partitions: 2 */
	Z4,					/*     PartitionIndex 0 */
	0x00, 0x00,				/*     ErrorCode */
	Z4, 0x00, 0x00, 0x00, 0x64,		/*     HighWatermark 100 */
	Z4, 0x00, 0x00, 0x00, 0x63,		/*     LastStableOffset 99 */
	Z4, 0x00, 0x00, 0x00, 0x02,		/*     LogStartOffset 2 */
	0x00, 0x00, 0x00, 0x01,			/*     AbortedTransactions */
	Z4, 0x00, 0x00, 0x00, 0x07,		/*       ProducerId 7 */
	Z4, 0x00, 0x00, 0x00, 0x32,		/*       FirstOffset 50 */
	0x00, 0x00, 0x00, 0x05,			/*     Records: 5 bytes */
	0x01, 0x02, 0x03, 0x04, 0x05,
	0x00, 0x00, 0x00, 0x01,			/*     PartitionIndex 1 */
	0x00, 0x01,				/*     OFFSET_OUT_OF_RANGE */
	FF8,					/*     HighWatermark -1 */
	FF8,					/*     LastStableOffset -1 */
	FF8,					/*     LogStartOffset -1 */
	FF4,					/*     AbortedTxns: null */
	FF4,					/*     Records null */
};

static const uint8_t fetch_v12[] = {
	0x00, 0x00, 0x00, 0x0a,			/* ThrottleTimeMs 10 */
	0x00, 0x00,				/* ErrorCode */
	Z4,					/* SessionId */
	0x02,					/* Responses: 1 */
	0x03, 't', '1',				/*   Topic */
	0x03,					/*   Partitions: 2 */
	0x00, 0x00, 0x00, 0x02,			/*     PartitionIndex 2 */
	0x00, 0x00,				/*     ErrorCode */
	Z4, 0x00, 0x00, 0x00, 0x64,		/*     HighWatermark 100 */
	Z4, 0x00, 0x00, 0x00, 0x64,		/*     LastStableOffset */
	Z8,					/*     LogStartOffset 0 */
	0x00,					/*     AbortedTxns: null */
	FF4,					/*     PreferredReadReplica */
	0x04, 0xaa, 0xbb, 0xcc,			/*     Records: 3 bytes */
	0x02,					/*     TAG_BUFFER: 2 tags */
	0x01, 0x09,				/*      CurrentLeader, 9 */
	0x00, 0x00, 0x00, 0x01,			/*       LeaderId 1 */
	0x00, 0x00, 0x00, 0x05,			/*       LeaderEpoch 5 */
	0x00,					/*       TAG_BUFFER */
	0x07, 0x00,				/*      unknown tag 7, empty */
	0x00, 0x00, 0x00, 0x03,			/*     PartitionIndex 3 */
	0x00, 0x00,
	Z4, 0x00, 0x00, 0x00, 0x0a,		/*     HighWatermark 10 */
	Z4, 0x00, 0x00, 0x00, 0x05,		/*     LastStableOffset 5 */
	Z8,
	0x02,					/*     AbortedTransactions 1 */
	Z4, 0x00, 0x00, 0x00, 0x08,		/*       ProducerId 8 */
	Z4, 0x00, 0x00, 0x00, 0x09,		/*       FirstOffset 9 */
	0x00,					/*       TAG_BUFFER */
	0x00, 0x00, 0x00, 0x02,			/*     PreferredReadReplica 2 */
	0x01,					/*     Records: empty */
	0x00,					/*     TAG_BUFFER */
	0x00,					/*   TAG_BUFFER */
	0x00,					/* TAG_BUFFER */
};

/* AbortedTransactions, unsorted as a broker may send them. */
static const uint8_t fetch_v4_aborted[] = {
	Z4,					/* ThrottleTimeMs */
	0x00, 0x00, 0x00, 0x01,			/* Responses: 1 */
	0x00, 0x02, 't', '1',			/*   Topic */
	0x00, 0x00, 0x00, 0x02,			/*   Partitions: 2 */
	0x00, 0x00, 0x00, 0x04,			/*     PartitionIndex 4 */
	0x00, 0x00,				/*     ErrorCode */
	Z4, 0x00, 0x00, 0x00, 0x30,		/*     HighWatermark 48 */
	Z4, 0x00, 0x00, 0x00, 0x20,		/*     LastStableOffset 32 */
	0x00, 0x00, 0x00, 0x02,			/*     AbortedTransactions */
	Z4, 0x00, 0x00, 0x10, 0x00,		/*       ProducerId 4096 */
	Z4, 0x00, 0x00, 0x00, 0x1e,		/*       FirstOffset 30 */
	0x7f, 0xff, 0xff, 0xff, FF4,		/*       ProducerId max */
	Z4, 0x00, 0x00, 0x00, 0x03,		/*       FirstOffset 3 */
	0x00, 0x00, 0x00, 0x02,			/*     Records: 2 bytes */
	0xde, 0xad,
	0x00, 0x00, 0x00, 0x05,			/*     PartitionIndex 5 */
	0x00, 0x00,				/*     ErrorCode */
	Z8,					/*     HighWatermark 0 */
	Z8,					/*     LastStableOffset 0 */
	Z4,					/*     AbortedTxns: empty */
	FF4,					/*     Records null */
};

static const uint8_t fetch_v11[] = {
	Z4,					/* ThrottleTimeMs */
	0x00, 0x00,				/* ErrorCode */
	Z4,					/* SessionId */
	0x00, 0x00, 0x00, 0x02,			/* Responses: 2 */
	0x00, 0x01, 'a',			/*   Topic */
	0x00, 0x00, 0x00, 0x01,			/*   Partitions: 1 */
	Z4,					/*     PartitionIndex 0 */
	0x00, 0x00,				/*     ErrorCode */
	Z4, 0x00, 0x00, 0x01, 0x00,		/*     HighWatermark 256 */
	Z4, 0x00, 0x00, 0x00, 0xf0,		/*     LastStableOffset 240 */
	Z8,					/*     LogStartOffset 0 */
	0x00, 0x00, 0x00, 0x03,			/*     AbortedTransactions */
	Z4, 0x00, 0x00, 0x00, 0x02,		/*       ProducerId 2 */
	Z4, 0x00, 0x00, 0x00, 0x64,		/*       FirstOffset 100 */
	Z4, 0x00, 0x00, 0x00, 0x01,		/*       ProducerId 1 */
	Z4, 0x00, 0x00, 0x00, 0x0a,		/*       FirstOffset 10 */
	Z4, 0x00, 0x00, 0x00, 0x02,		/*       ProducerId 2 */
	Z4, 0x00, 0x00, 0x00, 0x14,		/*       FirstOffset 20 */
	FF4,					/*     PreferredReadReplica */
	0x00, 0x00, 0x00, 0x01,			/*     Records: 1 byte */
	0x77,
	0x00, 0x01, 'b',			/*   Topic */
	0x00, 0x00, 0x00, 0x01,			/*   Partitions: 1 */
	0x00, 0x00, 0x00, 0x07,			/*     PartitionIndex 7 */
	0x00, 0x00,				/*     ErrorCode */
	Z4, 0x00, 0x00, 0x00, 0x01,		/*     HighWatermark 1 */
	FF8,					/*     LastStableOffset -1 */
	Z8,					/*     LogStartOffset 0 */
	FF4,					/*     AbortedTxns: null */
	0x00, 0x00, 0x00, 0x03,			/*     PreferredReadReplica 3 */
	Z4,					/*     Records: 0 bytes */
};

static const uint8_t fetch_v12_aborted[] = {
	Z4,					/* ThrottleTimeMs */
	0x00, 0x00,				/* ErrorCode */
	Z4,					/* SessionId */
	0x02,					/* Responses: 1 */
	0x03, 't', '1',				/*   Topic */
	0x03,					/*   Partitions: 2 */
	Z4,					/*     PartitionIndex 0 */
	0x00, 0x00,				/*     ErrorCode */
	Z4, 0x00, 0x00, 0x00, 0x64,		/*     HighWatermark 100 */
	Z4, 0x00, 0x00, 0x00, 0x50,		/*     LastStableOffset 80 */
	Z8,					/*     LogStartOffset 0 */
	0x04,					/*     AbortedTransactions 3 */
	Z4, 0x00, 0x00, 0x00, 0x0b,		/*       ProducerId 11 */
	Z4, 0x00, 0x00, 0x00, 0x28,		/*       FirstOffset 40 */
	0x00,					/*       TAG_BUFFER */
	Z4, 0x00, 0x00, 0x00, 0x0c,		/*       ProducerId 12 */
	Z4, 0x00, 0x00, 0x00, 0x05,		/*       FirstOffset 5 */
	0x01, 0x03, 0x02, 0xaa, 0xbb,		/*       TAG_BUFFER: tag 3 */
	FF8,					/*       ProducerId -1 */
	FF8,					/*       FirstOffset -1 */
	0x00,					/*       TAG_BUFFER */
	FF4,					/*     PreferredReadReplica */
	0x01,					/*     Records: empty */
	0x00,					/*     TAG_BUFFER */
	0x00, 0x00, 0x00, 0x01,			/*     PartitionIndex 1 */
	0x00, 0x00,				/*     ErrorCode */
	Z8,					/*     HighWatermark 0 */
	Z8,					/*     LastStableOffset 0 */
	Z8,					/*     LogStartOffset 0 */
	0x01,					/*     AbortedTxns: empty */
	FF4,					/*     PreferredReadReplica */
	0x00,					/*     Records: null */
	0x00,					/*     TAG_BUFFER */
	0x00,					/*   TAG_BUFFER */
	0x00,					/* TAG_BUFFER */
};

START_TEST(test_dec_fetch_v4)
{
	struct kafka_fetch_resp	 r;

	ck_assert_int_eq(kafka_dec_fetch(fetch_v4, sizeof(fetch_v4), 4, &r),
	    0);
	ck_assert_int_eq(r.error_code, 0);
	ck_assert_int_eq(r.count, 1);
	ck_assert(r.parts[0].high_watermark == 10);
	ck_assert(r.parts[0].last_stable_offset == 9);
	ck_assert(r.parts[0].log_start_offset == -1);
	ck_assert_int_eq(r.parts[0].preferred_read_replica, -1);
	ck_assert_ptr_nonnull(r.parts[0].records);
	ck_assert_uint_eq(r.parts[0].records_len, 0);
	ck_assert_ptr_null(r.parts[0].aborted);
	ck_assert_int_eq(r.parts[0].naborted, 0);
	kafka_fetch_free(&r);
	check_truncations(KAFKA_API_FETCH, fetch_v4, sizeof(fetch_v4), 4);
}
END_TEST

START_TEST(test_dec_fetch_aborted_v4)
{
	struct kafka_fetch_resp	 r;

	ck_assert_int_eq(kafka_dec_fetch(fetch_v4_aborted,
	    sizeof(fetch_v4_aborted), 4, &r), 0);
	ck_assert_int_eq(r.count, 2);
	ck_assert_int_eq(r.parts[0].partition, 4);
	ck_assert(r.parts[0].last_stable_offset == 32);
	/* As sent: not sorted. */
	ck_assert_int_eq(r.parts[0].naborted, 2);
	ck_assert_ptr_nonnull(r.parts[0].aborted);
	ck_assert(r.parts[0].aborted[0].producer_id == 4096);
	ck_assert(r.parts[0].aborted[0].first_offset == 30);
	ck_assert(r.parts[0].aborted[1].producer_id == INT64_MAX);
	ck_assert(r.parts[0].aborted[1].first_offset == 3);
	ck_assert_uint_eq(r.parts[0].records_len, 2);
	ck_assert_ptr_eq(r.parts[0].records, fetch_v4_aborted + 78);
	ck_assert_int_eq(r.parts[1].partition, 5);
	ck_assert_int_eq(r.parts[1].naborted, 0);
	ck_assert_ptr_null(r.parts[1].aborted);
	ck_assert_ptr_null(r.parts[1].records);
	kafka_fetch_free(&r);
	ck_assert_ptr_null(r.parts);
	check_truncations(KAFKA_API_FETCH, fetch_v4_aborted,
	    sizeof(fetch_v4_aborted), 4);
}
END_TEST

START_TEST(test_dec_fetch_aborted_v11)
{
	struct kafka_fetch_resp	 r;

	ck_assert_int_eq(kafka_dec_fetch(fetch_v11, sizeof(fetch_v11), 11,
	    &r), 0);
	ck_assert_int_eq(r.count, 2);
	ck_assert_mem_eq(r.parts[0].topic.p, "a", 1);
	ck_assert(r.parts[0].last_stable_offset == 240);
	ck_assert_int_eq(r.parts[0].naborted, 3);
	ck_assert(r.parts[0].aborted[0].producer_id == 2);
	ck_assert(r.parts[0].aborted[0].first_offset == 100);
	ck_assert(r.parts[0].aborted[1].producer_id == 1);
	ck_assert(r.parts[0].aborted[1].first_offset == 10);
	ck_assert(r.parts[0].aborted[2].producer_id == 2);
	ck_assert(r.parts[0].aborted[2].first_offset == 20);
	ck_assert_int_eq(r.parts[0].preferred_read_replica, -1);
	ck_assert_uint_eq(r.parts[0].records_len, 1);
	ck_assert_uint_eq(r.parts[0].records[0], 0x77);
	ck_assert_mem_eq(r.parts[1].topic.p, "b", 1);
	ck_assert_int_eq(r.parts[1].partition, 7);
	ck_assert(r.parts[1].last_stable_offset == -1);
	ck_assert_int_eq(r.parts[1].naborted, 0);
	ck_assert_ptr_null(r.parts[1].aborted);
	ck_assert_int_eq(r.parts[1].preferred_read_replica, 3);
	ck_assert_ptr_nonnull(r.parts[1].records);
	ck_assert_uint_eq(r.parts[1].records_len, 0);
	kafka_fetch_free(&r);
	check_truncations(KAFKA_API_FETCH, fetch_v11, sizeof(fetch_v11), 11);
	/* The same bytes are not a v10 body (no PreferredReadReplica). */
	ck_assert_int_eq(dec_any(KAFKA_API_FETCH, fetch_v11,
	    sizeof(fetch_v11), 10), -1);
}
END_TEST

START_TEST(test_dec_fetch_aborted_v12)
{
	struct kafka_fetch_resp	 r;

	ck_assert_int_eq(kafka_dec_fetch(fetch_v12_aborted,
	    sizeof(fetch_v12_aborted), 12, &r), 0);
	ck_assert_int_eq(r.count, 2);
	ck_assert_int_eq(r.parts[0].naborted, 3);
	ck_assert(r.parts[0].aborted[0].producer_id == 11);
	ck_assert(r.parts[0].aborted[0].first_offset == 40);
	/* An unknown tagged field in an entry is skipped. */
	ck_assert(r.parts[0].aborted[1].producer_id == 12);
	ck_assert(r.parts[0].aborted[1].first_offset == 5);
	ck_assert(r.parts[0].aborted[2].producer_id == -1);
	ck_assert(r.parts[0].aborted[2].first_offset == -1);
	ck_assert_ptr_nonnull(r.parts[0].records);
	ck_assert_uint_eq(r.parts[0].records_len, 0);
	/* Compact: 1 is empty, 0 would be null; both mean none. */
	ck_assert_int_eq(r.parts[1].naborted, 0);
	ck_assert_ptr_null(r.parts[1].aborted);
	ck_assert_ptr_null(r.parts[1].records);
	kafka_fetch_free(&r);
	check_truncations(KAFKA_API_FETCH, fetch_v12_aborted,
	    sizeof(fetch_v12_aborted), 12);
}
END_TEST

START_TEST(test_dec_fetch_v10)
{
	struct kafka_fetch_resp	 r;

	ck_assert_int_eq(kafka_dec_fetch(fetch_v10, sizeof(fetch_v10), 10,
	    &r), 0);
	ck_assert_int_eq(r.throttle_ms, 0);
	ck_assert_int_eq(r.error_code, 0);
	ck_assert_int_eq(r.count, 2);
	ck_assert_int_eq(r.parts[0].topic.len, 2);
	ck_assert_mem_eq(r.parts[0].topic.p, "t1", 2);
	ck_assert_int_eq(r.parts[0].partition, 0);
	ck_assert_int_eq(r.parts[0].error_code, 0);
	ck_assert(r.parts[0].high_watermark == 100);
	ck_assert(r.parts[0].last_stable_offset == 99);
	ck_assert(r.parts[0].log_start_offset == 2);
	ck_assert_int_eq(r.parts[0].preferred_read_replica, -1);
	/* Records are a view into the input. */
	ck_assert_ptr_eq(r.parts[0].records, fetch_v10 + 76);
	ck_assert_uint_eq(r.parts[0].records_len, 5);
	ck_assert_uint_eq(r.parts[0].records[4], 5);
	ck_assert_int_eq(r.parts[0].naborted, 1);
	ck_assert(r.parts[0].aborted[0].producer_id == 7);
	ck_assert(r.parts[0].aborted[0].first_offset == 50);
	ck_assert_int_eq(r.parts[1].naborted, 0);
	ck_assert_ptr_null(r.parts[1].aborted);
	ck_assert_mem_eq(r.parts[1].topic.p, "t1", 2);
	ck_assert_int_eq(r.parts[1].partition, 1);
	ck_assert_int_eq(r.parts[1].error_code, KAFKA_ERR_OFFSET_OUT_OF_RANGE);
	ck_assert(r.parts[1].high_watermark == -1);
	ck_assert_ptr_null(r.parts[1].records);
	ck_assert_uint_eq(r.parts[1].records_len, 0);
	kafka_fetch_free(&r);
	check_truncations(KAFKA_API_FETCH, fetch_v10, sizeof(fetch_v10), 10);
}
END_TEST

START_TEST(test_dec_fetch_v12)
{
	struct kafka_fetch_resp	 r;

	ck_assert_int_eq(kafka_dec_fetch(fetch_v12, sizeof(fetch_v12), 12,
	    &r), 0);
	ck_assert_int_eq(r.throttle_ms, 10);
	ck_assert_int_eq(r.count, 2);
	ck_assert_mem_eq(r.parts[0].topic.p, "t1", 2);
	ck_assert_int_eq(r.parts[0].partition, 2);
	ck_assert(r.parts[0].high_watermark == 100);
	ck_assert(r.parts[0].log_start_offset == 0);
	ck_assert_int_eq(r.parts[0].preferred_read_replica, -1);
	ck_assert_uint_eq(r.parts[0].records_len, 3);
	ck_assert_mem_eq(r.parts[0].records, "\xaa\xbb\xcc", 3);
	ck_assert_int_eq(r.parts[0].naborted, 0);
	ck_assert_ptr_null(r.parts[0].aborted);
	ck_assert_int_eq(r.parts[1].naborted, 1);
	ck_assert(r.parts[1].aborted[0].producer_id == 8);
	ck_assert(r.parts[1].aborted[0].first_offset == 9);
	ck_assert_int_eq(r.parts[1].partition, 3);
	ck_assert(r.parts[1].high_watermark == 10);
	ck_assert(r.parts[1].last_stable_offset == 5);
	ck_assert_int_eq(r.parts[1].preferred_read_replica, 2);
	ck_assert_ptr_nonnull(r.parts[1].records);
	ck_assert_uint_eq(r.parts[1].records_len, 0);
	kafka_fetch_free(&r);
	check_truncations(KAFKA_API_FETCH, fetch_v12, sizeof(fetch_v12), 12);
}
END_TEST

START_TEST(test_dec_fetch_bad)
{
	static const uint8_t	 huge_topics[] = {
		Z4, 0x00, 0x00, Z4, 0x7f, 0xff, 0xff, 0xff, Z8,
	};
	static const uint8_t	 huge_parts[] = {
		Z4, 0x00, 0x00, Z4, 0x00, 0x00, 0x00, 0x01,
		0x00, 0x02, 't', '1', 0x00, 0x10, 0x00, 0x00, Z8, Z8,
	};
	static const uint8_t	 huge_aborted_c[] = {
		Z4, 0x00, 0x00, Z4, 0x02, 0x03, 't', '1', 0x02,
		Z4, 0x00, 0x00, Z8, Z8, Z8,
		0xff, 0xff, 0xff, 0xff, 0x0f,	/* AbortedTransactions */
		Z8, Z8,
	};
	static const uint8_t	 long_records[] = {
		Z4, 0x00, 0x00, Z4, 0x00, 0x00, 0x00, 0x01,
		0x00, 0x02, 't', '1', 0x00, 0x00, 0x00, 0x01,
		Z4, 0x00, 0x00, Z8, Z8, Z8, FF4,
		0x00, 0x00, 0x00, 0x10,		/* Records: 16 bytes */
		0x01, 0x02,			/*   ... only 2 */
	};

	ck_assert_int_eq(dec_any(KAFKA_API_FETCH, huge_topics,
	    sizeof(huge_topics), 10), -1);
	ck_assert_int_eq(dec_any(KAFKA_API_FETCH, huge_parts,
	    sizeof(huge_parts), 10), -1);
	ck_assert_int_eq(dec_any(KAFKA_API_FETCH, huge_aborted_c,
	    sizeof(huge_aborted_c), 12), -1);
	ck_assert_int_eq(dec_any(KAFKA_API_FETCH, long_records,
	    sizeof(long_records), 10), -1);
	ck_assert_int_eq(dec_any(KAFKA_API_FETCH, fetch_v10,
	    sizeof(fetch_v10), 3), -1);
	ck_assert_int_eq(dec_any(KAFKA_API_FETCH, fetch_v12,
	    sizeof(fetch_v12), 13), -1);
}
END_TEST


/* ---- SaslHandshake (17) / SaslAuthenticate (36) ---- */

START_TEST(test_enc_sasl_handshake)
{
	static const uint8_t	 exp[] = {
		0x00, 0x00, 0x00, 0x13,		/* size 19 */
		0x00, 0x11,			/* SaslHandshake */
		0x00, 0x01,			/* v1: header v1, never flexible */
		0x00, 0x00, 0x00, 0x07,		/* CorrelationId 7 */
		KG,				/* ClientId */
		0x00, 0x05, 'P', 'L', 'A', 'I', 'N',	/* Mechanism */
	};
	struct kwriter		 w;

	kw_init(&w, 1024);
	ck_assert_int_eq(kafka_enc_sasl_handshake(&w, 1, 7, "kg", "PLAIN"), 0);
	ck_assert_frame(&w, exp);
	/* v0 has the same body. */
	kw_reset(&w);
	ck_assert_int_eq(kafka_enc_sasl_handshake(&w, 0, 7, "kg", "PLAIN"), 0);
	ck_assert_uint_eq(w.len, sizeof(exp));
	ck_assert_int_eq(w.buf[7], 0);
	ck_assert_mem_eq(w.buf + 8, exp + 8, sizeof(exp) - 8);
	kw_free(&w);
}
END_TEST

/* v0 and v1 requests differ only in the version. */
START_TEST(test_enc_sasl_authenticate_v0_v1)
{
	static const uint8_t	 exp[] = {
		0x00, 0x00, 0x00, 0x14,		/* size 20 */
		0x00, 0x24,			/* SaslAuthenticate */
		0x00, 0x00,			/* v0 */
		0x00, 0x00, 0x00, 0x08,		/* CorrelationId 8 */
		KG,				/* ClientId */
		0x00, 0x00, 0x00, 0x04,		/* AuthBytes: BYTES, 4 */
		0x00, 'u', 0x00, 'p',
	};
	struct kwriter		 w;
	uint8_t			 v1[sizeof(exp)];

	kw_init(&w, 1024);
	ck_assert_int_eq(kafka_enc_sasl_authenticate(&w, 0, 8, "kg",
	    (const uint8_t *)"\0u\0p", 4), 0);
	ck_assert_frame(&w, exp);
	kw_reset(&w);
	memcpy(v1, exp, sizeof(exp));
	v1[7] = 1;
	ck_assert_int_eq(kafka_enc_sasl_authenticate(&w, 1, 8, "kg",
	    (const uint8_t *)"\0u\0p", 4), 0);
	ck_assert_frame(&w, v1);
	kw_free(&w);
}
END_TEST

START_TEST(test_enc_sasl_authenticate_v2)
{
	static const uint8_t	 exp[] = {
		0x00, 0x00, 0x00, 0x13,		/* size 19 */
		0x00, 0x24,			/* SaslAuthenticate */
		0x00, 0x02,			/* v2: flexible, header v2 */
		0x00, 0x00, 0x00, 0x09,		/* CorrelationId 9 */
		KG,				/* ClientId, not compact */
		0x00,				/* header TAG_BUFFER */
		0x05, 0x00, 'u', 0x00, 'p',	/* AuthBytes: COMPACT_BYTES */
		0x00,				/* TAG_BUFFER */
	};
	static const uint8_t	 empty[] = {
		0x00, 0x00, 0x00, 0x0f,		/* size 15 */
		0x00, 0x24, 0x00, 0x02, 0x00, 0x00, 0x00, 0x0a, KG, 0x00,
		0x01,				/* AuthBytes: empty */
		0x00,
	};
	struct kwriter		 w;

	kw_init(&w, 1024);
	ck_assert_int_eq(kafka_enc_sasl_authenticate(&w, 2, 9, "kg",
	    (const uint8_t *)"\0u\0p", 4), 0);
	ck_assert_frame(&w, exp);
	kw_reset(&w);
	ck_assert_int_eq(kafka_enc_sasl_authenticate(&w, 2, 10, "kg", NULL, 0),
	    0);
	ck_assert_frame(&w, empty);
	kw_free(&w);
}
END_TEST

/* Error 33 with the enabled mechanisms. */
static const uint8_t sh_v1[] = {
	0x00, 0x21,				/* ErrorCode 33 */
	0x00, 0x00, 0x00, 0x02,			/* Mechanisms: 2 */
	0x00, 0x05, 'P', 'L', 'A', 'I', 'N',
	0x00, 0x0d, 'S', 'C', 'R', 'A', 'M', '-', 'S', 'H', 'A', '-', '2',
	'5', '6',
};

static const uint8_t sa_v0[] = {
	0x00, 0x00,				/* ErrorCode 0 */
	0xff, 0xff,				/* ErrorMessage null */
	0x00, 0x00, 0x00, 0x03, 'a', 'b', 'c',	/* AuthBytes */
};

static const uint8_t sa_v1[] = {
	0x00, 0x3a,				/* ErrorCode 58 */
	0x00, 0x03, 'b', 'a', 'd',		/* ErrorMessage */
	0x00, 0x00, 0x00, 0x00,			/* AuthBytes: empty */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x27, 0x10, /* SessionLifetimeMs */
};

static const uint8_t sa_v2[] = {
	0x00, 0x00,				/* ErrorCode 0 */
	0x00,					/* ErrorMessage: null */
	0x04, 'v', '=', 'x',			/* AuthBytes: COMPACT_BYTES */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x36, 0xee, 0x80, /* 3600000 ms */
	0x00,					/* TAG_BUFFER */
};

START_TEST(test_dec_sasl_handshake)
{
	struct kafka_sasl_handshake_resp	 r;
	static const uint8_t			 ok[] = { 0x00, 0x00, Z4 };

	ck_assert_int_eq(kafka_dec_sasl_handshake(sh_v1, sizeof(sh_v1), 1,
	    &r), 0);
	ck_assert_int_eq(r.error_code, 33);
	ck_assert_int_eq(r.count, 2);
	ck_assert_int_eq(r.mechanisms[0].len, 5);
	ck_assert_mem_eq(r.mechanisms[0].p, "PLAIN", 5);
	ck_assert_int_eq(r.mechanisms[1].len, 13);
	ck_assert_mem_eq(r.mechanisms[1].p, "SCRAM-SHA-256", 13);
	kafka_sasl_handshake_free(&r);
	ck_assert_ptr_null(r.mechanisms);
	/* No error, empty list; v0 decodes the same. */
	ck_assert_int_eq(kafka_dec_sasl_handshake(ok, sizeof(ok), 0, &r), 0);
	ck_assert_int_eq(r.error_code, 0);
	ck_assert_int_eq(r.count, 0);
	kafka_sasl_handshake_free(&r);
	check_truncations(KAFKA_API_SASL_HANDSHAKE, sh_v1, sizeof(sh_v1), 1);
}
END_TEST

START_TEST(test_dec_sasl_authenticate)
{
	struct kafka_sasl_authenticate_resp	 r;

	ck_assert_int_eq(kafka_dec_sasl_authenticate(sa_v0, sizeof(sa_v0), 0,
	    &r), 0);
	ck_assert_int_eq(r.error_code, 0);
	ck_assert_int_eq(r.error_message.len, -1);
	ck_assert_int_eq(r.auth_bytes.len, 3);
	ck_assert_mem_eq(r.auth_bytes.p, "abc", 3);
	ck_assert(r.session_lifetime_ms == 0);

	ck_assert_int_eq(kafka_dec_sasl_authenticate(sa_v1, sizeof(sa_v1), 1,
	    &r), 0);
	ck_assert_int_eq(r.error_code, 58);
	ck_assert_int_eq(r.error_message.len, 3);
	ck_assert_mem_eq(r.error_message.p, "bad", 3);
	ck_assert_int_eq(r.auth_bytes.len, 0);
	ck_assert(r.session_lifetime_ms == 10000);

	ck_assert_int_eq(kafka_dec_sasl_authenticate(sa_v2, sizeof(sa_v2), 2,
	    &r), 0);
	ck_assert_int_eq(r.error_code, 0);
	ck_assert_int_eq(r.error_message.len, -1);
	ck_assert_int_eq(r.auth_bytes.len, 3);
	ck_assert_mem_eq(r.auth_bytes.p, "v=x", 3);
	ck_assert(r.session_lifetime_ms == 3600000);

	check_truncations(KAFKA_API_SASL_AUTHENTICATE, sa_v0, sizeof(sa_v0), 0);
	check_truncations(KAFKA_API_SASL_AUTHENTICATE, sa_v1, sizeof(sa_v1), 1);
	check_truncations(KAFKA_API_SASL_AUTHENTICATE, sa_v2, sizeof(sa_v2), 2);
}
END_TEST

START_TEST(test_dec_sasl_bad)
{
	static const uint8_t	 null_mech[] = {
		0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0xff,
	};
	static const uint8_t	 huge_mechs[] = {
		0x00, 0x21, 0x7f, 0xff, 0xff, 0xff, 0x00, 0x00,
	};
	static const uint8_t	 null_auth_v0[] = {
		0x00, 0x00, 0xff, 0xff, FF4,	/* AuthBytes null */
	};
	static const uint8_t	 null_auth_v2[] = {
		0x00, 0x00, 0x00, 0x00, Z8, 0x00,
	};
	static const uint8_t	 long_auth[] = {
		0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x01, 0x00, 'x',
	};

	ck_assert_int_eq(dec_any(KAFKA_API_SASL_HANDSHAKE, null_mech,
	    sizeof(null_mech), 1), -1);
	ck_assert_int_eq(dec_any(KAFKA_API_SASL_HANDSHAKE, huge_mechs,
	    sizeof(huge_mechs), 1), -1);
	ck_assert_int_eq(dec_any(KAFKA_API_SASL_HANDSHAKE, sh_v1,
	    sizeof(sh_v1), 2), -1);
	ck_assert_int_eq(dec_any(KAFKA_API_SASL_AUTHENTICATE, null_auth_v0,
	    sizeof(null_auth_v0), 0), -1);
	ck_assert_int_eq(dec_any(KAFKA_API_SASL_AUTHENTICATE, null_auth_v2,
	    sizeof(null_auth_v2), 2), -1);
	ck_assert_int_eq(dec_any(KAFKA_API_SASL_AUTHENTICATE, long_auth,
	    sizeof(long_auth), 0), -1);
	ck_assert_int_eq(dec_any(KAFKA_API_SASL_AUTHENTICATE, sa_v2,
	    sizeof(sa_v2), 3), -1);
	ck_assert_int_eq(dec_any(KAFKA_API_SASL_AUTHENTICATE, sa_v0,
	    sizeof(sa_v0), -1), -1);
}
END_TEST

/*
 * Every decoder at every version on every vector: whatever it returns, it
 * must not crash, leak or read out of bounds.
 */
START_TEST(test_dec_cross)
{
	static const struct {
		const uint8_t	*p;
		size_t		 n;
	} vec[] = {
		{ av_v0, sizeof(av_v0) }, { av_v2, sizeof(av_v2) },
		{ av_v3, sizeof(av_v3) }, { av_mock, sizeof(av_mock) },
		{ md_v1, sizeof(md_v1) }, { md_v7, sizeof(md_v7) },
		{ md_v12, sizeof(md_v12) }, { lo_v1, sizeof(lo_v1) },
		{ lo_v4, sizeof(lo_v4) }, { lo_v7, sizeof(lo_v7) },
		{ fetch_v4, sizeof(fetch_v4) },
		{ fetch_v10, sizeof(fetch_v10) },
		{ fetch_v12, sizeof(fetch_v12) },
		{ fetch_v4_aborted, sizeof(fetch_v4_aborted) },
		{ fetch_v11, sizeof(fetch_v11) },
		{ fetch_v12_aborted, sizeof(fetch_v12_aborted) },
		{ sh_v1, sizeof(sh_v1) }, { sa_v0, sizeof(sa_v0) },
		{ sa_v1, sizeof(sa_v1) }, { sa_v2, sizeof(sa_v2) },
	};
	static const int16_t	 apis[] = { KAFKA_API_VERSIONS,
	    KAFKA_API_METADATA, KAFKA_API_LIST_OFFSETS, KAFKA_API_FETCH,
	    KAFKA_API_SASL_HANDSHAKE, KAFKA_API_SASL_AUTHENTICATE };
	int16_t			 min, max, v;
	size_t			 i, j;
	uint8_t			*p;

	for (i = 0; i < NELEM(vec); i++) {
		p = malloc(vec[i].n);
		ck_assert_ptr_nonnull(p);
		memcpy(p, vec[i].p, vec[i].n);
		for (j = 0; j < NELEM(apis); j++) {
			ck_assert_int_eq(kafka_api_supported(apis[j], &min,
			    &max), 0);
			for (v = min; v <= max; v++)
				(void)dec_any(apis[j], p, vec[i].n, v);
		}
		free(p);
	}
}
END_TEST

static Suite *
proto_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("kafka_proto");
	tc = tcase_create("common");
	tcase_add_test(tc, test_api_tables);
	tcase_add_test(tc, test_err_name);
	tcase_add_test(tc, test_req_frame);
	tcase_add_test(tc, test_resp_header_rest);
	tcase_add_test(tc, test_enc_bad_args);
	tcase_add_test(tc, test_enc_writer_full);
	suite_add_tcase(s, tc);

	tc = tcase_create("api_versions");
	tcase_add_test(tc, test_enc_api_versions_v0);
	tcase_add_test(tc, test_enc_api_versions_v3);
	tcase_add_test(tc, test_dec_api_versions_v0);
	tcase_add_test(tc, test_dec_api_versions_v3);
	tcase_add_test(tc, test_dec_api_versions_err35);
	tcase_add_test(tc, test_dec_api_versions_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("metadata");
	tcase_add_test(tc, test_enc_metadata_v7);
	tcase_add_test(tc, test_enc_metadata_flex);
	tcase_add_test(tc, test_dec_metadata_v1);
	tcase_add_test(tc, test_dec_metadata_v7);
	tcase_add_test(tc, test_dec_metadata_v12);
	tcase_add_test(tc, test_dec_metadata_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("list_offsets");
	tcase_add_test(tc, test_enc_list_offsets_v1);
	tcase_add_test(tc, test_enc_list_offsets_v4);
	tcase_add_test(tc, test_enc_list_offsets_v7);
	tcase_add_test(tc, test_dec_list_offsets);
	tcase_add_test(tc, test_dec_list_offsets_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("fetch");
	tcase_add_test(tc, test_enc_fetch_v4);
	tcase_add_test(tc, test_enc_fetch_v10);
	tcase_add_test(tc, test_enc_fetch_v11);
	tcase_add_test(tc, test_enc_fetch_v12);
	tcase_add_test(tc, test_dec_fetch_v4);
	tcase_add_test(tc, test_dec_fetch_v10);
	tcase_add_test(tc, test_dec_fetch_v12);
	tcase_add_test(tc, test_dec_fetch_aborted_v4);
	tcase_add_test(tc, test_dec_fetch_aborted_v11);
	tcase_add_test(tc, test_dec_fetch_aborted_v12);
	tcase_add_test(tc, test_dec_fetch_bad);
	tcase_add_test(tc, test_dec_cross);
	suite_add_tcase(s, tc);

	tc = tcase_create("sasl");
	tcase_add_test(tc, test_enc_sasl_handshake);
	tcase_add_test(tc, test_enc_sasl_authenticate_v0_v1);
	tcase_add_test(tc, test_enc_sasl_authenticate_v2);
	tcase_add_test(tc, test_dec_sasl_handshake);
	tcase_add_test(tc, test_dec_sasl_authenticate);
	tcase_add_test(tc, test_dec_sasl_bad);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(proto_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
