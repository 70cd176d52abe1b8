/*
 * Property: every answer is on record, and a request id means one
 * request.  A seeded random run (seed printed; MDT_ATTACK_SEED=N replays
 * one) of raw clients for the orchestrator, the summarizer, the coder and
 * prior-auth doing a mix of open, dispatch, delegate, authorize and
 * complete on random patients and resources, with wrong holders, tampered
 * tokens, byte-identical resends and request ids reused for other
 * content.  Every answer a client received is logged; with the broker
 * stopped, the store must hold, for each one, a record under its request
 * id with the same operation, resource and verdict (an id.reused refusal
 * under the id's derived name), and no request id may stand for two
 * different contents.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "attack.h"
#include "brk_flow.h"
#include "testutil.h"

#define STEPS 300
#define MAXLOG 1200
#define MAXTASK 96
#define RING 8
#define NCL 4

enum { C_ORCH, C_SUMM, C_CODER, C_PRIOR };

struct sent {
	char id[MDT_WIRE_ID_MAX + 1];
	uint8_t *buf;
	size_t len;
	char op[16], resource[128];
};

struct client {
	struct bt_conn c;
	const char *agent;
	unsigned n;
	struct sent ring[RING];
	unsigned rn;
};

struct ptask {
	struct bt_task t;
	int holder;
	int ended;
};

struct logent {
	char rid[200];
	char op[16];
	char resource[128];
	int allow;
	char reason[48];
	uint8_t hash[MDT_STORE_HASH_BYTES]; /* BLAKE2b-256 of the bytes sent */
};

static struct bt_broker B;
static struct client CL[NCL];
static struct ptask T[MAXTASK];
static size_t NT;
static struct logent L[MAXLOG];
static size_t NL;
static uint64_t Rng;
static unsigned Seed;

static uint32_t
rnd(uint32_t n)
{
	/* xorshift64*: reproducible from the printed seed */
	Rng ^= Rng >> 12;
	Rng ^= Rng << 25;
	Rng ^= Rng >> 27;
	return (uint32_t)((Rng * 2685821657736338717ULL) >> 33) % n;
}

static const char *
pick(const char *const *v, size_t n)
{
	return v[rnd((uint32_t)n)];
}

/* Logs the answer m to request bytes buf of cl under id. */
static void
log_answer(const struct client *cl, const char *id, const char *op,
    const char *resource, const uint8_t *buf, size_t len,
    const mdt_wire_msg *m)
{
	struct logent *e;

	ck_assert_uint_lt(NL, MAXLOG);
	e = &L[NL++];
	snprintf(e->rid, sizeof(e->rid), "%s#%s", cl->agent, id);
	snprintf(e->op, sizeof(e->op), "%s", op);
	snprintf(e->resource, sizeof(e->resource), "%s", resource);
	e->allow = mdt_wire_msg_ok(m) == 1;
	snprintf(e->reason, sizeof(e->reason), "%s", bt_reason(m));
	crypto_generichash(e->hash, sizeof(e->hash), buf, len, NULL, 0);
	if (!e->allow)
		ck_assert_msg(bt_bin(m, "token", &(size_t){ 0 }) == NULL,
		    "seed %u: refusal %s carries a token", Seed, e->rid);
}

/* Sends w (finished here) as cl's request, remembers it for resends and
 * logs the answer.  Returns the reply (caller frees). */
static mdt_wire_msg *
send_logged(struct client *cl, mdt_wire_writer *w, const char *id,
    const char *op, const char *resource)
{
	const uint8_t *b;
	size_t n, rn;
	void *r = NULL;
	mdt_wire_msg *m = NULL;
	struct sent *s = &cl->ring[cl->rn++ % RING];

	ck_assert_int_eq(mdt_wire_writer_finish(w, &b, &n), 0);
	free(s->buf);
	s->buf = malloc(n);
	ck_assert_ptr_nonnull(s->buf);
	memcpy(s->buf, b, n);
	s->len = n;
	snprintf(s->id, sizeof(s->id), "%s", id);
	snprintf(s->op, sizeof(s->op), "%s", op);
	snprintf(s->resource, sizeof(s->resource), "%s", resource);
	mdt_wire_writer_free(w);
	ck_assert_int_eq(bt_raw(&cl->c, s->buf, s->len, &r, &rn), 0);
	ck_assert_int_eq(mdt_wire_decode(r, rn, &m, NULL, 0), 0);
	nng_free(r, rn);
	log_answer(cl, id, op, resource, s->buf, s->len, m);
	return m;
}

static mdt_wire_writer *
writer(struct client *cl, mdt_wire_op op, char *id, size_t idlen)
{
	mdt_wire_writer *w = NULL;

	snprintf(id, idlen, "p%u-%u", Seed, ++cl->n);
	ck_assert_int_eq(mdt_wire_writer_new(&w, op, id, 0, 0), 0);
	return w;
}

static void
add_task(const mdt_wire_msg *m, int item, int holder)
{
	if (NT < MAXTASK && bt_task_from(&T[NT].t, m, item) == 0) {
		T[NT].holder = holder;
		T[NT].ended = 0;
		NT++;
	}
}

static void
do_open(void)
{
	static const char *const pats[] = { "pat-001", "pat-002", "pat-003" };
	static const char *const scopes[] = { "patient/*.rs",
	    "patient/Observation.rs patient/Condition.rs",
	    "patient/*.rs tool/export.x" };
	const char *pat = pick(pats, 3), *sc = pick(scopes, 3);
	char *jwt = bt_assertion(&B, "dr-alice", pat, sc, 0), id[80];
	mdt_wire_writer *w = writer(&CL[C_ORCH], MDT_OP_OPEN, id, sizeof(id));
	mdt_wire_msg *m;

	ck_assert_int_eq(mdt_wire_put_cstr(w, "assertion", jwt) ||
	    mdt_wire_put_cstr(w, "patient", pat) ||
	    mdt_wire_put_cstr(w, "purpose", "TREAT") ||
	    mdt_wire_put_cstr(w, "scopes", sc), 0);
	free(jwt);
	m = send_logged(&CL[C_ORCH], w, id, "open", "");
	if (mdt_wire_msg_ok(m) == 1)
		add_task(m, 0, C_ORCH);
	mdt_wire_msg_free(m);
}

static struct ptask *
some_task(int holder)
{
	size_t n = 0, k;

	for (size_t i = 0; i < NT; i++)
		n += (holder < 0 || T[i].holder == holder) && !T[i].ended;
	if (n == 0)
		return NULL;
	k = rnd((uint32_t)n);
	for (size_t i = 0; i < NT; i++)
		if ((holder < 0 || T[i].holder == holder) && !T[i].ended &&
		    k-- == 0)
			return &T[i];
	return NULL;
}

static void
receive(int to)
{
	mdt_wire_msg *m = bt_next(&CL[to].c, 3000);

	if (m != NULL && mdt_wire_msg_ok(m) == 1)
		add_task(m, 1, to);
	mdt_wire_msg_free(m);
}

static void
do_hand_on(int from, mdt_wire_op op)
{
	static const char *const scopes[] = { "patient/*.rs",
	    "patient/Observation.rs", "patient/Condition.rs",
	    "patient/Claim.rs tool/export.x", "patient/*.cruds" };
	static const int targets[] = { C_SUMM, C_PRIOR, C_CODER };
	struct ptask *p = some_task(from);
	int to = op == MDT_OP_DELEGATE ? C_CODER : targets[rnd(3)];
	char id[80];
	mdt_wire_writer *w;
	mdt_wire_msg *m;

	if (p == NULL)
		return;
	w = writer(&CL[from], op, id, sizeof(id));
	ck_assert_int_eq(mdt_wire_put_cstr(w, "task", p->t.id) ||
	    mdt_wire_put_bin(w, "token", p->t.tok, p->t.tlen) ||
	    mdt_wire_put_cstr(w, "to", CL[to].agent) ||
	    mdt_wire_put_cstr(w, "scopes", pick(scopes, 5)) ||
	    mdt_wire_put_bin(w, "payload", "w", 1), 0);
	m = send_logged(&CL[from], w, id, mdt_wire_op_name(op), "");
	if (mdt_wire_msg_ok(m) == 1)
		receive(to);
	mdt_wire_msg_free(m);
}

static const char *const resources[] = {
	"Patient/pat-001", "Patient/pat-002", "Patient/pat-003",
	"Observation?subject=Patient/pat-001", "Observation?patient=pat-002",
	"Condition?patient=pat-001", "Condition/cond-001-1", "Observation",
	"Claim?patient=pat-001", "Encounter?patient=pat-003",
};
#define NRES (sizeof(resources) / sizeof(resources[0]))

static mdt_wire_writer *
authorize_writer(const char *id, const struct ptask *p, int tamper,
    const char *resource)
{
	mdt_wire_writer *w = NULL;
	uint8_t tok[sizeof(p->t.tok)];

	memcpy(tok, p->t.tok, p->t.tlen);
	if (tamper)
		tok[rnd((uint32_t)p->t.tlen)] ^= (uint8_t)(1u << rnd(8));
	ck_assert_int_eq(mdt_wire_writer_new(&w, MDT_OP_AUTHORIZE, id, 0, 0),
	    0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "task", p->t.id) ||
	    mdt_wire_put_bin(w, "token", tok, p->t.tlen) ||
	    mdt_wire_put_cstr(w, "action", resource[0] == 'P' ||
	    strchr(resource, '/') != NULL ? "r" : "s") ||
	    mdt_wire_put_cstr(w, "resource", resource), 0);
	return w;
}

static void
do_authorize(void)
{
	struct ptask *p = some_task(-1);
	int who, tamper = rnd(10) == 0;
	const char *res = pick(resources, NRES);
	char id[80];
	struct client *cl;
	mdt_wire_msg *m;

	if (p == NULL)
		return;
	who = rnd(10) < 8 ? p->holder : (int)rnd(NCL);
	cl = &CL[who];
	snprintf(id, sizeof(id), "p%u-%u", Seed, ++cl->n);
	m = send_logged(cl, authorize_writer(id, p, tamper, res), id,
	    "authorize", res);
	ck_assert_msg(mdt_wire_msg_ok(m) != 1 || (who == p->holder &&
	    !tamper), "seed %u: %s allowed %s with %s token", Seed, cl->agent,
	    res, tamper ? "a tampered" : "another agent's");
	mdt_wire_msg_free(m);
}

/* A byte-identical resend of one of cl's recent requests. */
static void
do_resend(void)
{
	struct client *cl = &CL[rnd(NCL)];
	struct sent *s, copy;

	if (cl->rn == 0)
		return;
	s = &cl->ring[rnd(cl->rn < RING ? cl->rn : RING)];
	copy = *s;
	{
		void *r = NULL;
		size_t rn;
		mdt_wire_msg *m = NULL;
		ck_assert_int_eq(bt_raw(&cl->c, copy.buf, copy.len, &r, &rn), 0);
		ck_assert_int_eq(mdt_wire_decode(r, rn, &m, NULL, 0), 0);
		nng_free(r, rn);
		log_answer(cl, copy.id, copy.op, copy.resource, copy.buf,
		    copy.len, m);
		mdt_wire_msg_free(m);
	}
}

/* One of cl's recent ids, for another resource. */
static void
do_reuse(void)
{
	struct client *cl = &CL[rnd(NCL)];
	struct ptask *p = some_task(-1);
	struct sent *s;
	char id[MDT_WIRE_ID_MAX + 1];
	const char *res;

	if (cl->rn == 0 || p == NULL)
		return;
	s = &cl->ring[rnd(cl->rn < RING ? cl->rn : RING)];
	snprintf(id, sizeof(id), "%s", s->id);
	do
		res = pick(resources, NRES);
	while (strcmp(res, s->resource) == 0);
	mdt_wire_msg_free(send_logged(cl, authorize_writer(id, p, 0, res), id,
	    "authorize", res));
}

static void
do_end(void)
{
	struct ptask *p = some_task(-1);
	char id[80];
	mdt_wire_writer *w;
	mdt_wire_msg *m;
	int cancel = (int)rnd(2);

	if (p == NULL)
		return;
	w = writer(&CL[p->holder], cancel ? MDT_OP_CANCEL : MDT_OP_COMPLETE,
	    id, sizeof(id));
	ck_assert_int_eq(mdt_wire_put_cstr(w, "task", p->t.id) ||
	    mdt_wire_put_bin(w, "token", p->t.tok, p->t.tlen), 0);
	m = send_logged(&CL[p->holder], w, id, cancel ? "cancel" : "complete",
	    "");
	if (mdt_wire_msg_ok(m) == 1)
		p->ended = 1;
	mdt_wire_msg_free(m);
}

static void
step(void)
{
	uint32_t r = rnd(100);

	if (r < 8 || NT == 0)
		do_open();
	else if (r < 18)
		do_hand_on(C_ORCH, MDT_OP_DISPATCH);
	else if (r < 23)
		do_hand_on(C_SUMM, MDT_OP_DELEGATE);
	else if (r < 76)
		do_authorize();
	else if (r < 87)
		do_resend();
	else if (r < 98)
		do_reuse();
	else
		do_end();
}

/* ------------------------------------------------ racing one request id */

#define RACES 40

struct racer {
	struct client cl;
	pthread_barrier_t *bar;
	const struct ptask *task;
	const char *resource;
	char id[MDT_WIRE_ID_MAX + 1];
	uint8_t *buf;
	size_t len;
	mdt_wire_msg *m;
};

static void *
race_one(void *arg)
{
	struct racer *r = arg;
	void *out = NULL;
	size_t on;

	pthread_barrier_wait(r->bar);
	if (bt_raw(&r->cl.c, r->buf, r->len, &out, &on) == 0) {
		if (mdt_wire_decode(out, on, &r->m, NULL, 0) != 0)
			r->m = NULL;
		nng_free(out, on);
	}
	return NULL;
}

/*
 * Two pipes of the same agent send one fresh request id at the same
 * instant, for two different resources: at most one content may be
 * decided under the id, the other is id.reused (or both were decided
 * for the same content, which cannot happen here).
 */
static void
race_ids(void)
{
	static struct racer R[2];
	pthread_barrier_t bar;
	pthread_t th[2];
	const struct ptask *p = NULL;

	for (size_t i = 0; i < NT && p == NULL; i++)
		if (T[i].holder == C_SUMM && !T[i].ended)
			p = &T[i];
	if (p == NULL)
		return;
	for (int k = 0; k < 2; k++) {
		memset(&R[k].cl, 0, sizeof(R[k].cl));
		R[k].cl.agent = BT_SUMM;
		bf_as(&B, &R[k].cl.c, BT_SUMM);
	}
	for (int i = 0; i < RACES; i++) {
		char id[MDT_WIRE_ID_MAX + 1];
		int ok = 0;

		snprintf(id, sizeof(id), "race%u-%d", Seed, i);
		ck_assert_int_eq(pthread_barrier_init(&bar, NULL, 2), 0);
		for (int k = 0; k < 2; k++) {
			mdt_wire_writer *w;
			const uint8_t *b;
			R[k].bar = &bar;
			R[k].resource = k ? "Patient/pat-001" :
			    "Condition?patient=pat-001";
			w = authorize_writer(id, p, 0, R[k].resource);
			ck_assert_int_eq(mdt_wire_writer_finish(w, &b,
			    &R[k].len), 0);
			R[k].buf = malloc(R[k].len);
			ck_assert_ptr_nonnull(R[k].buf);
			memcpy(R[k].buf, b, R[k].len);
			mdt_wire_writer_free(w);
			R[k].m = NULL;
			snprintf(R[k].id, sizeof(R[k].id), "%s", id);
			ck_assert_int_eq(pthread_create(&th[k], NULL, race_one,
			    &R[k]), 0);
		}
		for (int k = 0; k < 2; k++)
			pthread_join(th[k], NULL);
		pthread_barrier_destroy(&bar);
		for (int k = 0; k < 2; k++) {
			ck_assert_ptr_nonnull(R[k].m);
			log_answer(&R[k].cl, id, "authorize", R[k].resource,
			    R[k].buf, R[k].len, R[k].m);
			ok += strcmp(bt_reason(R[k].m), "id.reused") != 0;
			mdt_wire_msg_free(R[k].m);
			free(R[k].buf);
		}
		ck_assert_msg(ok == 1, "seed %u: race %d: %d contents decided "
		    "under one id", Seed, i, ok);
	}
	for (int k = 0; k < 2; k++)
		bt_close(&R[k].cl.c);
}

/* ------------------------------------------------------- verification */

/* The id.reused refusal of e: recorded under the id the broker derives
 * (the id, "#reused.", the first 8 bytes of the content hash in hex),
 * with e's own content hash, while the id's record keeps the first
 * content's. */
static void
check_reused(mdt_store *st, const struct logent *e,
    const mdt_store_decision *orig)
{
	char hx[17], rid2[260];
	mdt_store_decision *d = NULL;

	ck_assert_msg(orig->request_hash != NULL, "seed %u: %s has no "
	    "request hash", Seed, e->rid);
	ck_assert_msg(memcmp(orig->request_hash, e->hash, sizeof(e->hash)) !=
	    0, "seed %u: %s refused as reused for its own content", Seed,
	    e->rid);
	sodium_bin2hex(hx, sizeof(hx), e->hash, 8);
	snprintf(rid2, sizeof(rid2), "%.200s#reused.%s", e->rid, hx);
	ck_assert_msg(mdt_store_find_decision(st, rid2, &d) == 0,
	    "seed %u: id.reused answer not recorded as %s", Seed, rid2);
	ck_assert_int_eq(d->verdict, MDT_STORE_DENY);
	ck_assert_str_eq(at_failed(d), "id.reused");
	ck_assert_msg(d->request_hash != NULL && memcmp(d->request_hash,
	    e->hash, sizeof(e->hash)) == 0, "seed %u: %s recorded with "
	    "another content hash", Seed, rid2);
	mdt_free(d);
}

static void
check_answer(mdt_store *st, const struct logent *e)
{
	mdt_store_decision *d = NULL;

	ck_assert_msg(mdt_store_find_decision(st, e->rid, &d) == 0,
	    "seed %u: no record under %s (%s %s: %s)", Seed, e->rid, e->op,
	    e->resource, e->allow ? "allow" : e->reason);
	if (strcmp(e->reason, "id.reused") == 0) {
		check_reused(st, e, d);
		mdt_free(d);
		return;
	}
	ck_assert_msg(d->request_hash != NULL && memcmp(d->request_hash,
	    e->hash, sizeof(e->hash)) == 0, "seed %u: %s answered for "
	    "content the record does not hold (%s %s)", Seed, e->rid, e->op,
	    e->resource);
	ck_assert_msg(strcmp(d->operation, e->op) == 0, "seed %u: %s "
	    "answered for %s, recorded as %s", Seed, e->rid, e->op,
	    d->operation);
	if (strcmp(e->op, "authorize") == 0)
		ck_assert_msg(d->resource != NULL && strcmp(d->resource,
		    e->resource) == 0, "seed %u: %s answered for %s, recorded "
		    "for %s", Seed, e->rid, e->resource, d->resource);
	ck_assert_msg((d->verdict == MDT_STORE_ALLOW) == e->allow,
	    "seed %u: %s answered %s, recorded %s (%s)", Seed, e->rid,
	    e->allow ? "allow" : e->reason, mdt_store_verdict_name(d->verdict),
	    d->reasons ? d->reasons : "");
	if (!e->allow && strcmp(e->reason, "step_up.required") != 0)
		ck_assert_msg(strcmp(at_failed(d), e->reason) == 0,
		    "seed %u: %s answered %s, recorded %s", Seed, e->rid,
		    e->reason, d->reasons ? d->reasons : "");
	mdt_free(d);
}

/* Under one request id, every answer that was not an id.reused refusal
 * was for the same content, with the same verdict. */
static void
check_one_content(void)
{
	size_t reused = 0;

	for (size_t i = 0; i < NL; i++) {
		if (strcmp(L[i].reason, "id.reused") == 0) {
			reused++;
			continue;
		}
		for (size_t j = i + 1; j < NL; j++)
			if (strcmp(L[i].rid, L[j].rid) == 0 &&
			    strcmp(L[j].reason, "id.reused") != 0)
				ck_assert_msg(memcmp(L[i].hash, L[j].hash,
				    sizeof(L[i].hash)) == 0 && L[i].allow ==
				    L[j].allow, "seed %u: %s answered for two "
				    "contents (%s %s, %s %s)", Seed, L[i].rid,
				    L[i].op, L[i].resource, L[j].op,
				    L[j].resource);
	}
	fprintf(stderr, "attack_property: %zu id.reused refusals\n", reused);
}

START_TEST(every_answer_on_record)
{
	const char *env = getenv("MDT_ATTACK_SEED");
	const char *agents[NCL] = { BT_ORCH, BT_SUMM, BT_CODER, BT_PRIOR };
	mdt_store_opts so = { .read_only = 1 };
	mdt_store *st = NULL;
	time_t t0 = time(NULL);

	Seed = env != NULL ? (unsigned)strtoul(env, NULL, 10) :
	    (unsigned)time(NULL) ^ randombytes_random();
	Rng = ((uint64_t)Seed << 1) | 1;
	fprintf(stderr, "attack_property: seed %u (MDT_ATTACK_SEED=%u "
	    "replays it)\n", Seed, Seed);
	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_msg(bt_start(&B, NULL) == 0, "broker (log %s)", B.log);
	for (int i = 0; i < NCL; i++) {
		memset(&CL[i], 0, sizeof(CL[i]));
		CL[i].agent = agents[i];
		bf_as(&B, &CL[i].c, agents[i]);
	}
	for (int i = 0; i < STEPS && time(NULL) - t0 < 45; i++)
		step();
	race_ids();
	for (int i = 0; i < NCL; i++)
		bt_close(&CL[i].c);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	fprintf(stderr, "attack_property: %zu answers, %zu tasks, %ld s\n",
	    NL, NT, (long)(time(NULL) - t0));

	ck_assert_int_eq(mdt_store_open(B.store, &so, &st, NULL, 0), 0);
	for (size_t i = 0; i < NL; i++)
		check_answer(st, &L[i]);
	check_one_content();
	mdt_store_close(st);
	for (int i = 0; i < NCL; i++)
		for (int k = 0; k < RING; k++)
			free(CL[i].ring[k].buf);
	bt_cleanup(&B);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("attack_property");
	TCase *tc = tcase_create("property");

	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, every_answer_on_record);
	suite_add_tcase(su, tc);
	return mdt_test_run(su);
}
