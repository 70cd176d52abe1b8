/* Shared Check runner and path helpers for the test suites. */
#include <stdlib.h>

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
