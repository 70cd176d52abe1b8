/*
 * Wire codec cost: encode and decode of a typical authorize request and
 * of its allow reply (a sealed single-action token, policies, flags), in
 * absolute ns per message, beside msgpack-c's generic unpacker decoding
 * the same bytes in the same rounds (interleaved, so machine noise hits
 * both alike).  The absolute figures are what to compare across versions
 * of the codec; the ratio is what one run can say on its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include <mandate/wire.h>

#include "benchutil.h"

#define ROUNDS 301
#define PER_ROUND 64
#define TOKEN_BYTES 620   /* a token with two attenuation blocks */
#define SA_TOKEN_BYTES 410 /* a sealed single-action token */

static uint8_t token[TOKEN_BYTES], sa_token[SA_TOKEN_BYTES];

#define CHECK(x) do { if ((x) != 0) abort(); } while (0)

static mdt_wire_writer *
encode_request(void)
{
	mdt_wire_writer *w;

	CHECK(mdt_wire_writer_new(&w, MDT_OP_AUTHORIZE, "req-7f3a9c21", 0, 0));
	CHECK(mdt_wire_put_cstr(w, "task", "task-4b1d2e9f0a7c"));
	CHECK(mdt_wire_put_bin(w, "token", token, sizeof(token)));
	CHECK(mdt_wire_put_cstr(w, "action", "r"));
	CHECK(mdt_wire_put_cstr(w, "resource", "Observation?patient=pat-123"
	    "&code=http://loinc.org|4548-4"));
	CHECK(mdt_wire_put_cstr(w, "patient", "pat-123"));
	CHECK(mdt_wire_put_cstr(w, "audience", "spiffe://clinic.example/fhir"));
	CHECK(mdt_wire_put_int(w, "wait_ms", 30000));
	return w;
}

static mdt_wire_writer *
encode_reply(void)
{
	mdt_wire_writer *w;

	CHECK(mdt_wire_writer_new(&w, MDT_OP_AUTHORIZE, "req-7f3a9c21", 1, 1));
	CHECK(mdt_wire_put_cstr(w, "decision", "allow"));
	CHECK(mdt_wire_put_bin(w, "token", sa_token, sizeof(sa_token)));
	CHECK(mdt_wire_put_int(w, "expires", 1767226500));
	CHECK(mdt_wire_begin_array(w, "policies", 2));
	CHECK(mdt_wire_put_cstr(w, NULL, "care-team-read"));
	CHECK(mdt_wire_put_cstr(w, NULL, "purpose-treatment"));
	CHECK(mdt_wire_end(w));
	CHECK(mdt_wire_begin_array(w, "flags", 0));
	CHECK(mdt_wire_end(w));
	return w;
}

typedef mdt_wire_writer *(*encoder)(void);

/* ns of one encode (writer, fields, finish, free), over n messages. */
static double
encode_ns(encoder enc, int n)
{
	uint64_t t0 = bench_now_ns();

	for (int i = 0; i < n; i++) {
		mdt_wire_writer *w = enc();
		const uint8_t *b;
		size_t len;

		CHECK(mdt_wire_writer_finish(w, &b, &len));
		mdt_wire_writer_free(w);
	}
	return (double)(bench_now_ns() - t0) / n;
}

/* ns of one decode (and free) of the bytes, over n messages. */
static double
decode_ns(const uint8_t *b, size_t len, int n)
{
	uint64_t t0 = bench_now_ns();

	for (int i = 0; i < n; i++) {
		mdt_wire_msg *m;

		CHECK(mdt_wire_decode(b, len, &m, NULL, 0));
		mdt_wire_msg_free(m);
	}
	return (double)(bench_now_ns() - t0) / n;
}

/* ns of one msgpack_unpack into a zone, the generic baseline. */
static double
unpack_ns(const uint8_t *b, size_t len, int n)
{
	msgpack_zone z;
	uint64_t t0;

	msgpack_zone_init(&z, 2048);
	t0 = bench_now_ns();
	for (int i = 0; i < n; i++) {
		msgpack_object o;
		size_t off = 0;

		if (msgpack_unpack((const char *)b, len, &off, &z, &o) !=
		    MSGPACK_UNPACK_SUCCESS)
			abort();
		msgpack_zone_clear(&z);
	}
	msgpack_zone_destroy(&z);
	return (double)(bench_now_ns() - t0) / n;
}

static void
measure(const char *name, encoder enc)
{
	double e[ROUNDS], d[ROUNDS], u[ROUNDS], r[ROUNDS];
	mdt_wire_writer *w = enc();
	const uint8_t *b;
	size_t len;
	char rname[96];

	CHECK(mdt_wire_writer_finish(w, &b, &len));
	for (int i = 0; i < ROUNDS; i++) {
		e[i] = encode_ns(enc, PER_ROUND);
		d[i] = decode_ns(b, len, PER_ROUND);
		u[i] = unpack_ns(b, len, PER_ROUND);
		r[i] = d[i] / u[i];
	}
	printf("%-18s %5zu bytes  encode %8.1f ns  decode %8.1f ns  "
	    "msgpack_unpack %8.1f ns\n", name, len,
	    bench_percentile(e, ROUNDS, 50), bench_percentile(d, ROUNDS, 50),
	    bench_percentile(u, ROUNDS, 50));
	snprintf(rname, sizeof(rname), "wire_decode_%s_vs_msgpack_unpack",
	    name);
	bench_ratio(rname, bench_percentile(r, ROUNDS, 50));
	mdt_wire_writer_free(w);
}

int
main(void)
{
	for (size_t i = 0; i < sizeof(token); i++)
		token[i] = (uint8_t)(i * 131u + 7u);
	for (size_t i = 0; i < sizeof(sa_token); i++)
		sa_token[i] = (uint8_t)(i * 71u + 3u);
	measure("authorize_request", encode_request);
	measure("authorize_reply", encode_reply);
	return 0;
}
