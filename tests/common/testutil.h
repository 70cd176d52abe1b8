/*
 * Helpers shared by the Check suites: running a suite with the project's
 * conventions, and locating source and build folders.
 */
#ifndef MDT_TESTUTIL_H
#define MDT_TESTUTIL_H

#include <check.h>

/* Runs the suite and returns the process exit status (0 when all pass). */
int mdt_test_run(Suite *s);

/* $MDT_SOURCE_DIR, or "." when unset.  Never NULL. */
const char *mdt_test_source_dir(void);

/* $MDT_BINARY_DIR, or "." when unset.  Never NULL. */
const char *mdt_test_binary_dir(void);

/*
 * Runs cmd through the shell and keeps what it printed in out (cap
 * bytes, cap > 0, NUL-terminated, cut when longer).  The exit status, or -1 when
 * it did not start or did not exit.
 */
int mdt_test_capture(const char *cmd, char *out, size_t cap);

#endif
