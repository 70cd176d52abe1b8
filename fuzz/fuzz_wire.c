/* libFuzzer harness: the wire decoder on arbitrary bytes; every accepted
 * message is written again with the wire writer (both sit on the same
 * msgpack layer) and must decode to the same tree. */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include <mandate/wire.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int put(mdt_wire_writer *w, const char *key, const mdt_wire_val *v);

static int
put_items(mdt_wire_writer *w, const mdt_wire_val *v)
{
	size_t n = mdt_wire_val_count(v);
	int map = mdt_wire_val_type(v) == MDT_WIRE_MAP;

	for (size_t i = 0; i < n; i++) {
		const char *k = NULL;
		const mdt_wire_val *x = map ? mdt_wire_map_entry(v, i, &k) :
		    mdt_wire_array_at(v, i);
		if (put(w, k, x) != 0)
			return -1;
	}
	return 0;
}

static int
put(mdt_wire_writer *w, const char *key, const mdt_wire_val *v)
{
	const char *s;
	const uint8_t *p;
	size_t n;
	int64_t i;
	bool b;

	switch (mdt_wire_val_type(v)) {
	case MDT_WIRE_NIL:
		return mdt_wire_put_nil(w, key);
	case MDT_WIRE_BOOL:
		return mdt_wire_val_bool(v, &b) || mdt_wire_put_bool(w, key, b);
	case MDT_WIRE_INT:
		return mdt_wire_val_int(v, &i) || mdt_wire_put_int(w, key, i);
	case MDT_WIRE_STR:
		return mdt_wire_val_str(v, &s, &n) ||
		    mdt_wire_put_str(w, key, s, n);
	case MDT_WIRE_BIN:
		return mdt_wire_val_bin(v, &p, &n) ||
		    mdt_wire_put_bin(w, key, p, n);
	case MDT_WIRE_MAP:
	case MDT_WIRE_ARRAY:
		n = mdt_wire_val_count(v);
		if ((mdt_wire_val_type(v) == MDT_WIRE_MAP ?
		    mdt_wire_begin_map(w, key, n) :
		    mdt_wire_begin_array(w, key, n)) != 0 ||
		    put_items(w, v) != 0)
			return -1;
		return mdt_wire_end(w);
	}
	return -1;
}

/* Bytes of a string or binary value (either type). */
static const void *
bytes_of(const mdt_wire_val *v, size_t *n)
{
	const char *s = NULL;
	const uint8_t *p = NULL;

	if (mdt_wire_val_str(v, &s, n) == 0)
		return s;
	return mdt_wire_val_bin(v, &p, n) == 0 ? p : NULL;
}

/* A scalar's value: integers, booleans (0/1), nil (0). */
static int64_t
scalar_of(const mdt_wire_val *v)
{
	int64_t i = 0;
	bool b = false;

	if (mdt_wire_val_bool(v, &b) == 0)
		return b;
	return mdt_wire_val_int(v, &i) == 0 ? i : 0;
}

/* Same type and contents; map entries matched by key, in any order. */
static int
same(const mdt_wire_val *a, const mdt_wire_val *b, int depth)
{
	mdt_wire_type t = mdt_wire_val_type(a);
	size_t n = mdt_wire_val_count(a), la = 0, lb = 0;

	if (a == NULL || b == NULL || t != mdt_wire_val_type(b) ||
	    n != mdt_wire_val_count(b) || depth > MDT_WIRE_DEPTH_MAX + 1)
		return 0;
	if (t == MDT_WIRE_STR || t == MDT_WIRE_BIN) {
		const void *pa = bytes_of(a, &la), *pb = bytes_of(b, &lb);
		return la == lb && (la == 0 || memcmp(pa, pb, la) == 0);
	}
	if (t != MDT_WIRE_MAP && t != MDT_WIRE_ARRAY)
		return scalar_of(a) == scalar_of(b);
	for (size_t k = 0; k < n; k++) {
		const char *key = NULL;
		const mdt_wire_val *x = t == MDT_WIRE_MAP ?
		    mdt_wire_map_entry(a, k, &key) : mdt_wire_array_at(a, k);
		const mdt_wire_val *y = t == MDT_WIRE_MAP ?
		    mdt_wire_map_get(b, key) : mdt_wire_array_at(b, k);
		if (!same(x, y, depth + 1))
			return 0;
	}
	return 1;
}

static int
envelope_key(const char *k)
{
	return strcmp(k, "v") == 0 || strcmp(k, "op") == 0 ||
	    strcmp(k, "id") == 0 || strcmp(k, "ok") == 0;
}

/* Writes m again and checks that it decodes to the same tree. */
static void
round_trip(const mdt_wire_msg *m)
{
	const mdt_wire_val *root = mdt_wire_msg_root(m);
	mdt_wire_writer *w;
	mdt_wire_msg *again = NULL;
	const uint8_t *b;
	size_t n;
	int ok = mdt_wire_msg_ok(m);

	if (mdt_wire_writer_new(&w, mdt_wire_msg_op(m), mdt_wire_msg_id(m),
	    ok >= 0, ok == 1) != 0)
		__builtin_trap();
	for (size_t i = 0; i < mdt_wire_val_count(root); i++) {
		const char *k = NULL;
		const mdt_wire_val *v = mdt_wire_map_entry(root, i, &k);
		if (!envelope_key(k) && put(w, k, v) != 0)
			__builtin_trap();
	}
	if (mdt_wire_writer_finish(w, &b, &n) != 0 ||
	    mdt_wire_decode(b, n, &again, NULL, 0) != 0 ||
	    !same(root, mdt_wire_msg_root(again), 0) ||
	    !same(mdt_wire_msg_root(again), root, 0))
		__builtin_trap();
	mdt_wire_msg_free(again);
	mdt_wire_writer_free(w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mdt_wire_msg *m = NULL;
	char err[256];

	if (mdt_wire_decode(data, size, &m, err, sizeof(err)) == 0) {
		const char *reason, *detail;

		(void)mdt_wire_msg_error(m, &reason, &detail);
		round_trip(m);
		mdt_wire_msg_free(m);
	}
	return 0;
}
