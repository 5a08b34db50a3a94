/*
 * The libvserver context API (vx_*) through vserver() and the userspace
 * engine (lib/ctx/dispatch.c), on a real context: it is created with the
 * engine's own vxctx_create() (a sleeping command, hostname set) in a
 * temporary run directory, then every query and change goes through the
 * public API and is checked against what the kernel shows (/proc, the
 * cgroup freezer).  The context is killed and waited for at the end; the
 * run directory is removed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <CUnit/Basic.h>

#include "vxcr/vxcr.h"
#include "vxcr/vserver.h"
#include "ctx/ctx.h"

static char rundir[] = "/tmp/vxcr-ctx-api-XXXXXX";
static uint32_t xid;
static pid_t init_pid;

/* The state letter of pid from /proc/PID/stat, or 0. */
static char task_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	return p && p[1] ? p[2] : 0;
}

static int setup(void)
{
	static char *const argv[] = { "sleep", "60", NULL };
	struct vxctx_create_args a = {
		.xid = VXCTX_XID_DYNAMIC,
		.bcaps = ~0ull,
		.ccaps = VXCTX_C_ALL,
		.hostname = "vx-api-test",
		.argv = argv,
		.rundir = rundir,
	};

	if (!mkdtemp(rundir) || setenv("VXCR_RUNDIR", rundir, 1))
		return 1;
	vxcr_set_log_level(VXCR_LOG_ERR);
	return vxctx_create(&a, &xid, &init_pid) ? 1 : 0;
}

static int teardown(void)
{
	int code = 0;
	char cmd[128];

	if (xid) {
		vxctx_kill(rundir, xid, 0, SIGKILL);
		vxctx_wait(rundir, xid, &code, NULL);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", rundir);
	return system(cmd) ? 1 : 0;
}

static void test_info(void)
{
	vx_info_t in = { 0 };
	vx_stat_t st = { 0 };

	CU_ASSERT_EQUAL_FATAL(vx_info(xid, &in), 0);
	CU_ASSERT_EQUAL(in.xid, xid);
	CU_ASSERT_EQUAL(in.initpid, init_pid);
	CU_ASSERT_EQUAL(vx_task_xid(init_pid), (int)xid);
	CU_ASSERT_EQUAL(vx_task_xid(getpid()), 0); /* we are on the host */
	CU_ASSERT_EQUAL(vx_stat(xid, &st), 0);
	CU_ASSERT(st.tasks >= 2); /* the init and sleep */
	CU_ASSERT(st.nr_threads >= st.tasks);
	errno = 0;
	CU_ASSERT_EQUAL(vx_info(xid + 1000, &in), -1);
	CU_ASSERT_EQUAL(errno, ESRCH);
}

static void test_uname(void)
{
	vx_uname_t u = { .id = VHIN_NODENAME };

	CU_ASSERT_EQUAL_FATAL(vx_uname_get(xid, &u), 0);
	CU_ASSERT_STRING_EQUAL(u.value, "vx-api-test");
	snprintf(u.value, sizeof(u.value), "%s", "renamed");
	CU_ASSERT_EQUAL(vx_uname_set(xid, &u), 0);
	memset(u.value, 0, sizeof(u.value));
	CU_ASSERT_EQUAL(vx_uname_get(xid, &u), 0);
	CU_ASSERT_STRING_EQUAL(u.value, "renamed");
	u.id = VHIN_RELEASE; /* a stock kernel cannot */
	snprintf(u.value, sizeof(u.value), "%s", "9.9");
	errno = 0;
	CU_ASSERT_EQUAL(vx_uname_set(xid, &u), -1);
	CU_ASSERT_EQUAL(errno, ENOTTY);
}

static void test_pause(void)
{
	vx_flags_t f = { .flags = VXF_SCHED_PAUSE, .mask = VXF_SCHED_PAUSE };
	char st;
	int i;

	CU_ASSERT_EQUAL_FATAL(vx_flags_set(xid, &f), 0);
	memset(&f, 0, sizeof(f));
	CU_ASSERT_EQUAL(vx_flags_get(xid, &f), 0);
	CU_ASSERT(f.flags & VXF_SCHED_PAUSE);
	for (i = 0, st = 0; i < 100 && st != 'S' && st != 'D'; i++) {
		st = task_state(init_pid);
		usleep(10000);
	}
	CU_ASSERT(st == 'S' || st == 'D'); /* frozen tasks sleep */
	f.flags = 0;
	f.mask = VXF_SCHED_PAUSE;
	CU_ASSERT_EQUAL(vx_flags_set(xid, &f), 0);
	CU_ASSERT_EQUAL(vx_flags_get(xid, &f), 0);
	CU_ASSERT_FALSE(f.flags & VXF_SCHED_PAUSE);
}

static void test_kill_outside(void)
{
	errno = 0;
	CU_ASSERT_EQUAL(vx_kill(xid, getpid(), 0), -1); /* not in the context */
	CU_ASSERT_EQUAL(errno, ESRCH);
	CU_ASSERT_EQUAL(vx_kill(xid, init_pid, 0), 0);
}

/* Innermost pid of pid (last NSpid field), 0 if unknown. */
static long nspid(pid_t pid)
{
	char path[64], line[256];
	long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "NSpid:", 6)) {
			char *p = strrchr(line, '\t');

			v = p ? strtol(p + 1, NULL, 10) : 0;
		}
	if (f)
		fclose(f);
	return v;
}

/* The whole context through the switch: checkpoint of its init (killed
 * afterwards), then restart: the same xid, the uname test_uname set, the
 * init as pid 1 inside. */
static void test_checkpoint_restart(void)
{
	struct vcmd_checkpoint_v0 a = { .pid = getpid(), .flags = 0 };
	int fd = memfd_create("ctx-ckpt", MFD_CLOEXEC);
	vx_uname_t u = { .id = VHIN_NODENAME };
	vx_info_t info = { 0 };
	long crid, rpid;

	CU_ASSERT_FATAL(fd >= 0);
	a.fd = fd;
	/* context id given, but pid is not its init */
	CU_ASSERT_EQUAL(vserver(VCMD_checkpoint, xid, &a), -EINVAL);
	crid = vxcr_checkpoint(init_pid, fd, 0);
	if (crid <= 0)
		fprintf(stderr, "checkpoint: %s\n", vxcr_last_error());
	CU_ASSERT_FATAL(crid > 0);
	errno = 0;
	CU_ASSERT_EQUAL(vx_info(xid, &info), -1); /* killed, record gone */
	CU_ASSERT_EQUAL(errno, ESRCH);
	CU_ASSERT_NOT_EQUAL(task_state(init_pid), 'S');

	lseek(fd, 0, SEEK_SET);
	rpid = vxcr_restart(crid, fd, 0);
	if (rpid <= 0)
		fprintf(stderr, "restart: %s\n", vxcr_last_error());
	CU_ASSERT_FATAL(rpid > 0);
	close(fd);
	CU_ASSERT_EQUAL(vx_info(xid, &info), 0);
	CU_ASSERT_EQUAL(info.initpid, rpid);
	CU_ASSERT_EQUAL(nspid((pid_t)rpid), 1);
	CU_ASSERT_EQUAL(vx_task_xid((pid_t)rpid), (int)xid);
	CU_ASSERT_EQUAL(vx_uname_get(xid, &u), 0);
	CU_ASSERT_STRING_EQUAL(u.value, "renamed"); /* as test_uname left it */
	init_pid = (pid_t)rpid;
}

/* The library's create gives the guest bounding set unless told otherwise. */
static void test_default_bcaps(void)
{
	static char *const argv[] = { "sleep", "60", NULL };
	struct vxcr_ctx_create_opts o;
	struct vxcr_ctx_info in;
	uint64_t want[2] = { vxcr_ctx_guest_bcaps(0, 0), VXCR_BCAPS_ALL };
	int code;

	for (int i = 0; i < 2; i++) {
		xid_t x = 0;

		vxcr_ctx_create_opts_init(&o);
		CU_ASSERT_EQUAL(o.bcaps, VXCR_BCAPS_GUEST);
		o.xid = VXCR_XID_DYNAMIC;
		o.argv = argv;
		if (i)
			o.bcaps = VXCR_BCAPS_ALL;
		CU_ASSERT_EQUAL_FATAL(vxcr_ctx_create(&o, &x, NULL), 0);
		CU_ASSERT_EQUAL(vxcr_ctx_info(x, &in), 0);
		CU_ASSERT_EQUAL(in.bcaps, want[i]);
		CU_ASSERT_EQUAL(!!(in.bcaps & (1ULL << 21)), i); /* SYS_ADMIN */
		vxctx_kill(rundir, x, 0, SIGKILL);
		vxctx_wait(rundir, x, &code, NULL);
	}
}

static void test_kill_wait(void)
{
	vx_wait_t w = { 0 };

	CU_ASSERT_EQUAL_FATAL(vx_kill(xid, 0, SIGKILL), 0);
	CU_ASSERT_EQUAL(vx_wait(xid, &w), 0);
	CU_ASSERT(w.exit_code != 0); /* killed */
	errno = 0;
	CU_ASSERT_EQUAL(vx_info(xid, &(vx_info_t){ 0 }), -1);
	CU_ASSERT_EQUAL(errno, ESRCH);
	xid = 0; /* nothing left to clean */
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	/* orphans of the context's supervisor come back to us */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("ctx_api", setup, teardown);
	CU_add_test(s, "info, task_xid, stat", test_info);
	CU_add_test(s, "uname", test_uname);
	CU_add_test(s, "SCHED_PAUSE", test_pause);
	CU_add_test(s, "kill outside", test_kill_outside);
	CU_add_test(s, "checkpoint and restart of the context", test_checkpoint_restart);
	CU_add_test(s, "library create: the guest bcaps by default", test_default_bcaps);
	CU_add_test(s, "kill and wait", test_kill_wait);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
		CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return fails ? 1 : 0;
}
