/*
 * fuzz_kproto.c -- libFuzzer target for the Kafka response decoders.
 *
 * The input is fed to every decoder at every version we implement, and to
 * the response header skipper.  Besides the sanitizers' checks, every view
 * a successful decode returns must lie inside the input, and every count
 * must match its array.
 *
 *	clang -fsanitize=fuzzer,address,undefined -I. -I$(builddir) \
 *	    kafka/kbuf.c kafka/kproto.c fuzz/fuzz_kproto.c -o fuzz_kproto
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "kafka/kproto.h"

int		 LLVMFuzzerTestOneInput(const uint8_t *, size_t);
static void	 in_input(const uint8_t *, size_t, const uint8_t *, int64_t);
static void	 fuzz_api_versions(const uint8_t *, size_t, int16_t);
static void	 fuzz_metadata(const uint8_t *, size_t, int16_t);
static void	 fuzz_list_offsets(const uint8_t *, size_t, int16_t);
static void	 fuzz_fetch(const uint8_t *, size_t, int16_t);

static volatile uint64_t fetch_sink;	/* every aborted entry is read */

/* A view [p, p + len) must be NULL/-1 or lie inside the input. */
static void
in_input(const uint8_t *data, size_t size, const uint8_t *p, int64_t len)
{
	if (len < 0) {
		if (p != NULL)
			abort();
		return;
	}
	if (p == NULL) {
		if (len != 0)
			abort();
		return;
	}
	if (p < data || p > data + size || (uint64_t)len >
	    (uint64_t)(data + size - p))
		abort();
}

static void
fuzz_api_versions(const uint8_t *data, size_t size, int16_t v)
{
	struct kafka_api_versions_resp	 r;

	if (kafka_dec_api_versions(data, size, v, &r) == 0) {
		if (r.count < 0 || (r.count > 0 && r.apis == NULL))
			abort();
		if ((size_t)r.count > size / 6)
			abort();
	} else if (r.apis != NULL || r.count != 0)
		abort();
	kafka_api_versions_free(&r);
}

static void
fuzz_metadata(const uint8_t *data, size_t size, int16_t v)
{
	struct kafka_metadata_resp	 r;
	int32_t				 i;

	if (kafka_dec_metadata(data, size, v, &r) == 0) {
		if (r.broker_count < 0 || r.topic_count < 0)
			abort();
		for (i = 0; i < r.broker_count; i++)
			in_input(data, size, r.brokers[i].host.p,
			    r.brokers[i].host.len);
		for (i = 0; i < r.topic_count; i++) {
			in_input(data, size, r.topics[i].name.p,
			    r.topics[i].name.len);
			if (r.topics[i].partition_count < 0 ||
			    (r.topics[i].partition_count > 0 &&
			    r.topics[i].partitions == NULL))
				abort();
		}
	} else if (r.brokers != NULL || r.topics != NULL)
		abort();
	kafka_metadata_free(&r);
}

static void
fuzz_list_offsets(const uint8_t *data, size_t size, int16_t v)
{
	struct kafka_list_offsets_resp	 r;
	int32_t				 i;

	if (kafka_dec_list_offsets(data, size, v, &r) == 0) {
		if (r.count < 0 || (r.count > 0 && r.results == NULL))
			abort();
		for (i = 0; i < r.count; i++)
			in_input(data, size, r.results[i].topic.p,
			    r.results[i].topic.len);
	} else if (r.results != NULL || r.count != 0)
		abort();
	kafka_list_offsets_free(&r);
}

static void
fuzz_fetch(const uint8_t *data, size_t size, int16_t v)
{
	struct kafka_fetch_resp		 r;
	const struct kafka_aborted_txn	*a;
	int32_t				 i, j;

	if (kafka_dec_fetch(data, size, v, &r) == 0) {
		if (r.count < 0 || (r.count > 0 && r.parts == NULL))
			abort();
		for (i = 0; i < r.count; i++) {
			in_input(data, size, r.parts[i].topic.p,
			    r.parts[i].topic.len);
			in_input(data, size, r.parts[i].records,
			    r.parts[i].records == NULL ? -1 :
			    (int64_t)r.parts[i].records_len);
			/* Allocated for entries present, 16 bytes each. */
			if (r.parts[i].naborted < 0 ||
			    (r.parts[i].naborted > 0) !=
			    (r.parts[i].aborted != NULL) ||
			    (size_t)r.parts[i].naborted > size / 16)
				abort();
			for (j = 0; j < r.parts[i].naborted; j++) {
				a = &r.parts[i].aborted[j];
				fetch_sink += (uint64_t)a->producer_id ^
				    (uint64_t)a->first_offset;
			}
		}
	} else if (r.parts != NULL || r.count != 0)
		abort();
	kafka_fetch_free(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int16_t	 apis[] = { KAFKA_API_VERSIONS,
	    KAFKA_API_METADATA, KAFKA_API_LIST_OFFSETS, KAFKA_API_FETCH };
	struct kreader		 r;
	int16_t			 min, max, v;
	size_t			 i;

	for (i = 0; i < sizeof(apis) / sizeof(apis[0]); i++) {
		if (kafka_api_supported(apis[i], &min, &max) != 0)
			abort();
		for (v = min; v <= max; v++) {
			kr_init(&r, data, size);
			kafka_resp_header_rest(&r, apis[i], v);
			if (kr_left(&r) > size)
				abort();
			switch (apis[i]) {
			case KAFKA_API_VERSIONS:
				fuzz_api_versions(data, size, v);
				break;
			case KAFKA_API_METADATA:
				fuzz_metadata(data, size, v);
				break;
			case KAFKA_API_LIST_OFFSETS:
				fuzz_list_offsets(data, size, v);
				break;
			case KAFKA_API_FETCH:
				fuzz_fetch(data, size, v);
				break;
			}
		}
	}
	return 0;
}
