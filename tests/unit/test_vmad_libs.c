/*
 * The VMADump library list (lib/vmad/libs.c): absolute paths only, no
 * duplicates, removal, the list as NUL-terminated paths (whole paths only
 * when the buffer is short, the size needed always), clear, a fork's
 * inherited copy, and the copy the dump helper takes.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "vxcr/vmadump.h"
#include "vmad/dump.h"

static void test_add_del(void)
{
	vmad_lib_clear();
	CU_ASSERT_EQUAL(vmad_lib_size(), 0);
	CU_ASSERT_EQUAL(vmad_lib_add("lib/x.so"), -1);
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_EQUAL(vmad_lib_add(""), -1);
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_EQUAL(vmad_lib_add(NULL), -1);
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_EQUAL(vmad_lib_add("/lib/a.so"), 0);
	CU_ASSERT_EQUAL(vmad_lib_add("/lib/a.so"), -1);
	CU_ASSERT_EQUAL(errno, EEXIST);
	CU_ASSERT_EQUAL(vmad_lib_add("/lib/a.so/"), 0); /* kept as given */
	CU_ASSERT_EQUAL(vmad_lib_size(), 10 + 11);
	CU_ASSERT_EQUAL(vmad_lib_del("/lib/b.so"), -1);
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_EQUAL(vmad_lib_del(NULL), -1);
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_EQUAL(vmad_lib_del("/lib/a.so"), 0);
	CU_ASSERT_EQUAL(vmad_lib_size(), 11);
	vmad_lib_clear();
	CU_ASSERT_EQUAL(vmad_lib_size(), 0);
	CU_ASSERT_EQUAL(vmad_lib_del("/lib/a.so/"), -1);
}

static void test_list(void)
{
	char buf[64];

	vmad_lib_clear();
	CU_ASSERT_EQUAL(vmad_lib_list(NULL, 0), 0);
	CU_ASSERT_EQUAL(vmad_lib_add("/a"), 0);
	CU_ASSERT_EQUAL(vmad_lib_add("/bb"), 0);
	CU_ASSERT_EQUAL(vmad_lib_add("/ccc"), 0);
	memset(buf, 'x', sizeof(buf));
	CU_ASSERT_EQUAL(vmad_lib_list(buf, sizeof(buf)), 12);
	CU_ASSERT_EQUAL(memcmp(buf, "/a\0/bb\0/ccc\0x", 13), 0);
	memset(buf, 'x', sizeof(buf));
	CU_ASSERT_EQUAL(vmad_lib_list(buf, 8), 12); /* "/ccc" does not fit */
	CU_ASSERT_EQUAL(memcmp(buf, "/a\0/bb\0x", 8), 0);
	memset(buf, 'x', sizeof(buf));
	CU_ASSERT_EQUAL(vmad_lib_list(buf, 2), 12);
	CU_ASSERT_EQUAL(buf[0], 'x');
	CU_ASSERT_EQUAL(vmad_lib_list(NULL, 100), 12);
	vmad_lib_clear();
}

static void test_fork_and_copy(void)
{
	struct vmad_libs l;
	pid_t pid;
	int st;

	vmad_lib_clear();
	CU_ASSERT_EQUAL(vmad_lib_add("/usr/lib/x.so"), 0);
	pid = fork();
	if (pid == 0)
		_exit(vmad_lib_size() == 14 && vmad_lib_del("/usr/lib/x.so") == 0 ? 0 : 1);
	CU_ASSERT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CU_ASSERT_EQUAL(vmad_lib_size(), 14); /* the child's change is its own */
	CU_ASSERT_EQUAL(vmadump_libs_copy(&l), 0);
	CU_ASSERT_EQUAL(l.n, 1);
	CU_ASSERT_STRING_EQUAL(l.paths[0], "/usr/lib/x.so");
	vmad_lib_clear(); /* the copy is its own */
	CU_ASSERT_STRING_EQUAL(l.paths[0], "/usr/lib/x.so");
	vmadump_libs_free(&l);
	CU_ASSERT_EQUAL(l.n, 0);
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("vmad_libs", NULL, NULL);
	CU_add_test(s, "add, refuse, delete, clear", test_add_del);
	CU_add_test(s, "the list, whole paths, the size needed", test_list);
	CU_add_test(s, "inherited over fork, the helper's copy", test_fork_and_copy);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
