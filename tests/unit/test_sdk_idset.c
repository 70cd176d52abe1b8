/*
 * Bounded id sets of the SDK (revocation and single-use sets of the
 * resource-server verifier): membership, expiry, purge and the full-set
 * refusal the verifier relies on to fail closed.
 */
#include <stdio.h>
#include <string.h>

#include "sdk_int.h"
#include "testutil.h"

START_TEST(test_add_has)
{
	sdk_idset *s;

	ck_assert_int_eq(sdk_idset_new(8, &s), 0);
	ck_assert_int_eq(sdk_idset_has(s, "task-1", 6, 100), 0);
	ck_assert_int_eq(sdk_idset_add(s, "task-1", 6, 200, 100), 0);
	ck_assert_int_eq(sdk_idset_has(s, "task-1", 6, 100), 1);
	ck_assert_int_eq(sdk_idset_has(s, "task-1", 5, 100), 0);
	ck_assert_int_eq(sdk_idset_has(s, "task-2", 6, 100), 0);
	ck_assert_int_eq(sdk_idset_add(s, "task-1", 6, 300, 100), -MDT_EEXIST);
	ck_assert_uint_eq(sdk_idset_count(s), 1);
	sdk_idset_free(s);
}
END_TEST

START_TEST(test_expiry)
{
	sdk_idset *s;

	ck_assert_int_eq(sdk_idset_new(4, &s), 0);
	ck_assert_int_eq(sdk_idset_add(s, "a", 1, 150, 100), 0);
	ck_assert_int_eq(sdk_idset_has(s, "a", 1, 149), 1);
	ck_assert_int_eq(sdk_idset_has(s, "a", 1, 150), 0);
	/* re-adding an expired id succeeds without growing the count */
	ck_assert_int_eq(sdk_idset_add(s, "a", 1, 300, 200), 0);
	ck_assert_uint_eq(sdk_idset_count(s), 1);
	/* an id already dead is not remembered */
	ck_assert_int_eq(sdk_idset_add(s, "b", 1, 50, 100), 0);
	ck_assert_int_eq(sdk_idset_has(s, "b", 1, 40), 0);
	sdk_idset_free(s);
}
END_TEST

START_TEST(test_full_then_purge)
{
	sdk_idset *s;
	char id[32];

	ck_assert_int_eq(sdk_idset_new(100, &s), 0);
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "tok-%d", i);
		ck_assert_int_eq(sdk_idset_add(s, id, strlen(id),
		    i < 50 ? 110 : 1000, 100), 0);
	}
	ck_assert_int_eq(sdk_idset_add(s, "x", 1, 1000, 100), -MDT_EBUSY);
	ck_assert_int_eq(sdk_idset_has(s, "x", 1, 100), 0);
	/* after the first half expires, room is made by purging */
	ck_assert_int_eq(sdk_idset_add(s, "x", 1, 1000, 120), 0);
	ck_assert_uint_eq(sdk_idset_count(s), 51);
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "tok-%d", i);
		ck_assert_int_eq(sdk_idset_has(s, id, strlen(id), 120),
		    i >= 50);
	}
	sdk_idset_free(s);
}
END_TEST

START_TEST(test_bad_capacity)
{
	sdk_idset *s = NULL;

	ck_assert_int_eq(sdk_idset_new(0, &s), -MDT_EINVAL);
	ck_assert_ptr_null(s);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("sdk_idset");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_add_has);
	tcase_add_test(tc, test_expiry);
	tcase_add_test(tc, test_full_then_purge);
	tcase_add_test(tc, test_bad_capacity);
	suite_add_tcase(su, tc);
	return mdt_test_run(su);
}
