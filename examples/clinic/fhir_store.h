/*
 * The gateway's synthetic FHIR data: loading a collection Bundle, reading
 * and searching resources, and parsing the request URIs it serves.
 */
#ifndef CLINIC_FHIR_STORE_H
#define CLINIC_FHIR_STORE_H

#include <mandate/fhir.h>
#include <mandate/scope.h>

#define FHIR_NAME_MAX MDT_FHIR_ID_BUF

typedef struct fhir_store fhir_store;

/* What a request URI asks for. */
typedef struct fhir_query {
	char type[FHIR_NAME_MAX];
	char id[FHIR_NAME_MAX];      /* read: the resource id */
	char patient[FHIR_NAME_MAX]; /* the patient compartment */
	char resource[MDT_SCOPE_REF_MAX + 1]; /* the URI after the prefix */
	int search;
} fhir_query;

/* Loads a FHIR collection Bundle (JSON file).  0 or -1 (logged). */
int fhir_store_load(const char *path, fhir_store **out);
void fhir_store_free(fhir_store *s);

/*
 * Parses "PREFIX Type/id" (a read) or "PREFIX Type?params" (a search), the
 * rest of the URI being a reference as mdt_scope_request_parse reads it
 * (no percent-encoding).  A search may carry only the parameters the
 * store applies: subject or patient (optionally :Patient), and _id for
 * Patient.  Fills type, id, resource and search, not patient.  0 or -1.
 */
int fhir_parse_uri(const char *uri, const char *prefix, fhir_query *q);

/* The resource's JSON (malloc'd) and fills q->patient.  0 or -1. */
int fhir_store_read(const fhir_store *s, fhir_query *q, char **json);
/* A searchset Bundle of every resource of q->type whose subject (or, for
 * Patient, whose id) is q->patient (malloc'd).  0 or -1. */
int fhir_store_search(const fhir_store *s, fhir_query *q, char **json);

/* An OperationOutcome JSON document (malloc'd) with code and text. */
char *fhir_outcome(const char *code, const char *text);

#endif
