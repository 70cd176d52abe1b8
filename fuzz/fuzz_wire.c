/* libFuzzer harness: the wire decoder on arbitrary bytes, and re-encoding
 * of every accepted message's envelope. */
#include <stdint.h>
#include <stddef.h>

#include <mandate/wire.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
walk(const mdt_wire_val *v, int depth)
{
	size_t n = mdt_wire_val_count(v);

	if (depth > MDT_WIRE_DEPTH_MAX + 1)
		__builtin_trap();
	for (size_t i = 0; i < n; i++) {
		const char *key = NULL;
		if (mdt_wire_val_type(v) == MDT_WIRE_MAP)
			walk(mdt_wire_map_entry(v, i, &key), depth + 1);
		else
			walk(mdt_wire_array_at(v, i), depth + 1);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mdt_wire_msg *m = NULL;
	char err[256];

	if (mdt_wire_decode(data, size, &m, err, sizeof(err)) == 0) {
		mdt_wire_writer *w;
		const char *reason, *detail;

		walk(mdt_wire_msg_root(m), 0);
		(void)mdt_wire_msg_error(m, &reason, &detail);
		if (mdt_wire_writer_new(&w, mdt_wire_msg_op(m),
		    mdt_wire_msg_id(m), 1, 1) != 0)
			__builtin_trap();
		mdt_wire_writer_free(w);
		mdt_wire_msg_free(m);
	}
	return 0;
}
