/*
 * The audit store's read side: a small pool of read-only connections,
 * each with its statements prepared once, and the generic conversion of
 * a result row into one allocation of a record struct.
 */
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "sqlite_int.h"

#define TASK_STATE_COLS ", e.state, e.time_ms, e.rev_seq"
#define TASK_FROM " FROM tasks t LEFT JOIN ended e ON e.task_id = t.task_id"

/* Builds reader statement idx's SQL; caller frees. */
static char *
reader_sql(int idx)
{
	char *dec = mdt__select_list(mdt__kind_get(MDT__KIND_DECISION), NULL);
	char *task = mdt__select_list(mdt__kind_get(MDT__KIND_TASK), "t");
	char *ap = mdt__select_list(mdt__kind_get(MDT__KIND_APPROVAL), "a");
	char *ad = mdt__select_list(
	    mdt__kind_get(MDT__KIND_APPROVAL_DECISION), "d");
	char *sql = mdt__malloc(2048);

	if (dec == NULL || task == NULL || ap == NULL || ad == NULL ||
	    sql == NULL) {
		mdt__free(sql);
		sql = NULL;
		goto out;
	}
	switch (idx) {
	case MDT__R_FIND_DECISION:
		snprintf(sql, 2048, "SELECT %s FROM decisions WHERE"
		    " request_id = ?1", dec);
		break;
	case MDT__R_GET_DECISION:
		snprintf(sql, 2048, "SELECT %s FROM decisions WHERE seq = ?1",
		    dec);
		break;
	case MDT__R_LIST_DECISIONS:
		snprintf(sql, 2048, "SELECT %s FROM decisions WHERE seq > ?1"
		    " ORDER BY seq LIMIT ?2", dec);
		break;
	case MDT__R_TASK_DECISIONS:
		snprintf(sql, 2048, "SELECT %s FROM decisions WHERE"
		    " task_id = ?1 ORDER BY seq", dec);
		break;
	case MDT__R_GET_TASK:
		snprintf(sql, 2048, "SELECT %s" TASK_STATE_COLS TASK_FROM
		    " WHERE t.task_id = ?1", task);
		break;
	case MDT__R_CHILDREN:
		snprintf(sql, 2048, "SELECT %s" TASK_STATE_COLS TASK_FROM
		    " WHERE t.parent_id = ?1 ORDER BY t.seq", task);
		break;
	case MDT__R_COUNT_CHILDREN:
		snprintf(sql, 2048, "SELECT count(*) FROM tasks"
		    " WHERE parent_id = ?1");
		break;
	case MDT__R_CHAIN_ENDED:
		/* one hop of the walk up the chain (queries.c): point
		 * lookups only, no temporary tables on the request path */
		snprintf(sql, 2048, "SELECT EXISTS(SELECT 1 FROM tasks WHERE"
		    " task_id = ?1), (SELECT parent_id FROM tasks WHERE"
		    " task_id = ?1), EXISTS(SELECT 1 FROM ended WHERE"
		    " task_id = ?1)");
		break;
	case MDT__R_GET_APPROVAL:
		snprintf(sql, 2048, "SELECT %s, %s FROM approvals a LEFT JOIN"
		    " approval_decisions d ON d.approval_id = a.approval_id"
		    " WHERE a.approval_id = ?1", ap, ad);
		break;
	default: /* MDT__R_TREE */
		snprintf(sql, 2048, "WITH RECURSIVE d(id, path, n) AS ("
		    " SELECT task_id, printf('%%020d', seq), 0 FROM tasks"
		    " WHERE task_id = ?1 UNION ALL SELECT c.task_id, d.path ||"
		    " '/' || printf('%%020d', c.seq), d.n + 1 FROM tasks c JOIN"
		    " d ON c.parent_id = d.id WHERE d.n < %d) SELECT %s"
		    TASK_STATE_COLS " FROM d JOIN tasks t ON t.task_id = d.id"
		    " LEFT JOIN ended e ON e.task_id = t.task_id"
		    " ORDER BY d.path", MDT__STORE_TREE_DEPTH_MAX, task);
		break;
	}
out:
	mdt__free(dec);
	mdt__free(task);
	mdt__free(ap);
	mdt__free(ad);
	return sql;
}

static int
reader_open(mdt_store *s, mdt__reader *r, char *err, size_t errlen)
{
	uint8_t id[MDT__STORE_ID_BYTES];
	int rc;

	if ((rc = mdt__schema_open(s->path, 1, 0, &r->db, id, err,
	    errlen)) != 0)
		return rc;
	if (s->read_only)
		memcpy(s->id, id, sizeof(id));
	for (int i = 0; i < MDT__R_COUNT_; i++) {
		char *sql = reader_sql(i);
		if (sql == NULL)
			return -MDT_ENOMEM;
		rc = mdt__prepare(r->db, sql, &r->st[i], err, errlen);
		mdt__free(sql);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
mdt__readers_open(mdt_store *s, char *err, size_t errlen)
{
	uint32_t want = s->nreaders;

	for (s->nreaders = 0; s->nreaders < want; s->nreaders++) {
		mdt__reader *r = &s->bs->readers[s->nreaders];
		int rc;
		pthread_mutex_init(&r->mu, NULL);
		if ((rc = reader_open(s, r, err, errlen)) != 0) {
			s->nreaders++; /* closed with the others */
			return rc;
		}
	}
	return 0;
}

void
mdt__readers_close(mdt_store *s)
{
	for (uint32_t i = 0; i < s->nreaders; i++) {
		mdt__reader *r = &s->bs->readers[i];
		for (int k = 0; k < MDT__R_COUNT_; k++)
			sqlite3_finalize(r->st[k]);
		sqlite3_close(r->db);
		pthread_mutex_destroy(&r->mu);
	}
	s->nreaders = 0;
}

mdt__reader *
mdt__reader_acquire(mdt_store *s)
{
	unsigned start = __atomic_fetch_add(&s->bs->rr, 1u, __ATOMIC_RELAXED);

	for (uint32_t i = 0; i < s->nreaders; i++) {
		mdt__reader *r = &s->bs->readers[(start + i) % s->nreaders];
		if (pthread_mutex_trylock(&r->mu) == 0)
			return r;
	}
	pthread_mutex_lock(&s->bs->readers[start % s->nreaders].mu);
	return &s->bs->readers[start % s->nreaders];
}

void
mdt__reader_release(mdt__reader *r)
{
	for (int i = 0; i < MDT__R_COUNT_; i++)
		sqlite3_reset(r->st[i]);
	pthread_mutex_unlock(&r->mu);
}

/* Bytes of text the row's segments need (with NULs). */
static size_t
text_bytes(sqlite3_stmt *st, const mdt__seg *segs, size_t nsegs)
{
	size_t n = 0;

	for (size_t g = 0; g < nsegs; g++)
		for (size_t i = 0; i < segs[g].d->ncols; i++) {
			int col = segs[g].first + 3 + (int)i;
			char t = segs[g].d->cols[i].type;
			if (t == 'P' && sqlite3_column_type(st, col) ==
			    SQLITE_BLOB)
				n += MDT_STORE_HASH_BYTES;
			if (t == 'T' &&
			    sqlite3_column_type(st, col) != SQLITE_NULL) {
				(void)sqlite3_column_text(st, col);
				n += (size_t)sqlite3_column_bytes(st, col) + 1;
			}
		}
	return n;
}

/* A 'P' column: the hash copied after the struct and pointed to; a
 * value that is not a 32-byte blob reads as none (verify reports it). */
static void
put_hash_ref(sqlite3_stmt *st, int col, unsigned char *field, char **text)
{
	char *dst = *text;

	if (sqlite3_column_type(st, col) != SQLITE_BLOB ||
	    sqlite3_column_bytes(st, col) != MDT_STORE_HASH_BYTES)
		return;
	memcpy(dst, sqlite3_column_blob(st, col), MDT_STORE_HASH_BYTES);
	memcpy(field, &dst, sizeof(dst));
	*text += MDT_STORE_HASH_BYTES;
}

/* Copies one column into the struct; NULL columns leave the zero. */
static void
put_col(sqlite3_stmt *st, int col, const mdt__col *c, unsigned char *base,
    char **text)
{
	int64_t v = sqlite3_column_int64(st, col);
	int type = sqlite3_column_type(st, col);

	if (type == SQLITE_NULL)
		return;
	switch (c->type) {
	case 'T': {
		const char *p = (const char *)sqlite3_column_text(st, col);
		size_t len = (size_t)sqlite3_column_bytes(st, col);
		char *dst = *text;
		memcpy(dst, p, len);
		dst[len] = '\0';
		memcpy(base + c->off, &dst, sizeof(dst));
		*text += len + 1;
		break;
	}
	case 'L':
		memcpy(base + c->off, &v, sizeof(v));
		break;
	case 'U': {
		uint32_t u = (uint32_t)v;
		memcpy(base + c->off, &u, sizeof(u));
		break;
	}
	case 'E': {
		int e = (int)v;
		memcpy(base + c->off, &e, sizeof(e));
		break;
	}
	case 'P':
		put_hash_ref(st, col, base + c->off, text);
		break;
	default:
		if (sqlite3_column_bytes(st, col) == MDT_STORE_HASH_BYTES)
			memcpy(base + c->off, sqlite3_column_blob(st, col),
			    MDT_STORE_HASH_BYTES);
		break;
	}
}

int
mdt__unpack(sqlite3_stmt *st, const mdt__seg *segs, size_t nsegs,
    size_t struct_size, void **out)
{
	size_t bytes = text_bytes(st, segs, nsegs);
	unsigned char *base = mdt__calloc(1, struct_size + bytes);
	char *text;

	if (base == NULL)
		return -MDT_ENOMEM;
	text = (char *)base + struct_size;
	for (size_t g = 0; g < nsegs; g++) {
		const mdt__seg *sg = &segs[g];
		if (sqlite3_column_type(st, sg->first) != SQLITE_NULL) {
			uint64_t seq = (uint64_t)sqlite3_column_int64(st,
			    sg->first);
			memcpy(base + sg->seq_off, &seq, sizeof(seq));
		}
		for (size_t i = 0; i < sg->d->ncols; i++)
			put_col(st, sg->first + 3 + (int)i, &sg->d->cols[i],
			    base, &text);
	}
	*out = base;
	return 0;
}

void
mdt__task_state_cols(sqlite3_stmt *st, int first, mdt_store_task *t)
{
	if (sqlite3_column_type(st, first) == SQLITE_NULL) {
		t->state = MDT_TASK_OPEN;
		return;
	}
	t->state = (mdt_task_state)sqlite3_column_int(st, first);
	t->ended_ms = sqlite3_column_int64(st, first + 1);
	t->end_seq = (uint64_t)sqlite3_column_int64(st, first + 2);
}
