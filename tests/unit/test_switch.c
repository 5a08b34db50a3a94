/*
 * The vserver switch: cmd encoding of every command in the table, decoding
 * errors (ENOSYS / ENOTTY / EINVAL), NULL data, the libvserver -1/errno
 * convention, what the context engine receives (a mock vxctx_call defined
 * here replaces the weak default), the kernel-module client path, and
 * checkpoint/restart of a real process through the switch.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "vxcr/vserver.h"
#include "vxcr/vxcr.h"
#include "ctx/engine.h"
#include "img/img.h"

/* ---- mock context engine ---- */

static struct {
	int calls;
	uint32_t cmd, id;
	void *data;
	long (*fn)(uint32_t cmd, uint32_t id, void *data);	/* NULL: -ENOSYS */
} eng;

long vxctx_call(uint32_t cmd, uint32_t id, void *data)
{
	eng.calls++;
	eng.cmd = cmd;
	eng.id = id;
	eng.data = data;
	return eng.fn ? eng.fn(cmd, id, data) : -ENOSYS;
}

static void eng_reset(void)
{
	memset(&eng, 0, sizeof(eng));
}

/* ---- the table ---- */

struct row {
	const char *name;
	uint32_t cmd, cat, nr, ver;
	int takes_data;
};

#define ROW(n, c, i, v, d) { #n, VCMD_##n, c, i, v, d }
static const struct row table[] = {
	ROW(get_version, 0, 0, 0, 0),
	ROW(ctx_create_v0, 9, 1, 0, 0),
	ROW(ctx_create, 9, 1, 1, 1),
	ROW(ctx_migrate_v0, 11, 1, 0, 0),
	ROW(ctx_migrate, 11, 1, 1, 1),
	ROW(checkpoint, 11, 16, 0, 1),
	ROW(restart, 11, 17, 0, 1),
	ROW(checkpoint_v1, 11, 16, 1, 1),
	ROW(restart_v1, 11, 17, 1, 1),
	ROW(vmad_dump, 11, 18, 0, 1),
	ROW(vmad_undump, 11, 19, 0, 1),
	ROW(task_dump, 11, 20, 0, 1),
	ROW(ctx_kill, 12, 1, 0, 1),
	ROW(task_xid, 46, 1, 0, 0),
	ROW(vx_info, 46, 5, 0, 1),
	ROW(ctx_stat, 40, 0, 0, 1),
	ROW(virt_stat, 40, 3, 0, 1),
	ROW(set_vhi_name, 2, 1, 0, 1),
	ROW(get_vhi_name, 2, 2, 0, 1),
	ROW(get_cflags, 52, 1, 0, 1),
	ROW(set_cflags, 52, 2, 0, 1),
	ROW(get_ccaps, 52, 3, 1, 1),
	ROW(set_ccaps, 52, 4, 1, 1),
	ROW(get_bcaps, 52, 9, 0, 1),
	ROW(set_bcaps, 52, 10, 0, 1),
	ROW(wait_exit, 48, 99, 0, 1),
};
#define NROWS (sizeof(table) / sizeof(table[0]))

static void test_encoding(void)
{
	for (size_t i = 0; i < NROWS; i++) {
		const struct row *r = &table[i];

		CU_ASSERT_EQUAL(VC_CMD(r->cat, r->nr, r->ver), r->cmd);
		CU_ASSERT_EQUAL(VC_CATEGORY(r->cmd), r->cat);
		CU_ASSERT_EQUAL(VC_COMMAND(r->cmd), r->nr);
		CU_ASSERT_EQUAL(VC_VERSION(r->cmd), r->ver);
		CU_ASSERT_EQUAL(r->cmd & VC_RESERVED_BITS, 0);
		for (size_t j = 0; j < i; j++)
			CU_ASSERT_NOT_EQUAL(table[j].cmd, r->cmd);
	}
	/* the whole field ranges, and fields never bleed into each other */
	for (uint32_t c = 0; c < 64; c++)
		for (uint32_t n = 0; n < 256; n += 15)
			for (uint32_t v = 0; v < 4096; v += 4095) {
				uint32_t cmd = VC_CMD(c, n, v);

				CU_ASSERT(VC_CATEGORY(cmd) == c && VC_COMMAND(cmd) == n &&
					  VC_VERSION(cmd) == v);
				CU_ASSERT_EQUAL(cmd & VC_RESERVED_BITS, 0);
			}
	CU_ASSERT_EQUAL(VC_CMD(9, 1, 1), 0x09010001u);
	CU_ASSERT_EQUAL(VC_CMD(64 + 9, 256 + 1, 4096 + 1), 0x09010001u);	/* masked */
	/* Linux-VServer's numbers, spelled out once */
	CU_ASSERT_EQUAL(VCMD_ctx_create, 0x09010001u);
	CU_ASSERT_EQUAL(VCMD_ctx_migrate, 0x0b010001u);
	CU_ASSERT_EQUAL(VCMD_task_xid, 0x2e010000u);
	CU_ASSERT_EQUAL(VCMD_vx_info, 0x2e050000u);
	CU_ASSERT_EQUAL(VCMD_ctx_stat, 0x28000000u);
	CU_ASSERT_EQUAL(VCMD_get_ccaps, 0x34030001u);
	CU_ASSERT_EQUAL(VCMD_wait_exit, 0x30630000u);
	CU_ASSERT_EQUAL(VHIN_DOMAINNAME, 6);
	CU_ASSERT_EQUAL(VXF_PERSISTENT, 1ULL << 38);
	CU_ASSERT_EQUAL(VXC_ADMIN_CLOOP, 0x00400000);
}

/* ---- decoding errors ---- */

static void test_unknown(void)
{
	uint64_t buf[16] = { 0 };

	eng_reset();
	errno = 1234;
	/* unknown categories, including the reserved test category */
	CU_ASSERT_EQUAL(vserver(VC_CMD(5, 1, 0), 1, buf), -ENOSYS);
	CU_ASSERT_EQUAL(vserver(VC_CMD(62, 0, 0), 1, buf), -ENOSYS);
	CU_ASSERT_EQUAL(vserver(VC_CMD(VC_CAT_SYSTEST, 0, 0), 1, buf), -ENOSYS);
	CU_ASSERT_EQUAL(vserver(VC_CMD(VC_CAT_SYSTEST, 1, 0), 1, buf), -ENOSYS);
	/* known category, unknown command; reserved numbers */
	CU_ASSERT_EQUAL(vserver(VC_CMD(VC_CAT_FLAGS, 77, 0), 1, buf), -ENOSYS);
	CU_ASSERT_EQUAL(vserver(VC_CMD(VC_CAT_PROCMIG, 21, 0), 1, buf), -ENOSYS);
	CU_ASSERT_EQUAL(vserver(VC_CMD(VC_CAT_PROCMIG, 23, 0), 1, buf), -ENOSYS);
	CU_ASSERT_EQUAL(vserver(VC_CMD(VC_CAT_VINFO, 2, 0), 1, buf), -ENOSYS);
	/* known command, unsupported version */
	CU_ASSERT_EQUAL(vserver(VC_CMD(VC_CAT_FLAGS, 3, 0), 1, buf), -ENOTTY);	/* ccaps v0 */
	CU_ASSERT_EQUAL(vserver(VC_CMD(VC_CAT_VPROC, 1, 2), 1, buf), -ENOTTY);
	CU_ASSERT_EQUAL(vserver(VC_CMD(VC_CAT_PROCMIG, 16, 2), 1, buf), -ENOTTY);
	CU_ASSERT_EQUAL(vserver(VCMD_wait_exit | 0xFFF, 1, buf), -ENOTTY);
	/* bits outside the three fields */
	CU_ASSERT_EQUAL(vserver(VCMD_get_cflags | 0x40000000u, 1, buf), -EINVAL);
	CU_ASSERT_EQUAL(vserver(VCMD_get_cflags | 0x00001000u, 1, buf), -EINVAL);
	CU_ASSERT_EQUAL(eng.calls, 0);
	CU_ASSERT_EQUAL(errno, 1234);	/* vserver() leaves errno alone */
}

static void test_null_data(void)
{
	for (size_t i = 0; i < NROWS; i++) {
		long ret;

		eng_reset();
		ret = vserver(table[i].cmd, 3, NULL);
		if (table[i].takes_data) {
			CU_ASSERT_EQUAL(ret, -EINVAL);
			CU_ASSERT_EQUAL(eng.calls, 0);
		} else if (table[i].cmd == VCMD_get_version) {
			CU_ASSERT_EQUAL(ret, VXCR_VCI_VERSION);	/* the switch's own */
			CU_ASSERT_EQUAL(eng.calls, 0);
		} else {
			CU_ASSERT_EQUAL(ret, -ENOSYS);	/* reaches the engine */
			CU_ASSERT_EQUAL(eng.calls, 1);
		}
	}
}

/* _v0 forms reach the engine as the current command with zeroed data. */
static void test_v0_conversion(void)
{
	eng_reset();
	CU_ASSERT_EQUAL(vserver(VCMD_ctx_create_v0, 42, NULL), -ENOSYS);
	CU_ASSERT_EQUAL(eng.cmd, VCMD_ctx_create);
	CU_ASSERT_EQUAL(eng.id, 42);
	CU_ASSERT_PTR_NOT_NULL_FATAL(eng.data);
	CU_ASSERT_EQUAL(((struct vcmd_ctx_create *)eng.data)->flagword, 0);
	CU_ASSERT_EQUAL(vserver(VCMD_ctx_migrate_v0, 43, NULL), -ENOSYS);
	CU_ASSERT_EQUAL(eng.cmd, VCMD_ctx_migrate);
	CU_ASSERT_EQUAL(eng.id, 43);
	CU_ASSERT_EQUAL(((struct vcmd_ctx_migrate *)eng.data)->flagword, 0);
}

/* ---- libvserver API ---- */

#define CHECK_EINVAL(call) do {					\
		eng_reset();					\
		errno = 0;					\
		CU_ASSERT_EQUAL(call, -1);			\
		CU_ASSERT_EQUAL(errno, EINVAL);			\
		CU_ASSERT_EQUAL(eng.calls, 0);			\
	} while (0)

static void test_api_null(void)
{
	vx_uname_t u;

	CHECK_EINVAL(vx_bcaps_set(2, NULL));
	CHECK_EINVAL(vx_bcaps_get(2, NULL));
	CHECK_EINVAL(vx_ccaps_set(2, NULL));
	CHECK_EINVAL(vx_ccaps_get(2, NULL));
	CHECK_EINVAL(vx_flags_set(2, NULL));
	CHECK_EINVAL(vx_flags_get(2, NULL));
	CHECK_EINVAL(vx_uname_set(2, NULL));
	CHECK_EINVAL(vx_uname_get(2, NULL));
	memset(&u, 'x', sizeof(u));	/* value not NUL-terminated */
	u.id = VHIN_NODENAME;
	CHECK_EINVAL(vx_uname_set(2, &u));
}

#define CHECK_ENOSYS(call, vcmd, xid) do {			\
		eng_reset();					\
		errno = 0;					\
		CU_ASSERT_EQUAL(call, -1);			\
		CU_ASSERT_EQUAL(errno, ENOSYS);			\
		CU_ASSERT_EQUAL(eng.calls, 1);			\
		CU_ASSERT_EQUAL(eng.cmd, vcmd);			\
		CU_ASSERT_EQUAL(eng.id, xid);			\
	} while (0)

/* With no engine every call is -1/ENOSYS, after the right command went out. */
static void test_api_enosys(void)
{
	vx_flags_t f = { 1, 1 };
	vx_info_t in;
	vx_stat_t st;
	vx_uname_t u = { VHIN_NODENAME, "h" };
	vx_wait_t w;

	CHECK_ENOSYS(vx_create(2, &f), VCMD_ctx_create, 2);
	CHECK_ENOSYS(vx_create(3, NULL), VCMD_ctx_create, 3);
	CHECK_ENOSYS(vx_migrate(4, NULL), VCMD_ctx_migrate, 4);
	CHECK_ENOSYS(vx_task_xid(1), VCMD_task_xid, 1);
	CHECK_ENOSYS(vx_info(5, &in), VCMD_vx_info, 5);
	CHECK_ENOSYS(vx_info(5, NULL), VCMD_vx_info, 5);
	CHECK_ENOSYS(vx_stat(6, &st), VCMD_ctx_stat, 6);
	CHECK_ENOSYS(vx_bcaps_set(7, &f), VCMD_set_bcaps, 7);
	CHECK_ENOSYS(vx_bcaps_get(7, &f), VCMD_get_bcaps, 7);
	CHECK_ENOSYS(vx_ccaps_set(8, &f), VCMD_set_ccaps, 8);
	CHECK_ENOSYS(vx_ccaps_get(8, &f), VCMD_get_ccaps, 8);
	CHECK_ENOSYS(vx_flags_set(9, &f), VCMD_set_cflags, 9);
	CHECK_ENOSYS(vx_flags_get(9, &f), VCMD_get_cflags, 9);
	CHECK_ENOSYS(vx_uname_set(10, &u), VCMD_set_vhi_name, 10);
	CHECK_ENOSYS(vx_uname_get(10, &u), VCMD_get_vhi_name, 10);
	CHECK_ENOSYS(vx_kill(11, 0, SIGTERM), VCMD_ctx_kill, 11);
	CHECK_ENOSYS(vx_wait(12, &w), VCMD_wait_exit, 12);
	CHECK_ENOSYS(vx_wait(12, NULL), VCMD_wait_exit, 12);
}

/* A fake engine answering every command, to check what goes in and out. */
static long fake_engine(uint32_t cmd, uint32_t id, void *data)
{
	switch (cmd) {
	case VCMD_task_xid:
		return id == 77 ? 1234 : -ESRCH;
	case VCMD_vx_info:
		*(struct vcmd_vx_info_v0 *)data = (struct vcmd_vx_info_v0){ id, 4321 };
		return 0;
	case VCMD_ctx_stat:
		*(struct vcmd_ctx_stat_v0 *)data = (struct vcmd_ctx_stat_v0){ 2, 3 };
		return 0;
	case VCMD_virt_stat: {
		struct vcmd_virt_stat_v0 *v = data;

		v->offset = 5;
		v->uptime = 6;
		v->nr_threads = 7;
		v->nr_uninterruptible = 8;
		v->load[2] = 9;
		return 0;
	}
	case VCMD_get_cflags:
		*(struct vcmd_ctx_flags_v0 *)data = (struct vcmd_ctx_flags_v0){ VXF_INFO_INIT, ~0ULL };
		return 0;
	case VCMD_set_ccaps: {
		struct vcmd_ctx_caps_v1 *c = data;

		return c->ccaps == VXC_SET_UTSNAME && c->cmask == VXC_SET_UTSNAME ? 0 : -EINVAL;
	}
	case VCMD_get_vhi_name: {
		struct vcmd_vhi_name_v0 *n = data;

		if (n->field != VHIN_NODENAME)
			return -ENOTTY;
		strcpy(n->name, "guest");
		return 0;
	}
	case VCMD_ctx_kill: {
		struct vcmd_ctx_kill_v0 *k = data;

		return k->pid == 1 && k->sig == SIGHUP ? 0 : -EINVAL;
	}
	case VCMD_wait_exit:
		*(struct vcmd_wait_exit_v0 *)data = (struct vcmd_wait_exit_v0){ 0, 3 };
		return 0;
	}
	return -ENOSYS;
}

static void test_api_values(void)
{
	vx_info_t in = { 0, 0 };
	vx_stat_t st;
	vx_flags_t f = { 0, 0 };
	vx_uname_t u = { VHIN_NODENAME, "" };
	vx_wait_t w = { -1, -1 };

	eng_reset();
	eng.fn = fake_engine;
	CU_ASSERT_EQUAL(vx_task_xid(77), 1234);
	errno = 0;
	CU_ASSERT_EQUAL(vx_task_xid(78), -1);
	CU_ASSERT_EQUAL(errno, ESRCH);
	CU_ASSERT_EQUAL(vx_info(99, &in), 0);
	CU_ASSERT(in.xid == 99 && in.initpid == 4321);
	memset(&st, 0xff, sizeof(st));
	CU_ASSERT_EQUAL(vx_stat(99, &st), 0);
	CU_ASSERT(st.usecnt == 2 && st.tasks == 3 && st.offset == 5 && st.uptime == 6 &&
		  st.nr_threads == 7 && st.nr_unintr == 8 && st.load[2] == 9 &&
		  st.nr_running == 0);
	CU_ASSERT_EQUAL(vx_flags_get(99, &f), 0);
	CU_ASSERT(f.flags == VXF_INFO_INIT && f.mask == ~0ULL);
	f = (vx_flags_t){ VXC_SET_UTSNAME, VXC_SET_UTSNAME };
	CU_ASSERT_EQUAL(vx_ccaps_set(99, &f), 0);
	CU_ASSERT_EQUAL(vx_uname_get(99, &u), 0);
	CU_ASSERT_STRING_EQUAL(u.value, "guest");
	u.id = VHIN_SYSNAME;
	errno = 0;
	CU_ASSERT_EQUAL(vx_uname_get(99, &u), -1);
	CU_ASSERT_EQUAL(errno, ENOTTY);
	CU_ASSERT_EQUAL(vx_kill(99, 1, SIGHUP), 0);
	CU_ASSERT_EQUAL(vx_wait(99, &w), 0);
	CU_ASSERT(w.reboot_cmd == 0 && w.exit_code == 3);
	eng_reset();
}

/* /dev/vserver present: calls go to the module, never to the engine. */
static void test_kmod_provider(void)
{
	struct vcmd_checkpoint_v1 cp = { .size = 1, .pid = 1, .fd = -1 };
	struct vcmd_restart_v1 rs = { .size = 1, .fd = -1 };
	struct vcmd_ctx_flags_v0 k = { 0, 0 };

	eng_reset();
	setenv("VXCR_VSERVER_DEV", "/dev/null", 1);	/* a device without our ioctl */
	CU_ASSERT_EQUAL(vserver(VCMD_get_cflags, 2, &k), -ENOTTY);
	CU_ASSERT_EQUAL(vserver(VCMD_get_cflags, 2, NULL), -EINVAL);	/* checked first */
	CU_ASSERT_EQUAL(vserver(VC_CMD(VC_CAT_FLAGS, 77, 0), 2, &k), -ENOSYS);
	CU_ASSERT_EQUAL(vserver(VCMD_get_version, 0, NULL), -ENOTTY);	/* asked the device */
	/* whole-tree checkpoint/restart stay in the library: its own answer
	 * (a bad size), not the device's -ENOTTY */
	CU_ASSERT_EQUAL(vserver(VCMD_checkpoint_v1, 0, &cp), -EINVAL);
	CU_ASSERT_EQUAL(vserver(VCMD_restart_v1, 0, &rs), -EINVAL);
	CU_ASSERT_EQUAL(eng.calls, 0);
	setenv("VXCR_VSERVER_DEV", "/nonexistent/vserver", 1);
	CU_ASSERT_EQUAL(vserver(VCMD_get_cflags, 2, &k), -ENOSYS);
	CU_ASSERT_EQUAL(eng.calls, 1);
	setenv("VXCR_VSERVER_DEV", "", 1);		/* empty: userspace engine */
	CU_ASSERT_EQUAL(vserver(VCMD_get_cflags, 2, &k), -ENOSYS);
	CU_ASSERT_EQUAL(eng.calls, 2);
	unsetenv("VXCR_VSERVER_DEV");
}

/* Without the module: get_version is the switch's own, vmad_dump and
 * vmad_undump the library's, the other in-kernel checkpoint commands are
 * refused, saying what they need. */
static void test_no_kmod(void)
{
	struct vcmd_vmad_dump_v0 vd = { .fd = -1, .flags = 0x100 };
	struct vcmd_vmad_undump_v0 vu = { .fd = -1 };
	struct vcmd_task_dump_v0 td = { .pid = 1, .fd = 1 };

	eng_reset();
	setenv("VXCR_VSERVER_DEV", "", 1);
	CU_ASSERT_EQUAL(vserver(VCMD_get_version, 0, NULL), VXCR_VCI_VERSION);
	/* vmad_dump is the library's own (lib/vmad): its checks answer */
	CU_ASSERT_EQUAL(vserver(VCMD_vmad_dump, 0, &vd), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(vxcr_last_error(), "unknown flags"));
	vd.flags = 0;
	CU_ASSERT_EQUAL(vserver(VCMD_vmad_dump, 0, &vd), -EBADF);
	/* so is vmad_undump (lib/vmad/undump.c) */
	CU_ASSERT_EQUAL(vserver(VCMD_vmad_undump, 0, &vu), -EBADF);
	CU_ASSERT_PTR_NOT_NULL(strstr(vxcr_last_error(), "vmad_undump: fd -1 is not open"));
	vu.flags = 1;
	CU_ASSERT_EQUAL(vserver(VCMD_vmad_undump, 0, &vu), -EINVAL);
	CU_ASSERT_EQUAL(vserver(VCMD_task_dump, 0, &td), -ENOTTY);
	CU_ASSERT_PTR_NOT_NULL(strstr(vxcr_last_error(), "task_dump needs the kernel module"));
	CU_ASSERT_EQUAL(eng.calls, 0);
	unsetenv("VXCR_VSERVER_DEV");
}

/* ---- checkpoint / restart ---- */

/*
 * A sleeping child running another program: restoring a fork of this test
 * binary fails (the restorer's own exe cannot be replaced while the image
 * maps it: PR_SET_MM_MAP EBUSY), see the report of issue 4.
 */
static pid_t start_sleeper(void)
{
	char self[256] = "", exe[256] = "", path[64];
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl("/bin/sleep", "sleep", "1000", (char *)NULL);
		_exit(127);
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (readlink("/proc/self/exe", self, sizeof(self) - 1) < 0)
		return pid;
	for (int i = 0; i < 1000 && (!exe[0] || !strcmp(exe, self)); i++) {
		ssize_t n = readlink(path, exe, sizeof(exe) - 1);

		exe[n > 0 ? n : 0] = '\0';
		usleep(1000);
	}
	return pid;
}

static void end_child(pid_t pid)
{
	int st;

	kill(pid, SIGKILL);
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
}

/* The crid of the image at offset 0 of fd, read with the img reader. */
static uint64_t read_crid(int fd)
{
	struct img_reader *r;
	const ImgHeader *h;
	uint64_t crid = 0;

	lseek(fd, 0, SEEK_SET);
	if (img_reader_open(fd, &r))
		return 0;
	h = img_reader_header(r);
	if (h->has_image_id && h->image_id.len == 16)
		crid = vxcr_image_crid(h->image_id.data, 16);
	img_reader_free(r);
	lseek(fd, 0, SEEK_SET);
	return crid;
}

/* Feeds the image in fd to a pipe from a child; returns the read end. */
static int pipe_feeder(int fd, pid_t *feeder)
{
	int p[2];

	if (pipe(p))
		return -1;
	*feeder = fork();
	if (*feeder == 0) {
		char buf[65536];
		ssize_t n;

		close(p[0]);
		n = pread(fd, buf, sizeof(buf), 0);	/* the header is in there */
		if (n <= 0 || write(p[1], buf, n) != n)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	return p[0];
}

static void test_checkpoint_restart(void)
{
	pid_t pid = start_sleeper(), feeder, rpid;
	int fd = memfd_create("ckpt", MFD_CLOEXEC), pfd, st;
	uint64_t bad;
	char magic[IMG_MAGIC_LEN];
	long crid;

	CU_ASSERT_FATAL(pid > 0 && fd >= 0);
	CU_ASSERT_EQUAL(vxcr_checkpoint(pid, fd, 0x80), -EINVAL);
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_EQUAL(vxcr_checkpoint(pid, -1, 0), -EBADF);
	crid = vxcr_checkpoint(pid, fd, VXCR_CKPT_LEAVE_RUNNING);
	CU_ASSERT(crid > 0);
	CU_ASSERT_EQUAL((uint64_t)crid, read_crid(fd));
	CU_ASSERT_EQUAL(kill(pid, 0), 0);			/* left running */
	CU_ASSERT_EQUAL(waitpid(pid, &st, WNOHANG), 0);

	/* wrong crid: EINVAL, nothing consumed from the stream */
	bad = ((uint64_t)crid + 1) & INT64_MAX;
	lseek(fd, 0, SEEK_SET);
	errno = 0;
	CU_ASSERT_EQUAL(vxcr_restart(bad, fd, 0), -EINVAL);
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_EQUAL(lseek(fd, 0, SEEK_CUR), 0);
	CU_ASSERT_EQUAL(vxcr_restart(crid, fd, 0x80), -EINVAL);	/* unknown flag */
	CU_ASSERT_EQUAL(vxcr_restart(crid, -1, 0), -EBADF);

	/* the same through a pipe: the header is peeked, not read */
	pfd = pipe_feeder(fd, &feeder);
	CU_ASSERT_EQUAL(vxcr_restart(bad, pfd, 0), -EINVAL);
	CU_ASSERT_EQUAL(read(pfd, magic, sizeof(magic)), (ssize_t)sizeof(magic));
	CU_ASSERT_EQUAL(memcmp(magic, IMG_MAGIC, IMG_MAGIC_LEN), 0);
	close(pfd);
	end_child(feeder);

	/* the right crid restores the process with its pid, once it is gone */
	end_child(pid);
	rpid = vxcr_restart(crid, fd, 0);
	if (rpid != pid)
		fprintf(stderr, "restart: %ld: %s\n", (long)rpid, vxcr_last_error());
	CU_ASSERT_EQUAL(rpid, pid);
	if (rpid > 0) {
		CU_ASSERT_EQUAL(kill(rpid, 0), 0);
		end_child(rpid);
	}
	close(fd);
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("switch", NULL, NULL);
	CU_add_test(s, "cmd encoding of every command", test_encoding);
	CU_add_test(s, "unknown category/command/version", test_unknown);
	CU_add_test(s, "NULL data of every command", test_null_data);
	CU_add_test(s, "v0 commands converted", test_v0_conversion);
	CU_add_test(s, "API: NULL data is EINVAL", test_api_null);
	CU_add_test(s, "API: -1/ENOSYS without an engine", test_api_enosys);
	CU_add_test(s, "API: values in and out", test_api_values);
	CU_add_test(s, "kernel module provider", test_kmod_provider);
	CU_add_test(s, "no kernel module", test_no_kmod);
	CU_add_test(s, "checkpoint and restart", test_checkpoint_restart);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
