/*
 * Clinician-now grants shared by the backends: what an MDT__OP_CLINICIAN
 * op carries to the writer (the public entry points are in brokerstate.c;
 * each backend's run_op stores it).
 */
#ifndef MDT_STORE_CLINICIAN_INT_H
#define MDT_STORE_CLINICIAN_INT_H

#include "core_int.h"

/* Lives on the caller's stack for the op's life. */
struct mdt__clin_req {
	const char *clinician;
	int64_t iat;          /* seconds: the assertion's issued-at */
	const char *scopes;
	int64_t time_ms;      /* when it was stored */
};

#endif /* MDT_STORE_CLINICIAN_INT_H */
