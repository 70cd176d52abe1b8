/*
 * Internals of the FHIR module shared by its files and its tests: the
 * R4 Patient compartment table and the FHIR id syntax.
 */
#ifndef MDT_FHIR_INT_H
#define MDT_FHIR_INT_H

#include <stddef.h>

#include <mandate/fhir.h>

/* Most search parameters any type has in the compartment (Coverage: 4). */
#define MDT__FHIR_PARAMS_MAX 4

/* One R4 resource type and the search parameters that place it in the
 * Patient compartment (none: never in it).  NULL-terminated. */
typedef struct mdt__fhir_type {
	const char *type;
	const char *params[MDT__FHIR_PARAMS_MAX + 1];
} mdt__fhir_type;

/* The whole table, sorted bytewise by type; *n receives its length. */
const mdt__fhir_type *mdt__fhir_types(size_t *n);

/* The entry of exactly `type`, or NULL. */
const mdt__fhir_type *mdt__fhir_lookup(const char *type);

/* An entry whose type equals `type` ignoring ASCII case, or NULL. */
const mdt__fhir_type *mdt__fhir_lookup_nocase(const char *type);

/* 1 when the n bytes at s equal the NUL-terminated word ignoring ASCII
 * case. */
int mdt__fhir_eq_nocase(const char *s, size_t n, const char *word);

/* 1 when the n bytes at s are a FHIR id ([A-Za-z0-9.-]{1,64}). */
int mdt__fhir_id_ok(const char *s, size_t n);

#endif
