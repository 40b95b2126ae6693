/* test_error.c - error codes, names and the per-thread last-error message. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "lib/internal.h"

static void test_strerror_names_every_code(void **state)
{
	static const char *const prefixes[] = {
		"VMM_OK:", "VMM_EINVAL:", "VMM_ENOMEM:", "VMM_ENOTSUP:", "VMM_ERANGE:",
		"VMM_EEXIST:", "VMM_ENOENT:", "VMM_EBADIMAGE:", "VMM_EBACKEND:", "VMM_EIO:",
		"VMM_ESTATE:", "VMM_ETIMEDOUT:", "VMM_EINTERNAL:", "VMM_EBUSY:",
	};

	for (int i = 0; i <= 13; i++) {
		const char *s = vmm_strerror(-i);

		if (strncmp(s, prefixes[i], strlen(prefixes[i])) != 0)
			fail_msg("vmm_strerror(%d) = '%s'", -i, s);
	}
	assert_string_equal(vmm_strerror(-14), "VMM_E?: unknown error code");
	assert_string_equal(vmm_strerror(1), "VMM_E?: unknown error code");
	assert_string_equal(vmm_strerror(-2147483647 - 1), "VMM_E?: unknown error code");
}

static void test_err_formats_and_returns_code(void **state)
{
	char big[1000];

	assert_int_equal(vmm__err(VMM_ERANGE, "gpa 0x%x of %s", 0x1000, "RAM"), VMM_ERANGE);
	assert_string_equal(vmm_last_error(), "gpa 0x1000 of RAM");
	vmm__clear_error();
	assert_string_equal(vmm_last_error(), "");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(vmm__err(VMM_EIO, "%s", big), VMM_EIO);
	assert_int_equal(strlen(vmm_last_error()), 511);  /* truncated, terminated */
	assert_string_equal(vmm_version(), "1.0.0");
}

static void *other_thread(void *arg)
{
	char *seen = arg;

	strcpy(seen, vmm_last_error());  /* a new thread starts with no message */
	vmm__err(VMM_EIO, "other thread");
	return NULL;
}

static void test_last_error_is_per_thread(void **state)
{
	pthread_t t;
	char seen[64] = "unset";

	vmm__err(VMM_EINVAL, "main thread");
	assert_int_equal(pthread_create(&t, NULL, other_thread, seen), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_string_equal(seen, "");
	assert_string_equal(vmm_last_error(), "main thread");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strerror_names_every_code),
		cmocka_unit_test(test_err_formats_and_returns_code),
		cmocka_unit_test(test_last_error_is_per_thread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
