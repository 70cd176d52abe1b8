/*
 * Internals of the wire codec shared by core/wire/wire_*.c: the decoded value
 * tree and the message that owns it.
 */
#ifndef MDT_WIRE_INT_H
#define MDT_WIRE_INT_H

#include <mandate/wire.h>

struct mdt_wire_val {
	mdt_wire_type type;
	uint32_t n;              /* items (array), entries (map), bytes (str/bin) */
	union {
		int64_t i;           /* INT, BOOL */
		const uint8_t *p;    /* STR (NUL-terminated), BIN */
		struct mdt_wire_val *items; /* ARRAY: n items; MAP: 2n (key, value) */
	} u;
};

struct mdt_wire_msg {
	struct mdt_wire_val *nodes; /* nodes[0] is the root map */
	uint8_t *arena;             /* the message's bytes, strings
	                               NUL-terminated in place */
	size_t arena_len;           /* bytes of arena, wiped when freed */
	mdt_wire_op op;
	const char *id;
	int ok;                     /* -1 request, 0/1 reply */
};

/* 1 when s[0..n) is a request id: 1..MDT_WIRE_ID_MAX printable ASCII
 * bytes other than '#', which separates the agent, the id and a second
 * decision's suffix in the broker's audit ids ("AGENT#ID#final"): an id
 * holding one could spell another decision's record. */
int mdt__wire_id_ok(const char *s, size_t n);

#endif
