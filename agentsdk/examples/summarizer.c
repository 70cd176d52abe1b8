/*
 * A complete agent with libmandate-agent (docs/sdk.md, "A worked
 * example"): connects to the broker (one address or several, comma
 * separated, for failover), takes one work item, asks whether it may read
 * the patient's observations, and completes the task with its result.
 *
 *   cc summarizer.c $(pkg-config --cflags --libs mandate-agent)
 *   ./a.out BROKER_URLS SPIFFE_ID KEY_FILE
 */
#include <stdio.h>
#include <string.h>

#include <mandate/agent.h>

static int
work(mdt_task *t)
{
	char err[MDT_ERRMSG_MAX], query[300], result[600];
	mdt_authz_request q = MDT_AUTHZ_REQUEST_INIT;
	mdt_authz *az = NULL;
	size_t len = 0;
	const uint8_t *payload = mdt_task_payload(t, &len);
	int rv;

	snprintf(query, sizeof(query), "Observation?patient=%s",
	    mdt_task_patient(t));
	q.action = "s";
	q.resource = query;
	if ((rv = mdt_task_authorize_req(t, &q, &az, err, sizeof(err))) != 0) {
		/* no decision obtained: the same as a deny */
		fprintf(stderr, "authorize: %s\n", err);
		return rv;
	}
	if (mdt_authz_decision_of(az) != MDT_AUTHZ_ALLOW) {
		snprintf(result, sizeof(result), "refused: %s",
		    mdt_authz_reason(az));
	} else {
		/* here the agent would send mdt_task_present's two headers to
		 * the FHIR server with its search */
		snprintf(result, sizeof(result), "summary of %.*s for %s",
		    (int)len, (const char *)payload, mdt_task_patient(t));
	}
	printf("%s: %s\n", mdt_task_id(t), result);
	mdt_authz_free(az);
	rv = mdt_task_complete(t, (const uint8_t *)result, strlen(result), err,
	    sizeof(err));
	if (rv != 0)
		fprintf(stderr, "complete: %s\n", err);
	return rv;
}

int
main(int argc, char **argv)
{
	mdt_agent_opts o = MDT_AGENT_OPTS_INIT;
	char err[MDT_ERRMSG_MAX];
	mdt_keypair *key = NULL;
	mdt_agent *a = NULL;
	mdt_task *t = NULL;
	int rv;

	if (argc != 4) {
		fprintf(stderr, "usage: %s BROKER_URLS SPIFFE_ID KEY_FILE\n",
		    argv[0]);
		return 2;
	}
	if (mdt_keypair_load(argv[3], &key, err, sizeof(err)) != 0) {
		fprintf(stderr, "key: %s\n", err);
		return 1;
	}
	o.url = argv[1];
	o.spiffe_id = argv[2];
	o.key = key;
	rv = mdt_agent_connect(&o, &a, err, sizeof(err));
	mdt_keypair_free(key); /* the connection keeps its own copy */
	if (rv != 0) {
		fprintf(stderr, "connect: %s\n", err);
		return 1;
	}
	rv = mdt_agent_next(a, 30000, &t, err, sizeof(err));
	if (rv == 0) {
		rv = work(t);
		mdt_task_free(t);
	} else {
		fprintf(stderr, "next: %s (%s)\n", err, mdt_strerror(rv));
	}
	mdt_agent_close(a);
	return rv == 0 ? 0 : 1;
}
