/* Error strings and the allocator's failure-injection hook. */
#include <stdlib.h>
#include <string.h>

#include <mandate/common.h>

#include "alloc_int.h"
#include "testutil.h"

START_TEST(every_code_has_a_string)
{
	for (int c = 0; c < MDT_E_COUNT_; c++) {
		const char *s = mdt_strerror(-c);
		ck_assert_ptr_nonnull(s);
		ck_assert_str_ne(s, "unknown error");
		ck_assert_str_eq(s, mdt_strerror(c));
	}
	ck_assert_str_eq(mdt_strerror(MDT_E_COUNT_), "unknown error");
	ck_assert_str_eq(mdt_strerror(-1000), "unknown error");
}
END_TEST

START_TEST(strings_are_distinct)
{
	for (int a = 0; a < MDT_E_COUNT_; a++)
		for (int b = a + 1; b < MDT_E_COUNT_; b++)
			ck_assert_str_ne(mdt_strerror(a), mdt_strerror(b));
}
END_TEST

START_TEST(alloc_hook_fails_on_schedule)
{
	void *a, *b;

	mdt__alloc_fail_after(1);
	a = mdt__malloc(8);
	b = mdt__malloc(8);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_null(b);
	ck_assert_int_eq(mdt__alloc_failures(), 1);
	mdt__alloc_fail_after(-1);
	b = mdt__malloc(8);
	ck_assert_ptr_nonnull(b);
	mdt__free(a);
	mdt__free(b);
	mdt_free(NULL);
}
END_TEST

START_TEST(version_is_semver)
{
	ck_assert_str_eq(mdt_version(), "0.1.0");
}
END_TEST

static Suite *
common_suite(void)
{
	Suite *s = suite_create("common");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, every_code_has_a_string);
	tcase_add_test(tc, strings_are_distinct);
	tcase_add_test(tc, alloc_hook_fails_on_schedule);
	tcase_add_test(tc, version_is_semver);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(common_suite());
}
