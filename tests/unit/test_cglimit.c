/*
 * Unit tests of the strict parser of cgroup controller values
 * (lib/proc/cglimit.c): what an image's LIMITS record may ask a restore
 * to write, the io files one line per device (lib/proc/cgio.c) included.
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

static void test_io_lines(void)
{
	const char *T = "blkio.throttle.read_bps_device";
	const char *I = "blkio.throttle.write_iops_device";

	CU_ASSERT_EQUAL(check(T, false, ""), 0);
	CU_ASSERT_EQUAL(check(T, false, "254:0 1048576"), 0);
	CU_ASSERT_EQUAL(check(T, false, "254:0 1048576\n7:0 5"), 0);
	CU_ASSERT_EQUAL(check(T, false, "254:0 9223372036854775807"), 0);
	CU_ASSERT_EQUAL(check(T, false, "4095:1048575 1"), 0);
	CU_ASSERT_EQUAL(check(T, false, "254:0 9223372036854775808"), -EINVAL);
	CU_ASSERT_EQUAL(check(T, false, "254:0 0"), -EINVAL);
	CU_ASSERT_EQUAL(check(T, false, "254:0 -5"), -EINVAL);
	CU_ASSERT_EQUAL(check(T, false, "254:0 +5"), -EINVAL);
	CU_ASSERT_EQUAL(check(T, false, "254:0 05"), -EINVAL);
	CU_ASSERT_EQUAL(check(T, false, "254:0 max"), -EINVAL);
	CU_ASSERT_EQUAL(check(T, false, "254:0  5"), -EINVAL);
	CU_ASSERT_EQUAL(check(T, false, "254:0 5 "), -EINVAL);
	CU_ASSERT_EQUAL(check(T, false, " 254:0 5"), -EINVAL);
	CU_ASSERT_EQUAL(check(T, false, "254:0 5\n"), -EINVAL);
	CU_ASSERT_EQUAL(check(T, false, "254:0 5\n\n7:0 5"), -EINVAL);
	CU_ASSERT_EQUAL(check(T, false, "254:0 5\n254:0 6"), -EINVAL); /* a device twice */
	CU_ASSERT_EQUAL(check(T, false, "0:0 5"), -EINVAL);
	CU_ASSERT_EQUAL(check(T, false, "0:1 5"), -EINVAL);
	CU_ASSERT_EQUAL(check(T, false, "4096:0 5"), -EINVAL);
	CU_ASSERT_EQUAL(check(T, false, "254:1048576 5"), -EINVAL);
	CU_ASSERT_EQUAL(check(T, false, "254 5"), -EINVAL);
	CU_ASSERT_EQUAL(check(T, false, "254:0:0 5"), -EINVAL);
	CU_ASSERT_EQUAL(check(T, false, "/dev/vda 5"), -EINVAL);
	CU_ASSERT_EQUAL(check(T, false, "../../x 5"), -EINVAL);
	CU_ASSERT_EQUAL(check(T, false, "254:0"), -EINVAL);
	CU_ASSERT_EQUAL(check(T, false, "default 5"), -EINVAL);
	CU_ASSERT_EQUAL(check(I, false, "254:0 4294967294"), 0);
	CU_ASSERT_EQUAL(check(I, false, "254:0 4294967295"), -EINVAL);
	CU_ASSERT_EQUAL(check("blkio.weight", false, "500"), 0);
	CU_ASSERT_EQUAL(check("blkio.weight", false, "9"), -EINVAL);
	CU_ASSERT_EQUAL(check("blkio.weight", false, "1001"), -EINVAL);
	CU_ASSERT_PTR_NULL(cglimit_lookup("blkio.throttle.io_service_bytes", false));
	CU_ASSERT_PTR_NULL(cglimit_lookup("io.max", false));
	CU_ASSERT_PTR_NULL(cglimit_lookup("blkio.throttle.read_bps_device", true));
	CU_ASSERT(cglimit_in_hierarchy(cglimit_lookup(T, false), "blkio"));
	CU_ASSERT(!cglimit_in_hierarchy(cglimit_lookup(T, false), "memory"));
	CU_ASSERT(cglimit_in_hierarchy(cglimit_lookup("io.max", true), ""));
}

static void test_io_max(void)
{
	CU_ASSERT_EQUAL(check("io.max", true, "254:0 rbps=1048576 wbps=max riops=max wiops=max"),
			0);
	CU_ASSERT_EQUAL(check("io.max", true,
			      "254:0 rbps=1 wbps=2 riops=3 wiops=4\n7:0 rbps=5 "
			      "wbps=max riops=max wiops=max"),
			0);
	CU_ASSERT_EQUAL(check("io.max", true, "254:0 wiops=7"), 0); /* a subset (--limit) */
	CU_ASSERT_EQUAL(check("io.max", true, "254:0 wiops=7 rbps=1"), 0);
	CU_ASSERT_EQUAL(check("io.max", true, ""), 0);
	CU_ASSERT_EQUAL(check("io.max", true, "254:0"), -EINVAL);
	CU_ASSERT_EQUAL(check("io.max", true, "254:0 "), -EINVAL);
	CU_ASSERT_EQUAL(check("io.max", true, "254:0 rbps=1 rbps=2"), -EINVAL);
	CU_ASSERT_EQUAL(check("io.max", true, "254:0 rbps=1 "), -EINVAL);
	CU_ASSERT_EQUAL(check("io.max", true, "254:0 rbps=1  wbps=2"), -EINVAL);
	CU_ASSERT_EQUAL(check("io.max", true, "254:0 rbps="), -EINVAL);
	CU_ASSERT_EQUAL(check("io.max", true, "254:0 rbps=-1"), -EINVAL);
	CU_ASSERT_EQUAL(check("io.max", true, "254:0 rbps=0"), -EINVAL);
	CU_ASSERT_EQUAL(check("io.max", true, "254:0 rbps=Max"), -EINVAL);
	CU_ASSERT_EQUAL(check("io.max", true, "254:0 rbps"), -EINVAL);
	CU_ASSERT_EQUAL(check("io.max", true, "254:0 xbps=1"), -EINVAL);
	CU_ASSERT_EQUAL(check("io.max", true, "254:0 rlat=1"), -EINVAL);
	CU_ASSERT_EQUAL(check("io.max", true, "254:0 riops=4294967295"), -EINVAL);
	CU_ASSERT_EQUAL(check("io.max", true, "254:0 riops=4294967294"), 0);
	CU_ASSERT_EQUAL(check("io.max", true, "254:0 rbps=1\n254:0 wbps=1"), -EINVAL);
	CU_ASSERT_EQUAL(check("io.max", true, "0:0 rbps=1"), -EINVAL);
	CU_ASSERT_EQUAL(check("io.max", true, "default rbps=1"), -EINVAL);
}

static void test_io_weight(void)
{
	CU_ASSERT_EQUAL(check("io.weight", true, "default 100"), 0);
	CU_ASSERT_EQUAL(check("io.weight", true, "default 100\n254:0 200"), 0);
	CU_ASSERT_EQUAL(check("io.weight", true, "default 10000"), 0);
	CU_ASSERT_EQUAL(check("io.weight", true, "default 10001"), -EINVAL);
	CU_ASSERT_EQUAL(check("io.weight", true, "default 0"), -EINVAL);
	CU_ASSERT_EQUAL(check("io.weight", true, "default 100\ndefault 200"), -EINVAL);
	CU_ASSERT_EQUAL(check("io.weight", true, "100"), -EINVAL);
	CU_ASSERT_EQUAL(check("io.weight", true, "default  100"), -EINVAL);
	CU_ASSERT_EQUAL(check("blkio.bfq.weight", false, "default 1000"), 0);
	CU_ASSERT_EQUAL(check("blkio.bfq.weight", false, "default 1001"), -EINVAL);
}

static void test_io_normal(void)
{
	const struct cglimit_file *m = cglimit_lookup("io.max", true);
	const struct cglimit_file *t = cglimit_lookup("blkio.throttle.read_bps_device", false);
	const struct cglimit_file *w = cglimit_lookup("io.weight", true);
	struct cgio_line l;
	char buf[256];

	CU_ASSERT(cglimit_multiline(m) && cglimit_multiline(t) && cglimit_multiline(w));
	CU_ASSERT(!cglimit_multiline(cglimit_lookup("pids.max", true)));
	CU_ASSERT_EQUAL(cgio_normalise(m, "254:0 wiops=7 rbps=1\n7:0 rbps=max", buf, sizeof(buf)),
			0);
	CU_ASSERT_STRING_EQUAL(buf, "254:0 rbps=1 wbps=max riops=max wiops=7");
	CU_ASSERT_EQUAL(cgio_normalise(t, "254:0 5\n7:1 6\n7:0 7\n253:0 8", buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "7:0 7\n7:1 6\n253:0 8\n254:0 5");
	CU_ASSERT_EQUAL(cgio_normalise(w, "254:0 200\ndefault 50", buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "default 50\n254:0 200");
	CU_ASSERT_EQUAL(cgio_normalise(t, "254:0 5\n7:1 6", buf, 8), -ENOSPC);
	CU_ASSERT_EQUAL(cgio_normalise(t, "254:0 x", buf, sizeof(buf)), -EINVAL);
	CU_ASSERT_EQUAL(cgio_parse_line(m, "254:0 wbps=9", 12, &l), 0);
	CU_ASSERT(l.maj == 254 && l.min == 0 && l.v[1] == 9 && l.v[0] == CGIO_NOLIMIT);
	CU_ASSERT(cgio_line_limits(m, &l));
	CU_ASSERT_EQUAL(cgio_parse_line(m, "254:0 wbps=max", 14, &l), 0);
	CU_ASSERT(!cgio_line_limits(m, &l));
	CU_ASSERT_EQUAL(cgio_format_line(m, &l, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "254:0 rbps=max wbps=max riops=max wiops=max");
	CU_ASSERT_EQUAL(cgio_format_line(m, &l, buf, 10), -ENOSPC);
}

static void test_io_devices(void)
{
	const struct cglimit_file *t = cglimit_lookup("blkio.throttle.read_bps_device", false);
	char bad[32] = "";

	/* 4095:1048575 is no block device on any host; 1:3 (/dev/null) is a char device */
	CU_ASSERT_EQUAL(cgio_devices(t, "4095:1048575 5", bad, sizeof(bad)), -ENODEV);
	CU_ASSERT_STRING_EQUAL(bad, "4095:1048575");
	CU_ASSERT_EQUAL(cgio_devices(t, "1:3 5", bad, sizeof(bad)), -ENODEV);
	CU_ASSERT_STRING_EQUAL(bad, "1:3");
	CU_ASSERT_EQUAL(cgio_devices(t, "", bad, sizeof(bad)), 0);
	CU_ASSERT_EQUAL(cgio_devices(t, "1:x 5", bad, sizeof(bad)), -EINVAL);
	CU_ASSERT_EQUAL(
		cgio_devices(cglimit_lookup("io.weight", true), "default 5", bad, sizeof(bad)), 0);
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
	CU_add_test(s, "io lines", test_io_lines);
	CU_add_test(s, "io.max", test_io_max);
	CU_add_test(s, "io.weight", test_io_weight);
	CU_add_test(s, "io normal form", test_io_normal);
	CU_add_test(s, "io devices", test_io_devices);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
