/*
 * Unit tests of the strict parser of cgroup controller values
 * (lib/proc/cglimit.c): what an image's LIMITS record may ask a restore
 * to write.
 */
#include <errno.h>
#include <string.h>
#include <CUnit/Basic.h>

#include "proc/proc.h"

static int check(const char *file, bool v2, const char *value)
{
	const struct cglimit_file *f = cglimit_lookup(file, v2);

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	return cglimit_check(f, value);
}

static void test_lookup(void)
{
	size_t n, i;
	const struct cglimit_file *t = cglimit_table(&n);

	CU_ASSERT(n > 10);
	for (i = 0; i < n; i++)
		CU_ASSERT_PTR_EQUAL(cglimit_lookup(t[i].name, t[i].v2), &t[i]);
	CU_ASSERT_PTR_NULL(cglimit_lookup("cgroup.procs", true));
	CU_ASSERT_PTR_NULL(cglimit_lookup("../../etc/shadow", true));
	CU_ASSERT_PTR_NULL(cglimit_lookup("memory.max", false)); /* v2 only */
	CU_ASSERT_PTR_NULL(cglimit_lookup("memory.limit_in_bytes", true));
	CU_ASSERT_PTR_NULL(cglimit_lookup("release_agent", false));
	CU_ASSERT_PTR_NULL(cglimit_lookup(NULL, false));
}

static void test_hierarchy(void)
{
	CU_ASSERT(cglimit_in_hierarchy(cglimit_lookup("cpu.shares", false), "cpu,cpuacct"));
	CU_ASSERT(cglimit_in_hierarchy(cglimit_lookup("cpu.shares", false), "cpu"));
	CU_ASSERT(!cglimit_in_hierarchy(cglimit_lookup("cpu.shares", false), "cpuacct"));
	CU_ASSERT(!cglimit_in_hierarchy(cglimit_lookup("cpu.shares", false), "cpuset"));
	CU_ASSERT(!cglimit_in_hierarchy(cglimit_lookup("cpu.shares", false), ""));
	CU_ASSERT(cglimit_in_hierarchy(cglimit_lookup("pids.max", false), "pids"));
	CU_ASSERT(cglimit_in_hierarchy(cglimit_lookup("pids.max", true), ""));
	CU_ASSERT(!cglimit_in_hierarchy(cglimit_lookup("pids.max", true), "pids"));
}

static void test_numbers(void)
{
	CU_ASSERT_EQUAL(check("pids.max", true, "max"), 0);
	CU_ASSERT_EQUAL(check("pids.max", true, "0"), 0);
	CU_ASSERT_EQUAL(check("pids.max", true, "12"), 0);
	CU_ASSERT_EQUAL(check("pids.max", false, "4194304"), 0);
	CU_ASSERT_EQUAL(check("pids.max", false, "4194305"), -EINVAL);
	CU_ASSERT_EQUAL(check("pids.max", true, "012"), -EINVAL);
	CU_ASSERT_EQUAL(check("pids.max", true, "+12"), -EINVAL);
	CU_ASSERT_EQUAL(check("pids.max", true, " 12"), -EINVAL);
	CU_ASSERT_EQUAL(check("pids.max", true, "12\n"), -EINVAL);
	CU_ASSERT_EQUAL(check("pids.max", true, "-1"), -EINVAL);
	CU_ASSERT_EQUAL(check("pids.max", true, ""), -EINVAL);
	CU_ASSERT_EQUAL(check("pids.max", true, "Max"), -EINVAL);
	CU_ASSERT_EQUAL(check("pids.max", true, NULL), -EINVAL);
	CU_ASSERT_EQUAL(check("memory.max", true, "9223372036854775807"), 0);
	CU_ASSERT_EQUAL(check("memory.max", true, "9223372036854775808"), -EINVAL);
	CU_ASSERT_EQUAL(check("memory.max", true, "99999999999999999999"), -EINVAL);
	CU_ASSERT_EQUAL(check("memory.limit_in_bytes", false, "9223372036854771712"), 0);
	CU_ASSERT_EQUAL(check("memory.limit_in_bytes", false, "-1"), 0);
	CU_ASSERT_EQUAL(check("memory.limit_in_bytes", false, "-2"), -EINVAL);
	CU_ASSERT_EQUAL(check("memory.limit_in_bytes", false, "max"), -EINVAL);
	CU_ASSERT_EQUAL(check("memory.limit_in_bytes", false, "1k"), -EINVAL);
	CU_ASSERT_EQUAL(check("cpu.cfs_quota_us", false, "-1"), 0);
	CU_ASSERT_EQUAL(check("cpu.cfs_quota_us", false, "50000"), 0);
	CU_ASSERT_EQUAL(check("cpu.cfs_quota_us", false, "999"), -EINVAL);
	CU_ASSERT_EQUAL(check("cpu.cfs_period_us", false, "100000"), 0);
	CU_ASSERT_EQUAL(check("cpu.cfs_period_us", false, "-1"), -EINVAL);
	CU_ASSERT_EQUAL(check("cpu.cfs_period_us", false, "1000001"), -EINVAL);
	CU_ASSERT_EQUAL(check("cpu.shares", false, "1024"), 0);
	CU_ASSERT_EQUAL(check("cpu.shares", false, "1"), -EINVAL);
	CU_ASSERT_EQUAL(check("cpu.weight", true, "100"), 0);
	CU_ASSERT_EQUAL(check("cpu.weight", true, "10001"), -EINVAL);
	CU_ASSERT_EQUAL(check("cpu.weight", true, "max"), -EINVAL);
}

static void test_cpumax(void)
{
	CU_ASSERT_EQUAL(check("cpu.max", true, "max 100000"), 0);
	CU_ASSERT_EQUAL(check("cpu.max", true, "50000 100000"), 0);
	CU_ASSERT_EQUAL(check("cpu.max", true, "50000"), -EINVAL);
	CU_ASSERT_EQUAL(check("cpu.max", true, "max"), -EINVAL);
	CU_ASSERT_EQUAL(check("cpu.max", true, "50000  100000"), -EINVAL);
	CU_ASSERT_EQUAL(check("cpu.max", true, "50000 100000 "), -EINVAL);
	CU_ASSERT_EQUAL(check("cpu.max", true, "999 100000"), -EINVAL);
	CU_ASSERT_EQUAL(check("cpu.max", true, "50000 999"), -EINVAL);
	CU_ASSERT_EQUAL(check("cpu.max", true, "-1 100000"), -EINVAL);
}

static void test_lists(void)
{
	char buf[64];

	CU_ASSERT_EQUAL(check("cpuset.cpus", true, ""), 0);
	CU_ASSERT_EQUAL(check("cpuset.cpus", false, "0-1"), 0);
	CU_ASSERT_EQUAL(check("cpuset.cpus", false, "0,2-3,7"), 0);
	CU_ASSERT_EQUAL(check("cpuset.cpus", false, "3-1"), -EINVAL);
	CU_ASSERT_EQUAL(check("cpuset.cpus", false, "0,"), -EINVAL);
	CU_ASSERT_EQUAL(check("cpuset.cpus", false, ",0"), -EINVAL);
	CU_ASSERT_EQUAL(check("cpuset.cpus", false, "0--1"), -EINVAL);
	CU_ASSERT_EQUAL(check("cpuset.cpus", false, "8192"), -EINVAL);
	CU_ASSERT_EQUAL(check("cpuset.mems", false, "0 1"), -EINVAL);
	CU_ASSERT_EQUAL(check("cgroup.subtree_control", true, ""), 0);
	CU_ASSERT_EQUAL(check("cgroup.subtree_control", true, "cpu memory pids"), 0);
	CU_ASSERT_EQUAL(check("cgroup.subtree_control", true, "cpu cpu"), -EINVAL);
	CU_ASSERT_EQUAL(check("cgroup.subtree_control", true, "cpu "), -EINVAL);
	CU_ASSERT_EQUAL(check("cgroup.subtree_control", true, "+cpu"), -EINVAL);
	CU_ASSERT_EQUAL(check("cgroup.subtree_control", true, "cpu\nmemory"), -EINVAL);
	CU_ASSERT_EQUAL(check("cgroup.subtree_control", true, "freezer"), -EINVAL);
	CU_ASSERT_EQUAL(cglimit_write_text(cglimit_lookup("cgroup.subtree_control", true),
					   "cpu memory", buf, sizeof(buf)),
			0);
	CU_ASSERT_STRING_EQUAL(buf, "+cpu +memory");
	CU_ASSERT_EQUAL(
		cglimit_write_text(cglimit_lookup("pids.max", true), "12", buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "12");
	CU_ASSERT_EQUAL(cglimit_write_text(cglimit_lookup("cgroup.subtree_control", true), "memory",
					   buf, 4),
			-ENOSPC);
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("cglimit", NULL, NULL);
	CU_add_test(s, "lookup", test_lookup);
	CU_add_test(s, "hierarchy", test_hierarchy);
	CU_add_test(s, "numbers", test_numbers);
	CU_add_test(s, "cpu.max", test_cpumax);
	CU_add_test(s, "lists", test_lists);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
