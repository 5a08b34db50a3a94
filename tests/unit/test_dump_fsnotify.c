/*
 * The fdinfo mark parser of the fsnotify kinds (lib/dump/inotify.c,
 * used by inotify and fanotify): " KEY:HEX" values and the f_handle
 * bytes, parsed as hostile text: a key inside another key is not it, a
 * value must be one whole hex number below 2^64 ended by a space or the
 * line's end, a handle must have exactly its length in hex digits.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "dump/dump.h"

static const char LINE[] = " wd:131 ino:a74119 sdev:fe00000 mask:6 ignored_mask:0 "
			   "fhandle-bytes:8 fhandle-type:1 f_handle:1941a700767aac1c";

static int value(const char *line, const char *key, uint64_t *v)
{
	return fsnotify_mark_value(line, line + strlen(line), key, v);
}

static void test_values(void)
{
	uint64_t v = 0;

	CU_ASSERT_EQUAL(value(LINE, "wd", &v), 0);
	CU_ASSERT_EQUAL(v, 0x131);
	CU_ASSERT_EQUAL(value(LINE, "sdev", &v), 0);
	CU_ASSERT_EQUAL(v, 0xfe00000);
	CU_ASSERT_EQUAL(value(LINE, "mask", &v), 0); /* not ignored_mask's */
	CU_ASSERT_EQUAL(v, 6);
	CU_ASSERT_EQUAL(value(LINE, "ignored_mask", &v), 0);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(value(LINE, "fhandle-type", &v), 0);
	CU_ASSERT_EQUAL(v, 1);
	CU_ASSERT_EQUAL(value(LINE, "type", &v), -ENOENT); /* inside fhandle-type */
	CU_ASSERT_EQUAL(value(LINE, "flags", &v), -ENOENT);
}

static void test_hostile_values(void)
{
	uint64_t v;

	CU_ASSERT_EQUAL(value(" wd:", "wd", &v), -EINVAL);
	CU_ASSERT_EQUAL(value(" wd:-1", "wd", &v), -EINVAL);
	CU_ASSERT_EQUAL(value(" wd: 1", "wd", &v), -EINVAL);
	CU_ASSERT_EQUAL(value(" wd:12x ino:1", "wd", &v), -EINVAL);
	CU_ASSERT_EQUAL(value(" wd:10000000000000000", "wd", &v), -EINVAL);
	CU_ASSERT_EQUAL(value(" wd:ffffffffffffffff", "wd", &v), 0);
	CU_ASSERT_EQUAL(v, UINT64_MAX);
	/* the value stops at the line's end, not at the string's */
	CU_ASSERT_EQUAL(fsnotify_mark_value(" wd:12 ino:3", " wd:12 ino:3" + 5, "wd", &v), -EINVAL);
	CU_ASSERT_EQUAL(fsnotify_mark_value(" wd:12 ino:3", " wd:12 ino:3" + 6, "wd", &v), 0);
	CU_ASSERT_EQUAL(v, 0x12);
}

static void test_handle(void)
{
	uint8_t buf[MAX_HANDLE_SZ];
	ProtobufCBinaryData fh = { 0, buf };
	const char *end = LINE + strlen(LINE);
	static const char odd[] = " f_handle:123";
	static const char bad[] = " f_handle:zz";

	CU_ASSERT_EQUAL(fsnotify_mark_handle(LINE, end, 8, &fh), 0);
	CU_ASSERT_EQUAL(fh.len, 8);
	CU_ASSERT_EQUAL(buf[0], 0x19);
	CU_ASSERT_EQUAL(buf[7], 0x1c);
	CU_ASSERT_EQUAL(fsnotify_mark_handle(LINE, end, 7, &fh), -EINVAL); /* too many digits */
	CU_ASSERT_EQUAL(fsnotify_mark_handle(LINE, end, 9, &fh), -EINVAL); /* too few */
	CU_ASSERT_EQUAL(fsnotify_mark_handle(LINE, end, 0, &fh), -EINVAL);
	CU_ASSERT_EQUAL(fsnotify_mark_handle(LINE, end, MAX_HANDLE_SZ + 1, &fh), -EINVAL);
	CU_ASSERT_EQUAL(fsnotify_mark_handle(odd, odd + strlen(odd), 1, &fh), -EINVAL);
	CU_ASSERT_EQUAL(fsnotify_mark_handle(bad, bad + strlen(bad), 1, &fh), -EINVAL);
	CU_ASSERT_EQUAL(fsnotify_mark_handle(" wd:1", " wd:1" + 5, 1, &fh), -EINVAL);
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("dump_fsnotify", NULL, NULL);
	CU_add_test(s, "fdinfo values by key", test_values);
	CU_add_test(s, "hostile values refused", test_hostile_values);
	CU_add_test(s, "file handle bytes", test_handle);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
