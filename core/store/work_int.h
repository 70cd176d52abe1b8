/*
 * Work items shared by the backends: the request an MDT__OP_WORK op
 * carries to the writer (the public entry points that build it are in
 * sqlite/work.c and serve every backend; each backend's run_op reads it).
 */
#ifndef MDT_STORE_WORK_INT_H
#define MDT_STORE_WORK_INT_H

#include "core_int.h"

enum { MDT__WORK_PUSH = 1, MDT__WORK_LEASE, MDT__WORK_ACK };

/* What an MDT__OP_WORK op asks the writer; lives on the caller's stack. */
struct mdt__work_req {
	int what;
	const mdt_work_item *it;    /* push */
	uint32_t max_pending;       /* push */
	const char *agent;          /* lease, ack */
	const char *id;             /* ack */
	int mode;                   /* lease filter: 0 any, 1 child, 2 task */
	const char *fkey;           /* the filter's task id */
	int64_t now_ms, until_ms;   /* lease */
	int64_t retry_ms;           /* lease, out */
};

/* One allocation holding a copy of v (caller frees with mdt__free). */
mdt_work_item *mdt__work_item_dup(const mdt_work_item *v);

#endif /* MDT_STORE_WORK_INT_H */
