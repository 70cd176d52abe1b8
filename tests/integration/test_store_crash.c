/*
 * Crash durability of the audit store.  A child process appends from
 * several threads and prints each sequence number to a pipe only after
 * its append returned; the parent kills it with SIGKILL at a random
 * moment, reopens the store and checks that every printed record is
 * there and that the chain verifies.  Several rounds on the same file, so
 * the chain also continues correctly across crashes.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include <mandate/store.h>

#define ROUNDS 4
#define THREADS 8
#define SEQS_MAX 200000

static uint8_t seed[32], pk[32];
static char path[128];
static int out_fd;
static int round_no;

#define FAIL(...) do { \
	fprintf(stderr, "test_store_crash: " __VA_ARGS__); \
	fputc('\n', stderr); \
	exit(1); \
} while (0)

static void *
child_thread(void *arg)
{
	mdt_store *s = arg;
	char req[48], line[32];

	for (unsigned i = 0;; i++) {
		mdt_store_decision d = {.request_id = req,
		    .operation = "authorize", .verdict = MDT_STORE_ALLOW,
		    .task_id = "t1", .action = "read",
		    .resource = "Observation/obs-1"};
		uint64_t seq;
		int n;
		snprintf(req, sizeof(req), "r%d-%lu-%u", round_no,
		    (unsigned long)pthread_self() % 100000u, i);
		if (mdt_store_append_decision(s, &d, &seq) != 0)
			_exit(3);
		n = snprintf(line, sizeof(line), "%" PRIu64 "\n", seq);
		if (write(out_fd, line, (size_t)n) != n) /* one atomic write */
			_exit(4);
	}
	return NULL;
}

static void
child_main(void)
{
	mdt_store_opts o = {.seal_seed = seed, .checkpoint_every = 64};
	pthread_t th[THREADS];
	char err[MDT_ERRMSG_MAX];
	mdt_store *s;

	if (mdt_store_open(path, &o, &s, err, sizeof(err)) != 0)
		_exit(2);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, child_thread, s);
	for (;;)
		pause();
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Parses complete lines of buf into seqs; returns bytes consumed. */
static size_t
parse(const char *buf, size_t len, uint64_t *seqs, size_t *n)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (*n >= SEQS_MAX)
			FAIL("too many records");
		seqs[(*n)++] = strtoull(buf + start, NULL, 10);
		start = i + 1;
	}
	return start;
}

/* Reads the child's output until it dies; SIGKILL after run_ms. */
static size_t
run_round(uint64_t *seqs, uint32_t run_ms)
{
	static char buf[1 << 16];
	size_t have = 0, n = 0;
	int fds[2], status;
	uint64_t deadline;
	pid_t pid;

	if (pipe(fds) != 0)
		FAIL("pipe: %s", strerror(errno));
	if ((pid = fork()) < 0)
		FAIL("fork: %s", strerror(errno));
	if (pid == 0) {
		close(fds[0]);
		out_fd = fds[1];
		child_main();
	}
	close(fds[1]);
	/* The random moment is counted from the first acknowledged record,
	 * so a slow start (sanitizers, a loaded machine) still kills the
	 * child mid-appends; 60 s without any record is a failure. */
	deadline = now_ms() + 60000;
	for (int killed = 0, started = 0;;) {
		struct pollfd p = {.fd = fds[0], .events = POLLIN};
		ssize_t got;
		if (!started && n > 0) {
			started = 1;
			deadline = now_ms() + run_ms;
		}
		if (!killed && now_ms() >= deadline) {
			kill(pid, SIGKILL);
			killed = 1;
		}
		if (poll(&p, 1, 10) <= 0)
			continue;
		got = read(fds[0], buf + have, sizeof(buf) - have);
		if (got <= 0)
			break; /* EOF: the child is gone */
		have += (size_t)got;
		size_t used = parse(buf, have, seqs, &n);
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFSIGNALED(status) ||
	    WTERMSIG(status) != SIGKILL)
		FAIL("child did not die by SIGKILL (status %d)", status);
	return n;
}

static void
print_issue(void *arg, const mdt_store_issue *is)
{
	(void)arg;
	fprintf(stderr, "  %s %s: %s\n", is->fatal ? "ISSUE" : "note",
	    mdt_store_issue_name(is->kind), is->message);
}

static void
check_round(const uint64_t *seqs, size_t n)
{
	mdt_store_opts o = {.read_only = 1};
	char err[MDT_ERRMSG_MAX];
	mdt_store_report rep;
	mdt_store *s;
	int rc;

	rc = mdt_store_verify(path, pk, print_issue, NULL, &rep, err,
	    sizeof(err));
	if (rc != 0)
		FAIL("verify after crash: %s %s", mdt_strerror(rc), err);
	if ((rc = mdt_store_open(path, &o, &s, err, sizeof(err))) != 0)
		FAIL("reopen: %s", err);
	for (size_t i = 0; i < n; i++) {
		mdt_store_decision *d;
		if (mdt_store_get_decision(s, seqs[i], &d) != 0)
			FAIL("seq %" PRIu64 " was acknowledged but is missing",
			    seqs[i]);
		mdt_free(d);
	}
	mdt_store_close(s);
	printf("round %d: %zu acknowledged records present; %" PRIu64
	    " records, %" PRIu64 " unsigned after the last checkpoint\n",
	    round_no, n, rep.records, rep.unsigned_records);
}

int
main(void)
{
	static uint64_t seqs[SEQS_MAX];
	uint8_t sk[64];
	char dir[] = "/tmp/mdt-crash-XXXXXX";
	size_t total = 0;

	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		FAIL("setup");
	snprintf(path, sizeof(path), "%s/audit.db", dir);
	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(sk, sizeof(sk));
	for (round_no = 1; round_no <= ROUNDS; round_no++) {
		size_t n = run_round(seqs, 50 + randombytes_uniform(600));
		if (n == 0)
			FAIL("round %d: no record acknowledged", round_no);
		check_round(seqs, n);
		total += n;
	}
	printf("ok: %zu acknowledged records survived %d SIGKILLs\n", total,
	    ROUNDS);
	for (size_t i = 0; i < 4; i++) {
		static const char *const sfx[] = {"", "-wal", "-shm", ".lock"};
		char p[160];
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		unlink(p);
	}
	rmdir(dir);
	return 0;
}
