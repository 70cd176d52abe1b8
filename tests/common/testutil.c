/* Shared Check runner and path helpers for the test suites. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "testutil.h"

int
mdt_test_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

const char *
mdt_test_source_dir(void)
{
	const char *d = getenv("MDT_SOURCE_DIR");
	return d != NULL ? d : ".";
}

const char *
mdt_test_binary_dir(void)
{
	const char *d = getenv("MDT_BINARY_DIR");
	return d != NULL ? d : ".";
}

int
mdt_test_capture(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0, got;
	int st;

	out[0] = '\0';
	if (p == NULL)
		return -1;
	while ((got = fread(out + n, 1, cap - 1 - n, p)) > 0)
		n += got;
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
