/*
 * switch-answers: the switch's shared answer table.  Both providers, the
 * userspace engine and vxcr.ko, must give every call in the table the same
 * answer; the host runs it against the engine (make check,
 * t-switch-answers.sh, VXCR_VSERVER_DEV=""), the QEMU guest against the
 * module (k-base-switch.sh).
 *
 * Usage: switch-answers PREFIX          the table through vserver()
 *        switch-answers --raw PREFIX    the table again through the raw
 *                                       ioctl, and the ioctl's own cases
 *                                       (sizes, numbers, bad pointers)
 *        switch-answers --api           prints the module's get_version
 *                                       answer (raw ioctl) as %#010lx
 *
 * Prints "ok PREFIX/CASE" or "not ok PREFIX/CASE: got X, want Y" for each
 * case; exit 0 if all passed, 1 otherwise, 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <termios.h>

#include "vxcr/vserver.h"
#include "vxcr/vxcr.h"
#include "switch/kmod.h"

/* Which provider a row holds for (the other may answer differently). */
enum only { BOTH, ENGINE, MODULE };

struct answer {
	const char *name;
	uint32_t cmd;
	uint32_t size; /* bytes of the command's struct (raw ioctl's data_size) */
	int data;      /* 0: NULL data, 1: a zeroed buffer, 2: a buffer of 0xff bytes,
			* 3: zeroed but its first __s32 -1 (an fd) */
	long want;     /* the answer: >= 0 or -errno */
	enum only only;
	const char *msg; /* the error text must hold this (vserver() only) */
};

#define NODATA(n, c, w)                   \
	{                                 \
		n, c, 0, 0, w, BOTH, NULL \
	}
#define NULLDATA(c, st)                                                              \
	{                                                                            \
#c "-null-data", VCMD_##c, sizeof(struct st), 0, -EINVAL, BOTH, NULL \
	}

static const struct answer table[] = {
	/* bits outside category, command and version */
	NODATA("bit-30", VCMD_get_cflags | 0x40000000u, -EINVAL),
	NODATA("bit-31", VCMD_get_cflags | 0x80000000u, -EINVAL),
	NODATA("bit-12", VCMD_get_cflags | 0x00001000u, -EINVAL),
	NODATA("bit-15-get-version", VCMD_get_version | 0x00008000u, -EINVAL),
	/* no command with that category and number */
	NODATA("unknown-category-5", VC_CMD(5, 1, 0), -ENOSYS),
	NODATA("unknown-category-62", VC_CMD(62, 0, 0), -ENOSYS),
	NODATA("unknown-number-flags-77", VC_CMD(VC_CAT_FLAGS, 77, 0), -ENOSYS),
	NODATA("unknown-number-vinfo-2", VC_CMD(VC_CAT_VINFO, 2, 0), -ENOSYS),
	NODATA("unknown-number-version-1", VC_CMD(VC_CAT_VERSION, 1, 0), -ENOSYS),
	NODATA("systest-0", VC_CMD(VC_CAT_SYSTEST, 0, 0), -ENOSYS),
	NODATA("systest-1", VC_CMD(VC_CAT_SYSTEST, 1, 0), -ENOSYS),
	NODATA("systest-255-v7", VC_CMD(VC_CAT_SYSTEST, 255, 7), -ENOSYS),
	NODATA("procmig-2-vserver-own", VC_CMD(VC_CAT_PROCMIG, 2, 0), -ENOSYS),
	NODATA("procmig-21-reserved", VC_CMD(VC_CAT_PROCMIG, 21, 0), -ENOSYS),
	NODATA("procmig-22-reserved", VC_CMD(VC_CAT_PROCMIG, 22, 0), -ENOSYS),
	NODATA("procmig-23-reserved", VC_CMD(VC_CAT_PROCMIG, 23, 0), -ENOSYS),
	/* the command exists, not in that version */
	NODATA("get-ccaps-v0", VC_CMD(VC_CAT_FLAGS, 3, 0), -ENOTTY),
	NODATA("ctx-create-v2", VC_CMD(VC_CAT_VPROC, 1, 2), -ENOTTY),
	NODATA("checkpoint-v2", VC_CMD(VC_CAT_PROCMIG, 16, 2), -ENOTTY),
	NODATA("wait-exit-v4095", VCMD_wait_exit | 0xFFF, -ENOTTY),
	NODATA("get-version-v1", VCMD_get_version | 1, -ENOTTY),
	NODATA("vmad-dump-v1", VCMD_vmad_dump | 1, -ENOTTY),
	NODATA("vmad-undump-v1", VCMD_vmad_undump | 1, -ENOTTY),
	NODATA("task-dump-v1", VCMD_task_dump | 1, -ENOTTY),
	/* NULL data for a command that takes data */
	NULLDATA(ctx_create, vcmd_ctx_create),
	NULLDATA(ctx_migrate, vcmd_ctx_migrate),
	NULLDATA(checkpoint, vcmd_checkpoint_v0),
	NULLDATA(restart, vcmd_restart_v0),
	NULLDATA(checkpoint_v1, vcmd_checkpoint_v1),
	NULLDATA(restart_v1, vcmd_restart_v1),
	NULLDATA(vmad_dump, vcmd_vmad_dump_v0),
	NULLDATA(vmad_undump, vcmd_vmad_undump_v0),
	NULLDATA(task_dump, vcmd_task_dump_v0),
	NULLDATA(ctx_kill, vcmd_ctx_kill_v0),
	NULLDATA(vx_info, vcmd_vx_info_v0),
	NULLDATA(ctx_stat, vcmd_ctx_stat_v0),
	NULLDATA(virt_stat, vcmd_virt_stat_v0),
	NULLDATA(set_vhi_name, vcmd_vhi_name_v0),
	NULLDATA(get_vhi_name, vcmd_vhi_name_v0),
	NULLDATA(get_cflags, vcmd_ctx_flags_v0),
	NULLDATA(set_cflags, vcmd_ctx_flags_v0),
	NULLDATA(get_ccaps, vcmd_ctx_caps_v1),
	NULLDATA(set_ccaps, vcmd_ctx_caps_v1),
	NULLDATA(get_bcaps, vcmd_bcaps),
	NULLDATA(set_bcaps, vcmd_bcaps),
	NULLDATA(wait_exit, vcmd_wait_exit_v0),
	/* the provider's version, data or not */
	NODATA("get-version", VCMD_get_version, VXCR_VCI_VERSION),
	{ "get-version-data-ignored", VCMD_get_version, 0, 1, VXCR_VCI_VERSION, BOTH, NULL },
	/* whole-tree checkpoint/restart are the library's, module or not: a
	 * bad size is its answer (the module would say -ENOTTY) */
	{ "checkpoint-v1-bad-size", VCMD_checkpoint_v1, sizeof(struct vcmd_checkpoint_v1), 1,
	  -EINVAL, BOTH, NULL },
	{ "restart-v1-bad-size", VCMD_restart_v1, sizeof(struct vcmd_restart_v1), 1, -EINVAL, BOTH,
	  NULL },
	/* vmad_dump has a provider on both sides (lib/vmad without the
	 * module): unknown flags are refused first by both */
	{ "vmad-dump-bad-flags", VCMD_vmad_dump, sizeof(struct vcmd_vmad_dump_v0), 2, -EINVAL, BOTH,
	  NULL },
	/* so has vmad_undump: flags other than 0 refused first by both, then
	 * the library's own answer for fd -1 */
	{ "vmad-undump-bad-flags", VCMD_vmad_undump, sizeof(struct vcmd_vmad_undump_v0), 2, -EINVAL,
	  BOTH, NULL },
	{ "vmad-undump-engine", VCMD_vmad_undump, sizeof(struct vcmd_vmad_undump_v0), 3, -EBADF,
	  ENGINE, "vmad_undump: fd -1 is not open" },
	/* without the module the other in-kernel commands say what they need */
	{ "task-dump-engine", VCMD_task_dump, sizeof(struct vcmd_task_dump_v0), 1, -ENOTTY, ENGINE,
	  "task_dump needs the kernel module" },
};

#define NR_ANSWERS (sizeof(table) / sizeof(table[0]))

static const char *prefix;
static int failures;

static void verdict(const char *name, long got, long want, const char *extra)
{
	if (got == want && !extra) {
		printf("ok %s/%s\n", prefix, name);
		return;
	}
	failures++;
	if (extra)
		printf("not ok %s/%s: %s\n", prefix, name, extra);
	else
		printf("not ok %s/%s: got %ld (%s), want %ld (%s)\n", prefix, name, got,
		       got < 0 ? strerror((int)-got) : "value", want,
		       want < 0 ? strerror((int)-want) : "value");
}

/* True if vserver() goes to a module here: the device is there and used. */
static int module_provides(void)
{
	const char *dev = getenv(VSERVER_DEV_ENV);

	if (!dev)
		dev = VSERVER_DEV_PATH;
	return *dev && access(dev, F_OK) == 0;
}

static void run_table(void)
{
	enum only here = module_provides() ? MODULE : ENGINE;
	uint64_t buf[32];

	printf("# provider: %s\n", here == MODULE ? "kernel module" : "userspace engine");
	for (size_t i = 0; i < NR_ANSWERS; i++) {
		const struct answer *a = &table[i];
		long got;

		if (a->only != BOTH && a->only != here)
			continue;
		memset(buf, a->data == 2 ? 0xff : 0, sizeof(buf));
		if (a->data == 3) {
			int32_t minus_one = -1;

			memcpy(buf, &minus_one, sizeof(minus_one));
		}
		got = vserver(a->cmd, 0, a->data ? buf : NULL);
		if (got == a->want && a->msg && !strstr(vxcr_last_error(), a->msg)) {
			char why[512];

			snprintf(why, sizeof(why), "error text '%s' lacks '%s'", vxcr_last_error(),
				 a->msg);
			verdict(a->name, got, a->want, why);
			continue;
		}
		verdict(a->name, got, a->want, NULL);
	}
}

/* One raw call: 0 with *result, or -errno. */
static long raw_call(int fd, unsigned long nr, void *arg)
{
	return ioctl(fd, nr, arg) < 0 ? -errno : 0;
}

/* The table through the raw ioctl, as a direct caller would send it. */
static void run_table_raw(int fd)
{
	uint64_t buf[32];
	char name[128];

	for (size_t i = 0; i < NR_ANSWERS; i++) {
		const struct answer *a = &table[i];
		struct vserver_ioc ioc = { .size = sizeof(ioc), .cmd = a->cmd };
		long got;

		if (a->only != BOTH || a->cmd == VCMD_checkpoint_v1 || a->cmd == VCMD_restart_v1)
			continue; /* the library's answers */
		memset(buf, a->data == 2 ? 0xff : 0, sizeof(buf));
		ioc.data = a->data ? (uintptr_t)buf : 0;
		ioc.data_size = a->size;
		ioc.result = -1;
		got = raw_call(fd, VSERVER_IOC_CALL, &ioc);
		if (!got)
			got = ioc.result;
		snprintf(name, sizeof(name), "raw-%s", a->name);
		verdict(name, got, a->want, NULL);
	}
}

/* A get_version call in ioc; returns the ioctl's answer (0 or -errno). */
static long raw_version(int fd, unsigned long nr, struct vserver_ioc *ioc)
{
	ioc->size = sizeof(*ioc);
	ioc->cmd = VCMD_get_version;
	ioc->id = 0;
	ioc->data = 0;
	ioc->data_size = 0;
	ioc->result = -1;
	return raw_call(fd, nr, ioc);
}

/* The in-kernel commands with a data_size one short or one long: the
 * switch refuses them before their handler sees the data. */
static void raw_new_commands(int fd)
{
	static const struct {
		const char *name;
		uint32_t cmd, size;
	} cmds[] = {
		{ "vmad-dump", VCMD_vmad_dump, sizeof(struct vcmd_vmad_dump_v0) },
		{ "vmad-undump", VCMD_vmad_undump, sizeof(struct vcmd_vmad_undump_v0) },
		{ "task-dump", VCMD_task_dump, sizeof(struct vcmd_task_dump_v0) },
		{ "checkpoint-v1", VCMD_checkpoint_v1, sizeof(struct vcmd_checkpoint_v1) },
	};
	uint64_t buf[8] = { 0 };
	struct vserver_ioc ioc;
	char name[64];

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		for (int delta = -1; delta <= 1; delta += 2) {
			raw_version(fd, VSERVER_IOC_CALL, &ioc);
			ioc.cmd = cmds[i].cmd;
			ioc.data = (uintptr_t)buf;
			ioc.data_size = cmds[i].size + delta;
			snprintf(name, sizeof(name), "raw-%s-data-size-%s", cmds[i].name,
				 delta < 0 ? "short" : "long");
			verdict(name, raw_call(fd, VSERVER_IOC_CALL, &ioc), -EINVAL, NULL);
		}
	}
}

/* The struct's size field and data_size. */
static void raw_sizes(int fd)
{
	static const uint32_t bad_sizes[] = { 0, 4, 31, 33, 40, 4096, 0xffffffffu };
	static const uint32_t bad_data_sizes[] = { 0, 8, 15, 17, 32, 0xffffffffu };
	struct vserver_ioc ioc;
	struct vcmd_ctx_flags_v0 fl = { 0, 0 };
	char name[64];
	long got;

	got = raw_version(fd, VSERVER_IOC_CALL, &ioc);
	verdict("raw-version", got ? got : ioc.result, VXCR_VCI_VERSION, NULL);
	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		raw_version(fd, VSERVER_IOC_CALL, &ioc);
		ioc.size = bad_sizes[i];
		ioc.result = 7;
		got = raw_call(fd, VSERVER_IOC_CALL, &ioc);
		snprintf(name, sizeof(name), "raw-size-%u", bad_sizes[i]);
		verdict(name, got, -EINVAL, ioc.result != 7 ? "result written on failure" : NULL);
	}
	/* data_size must be the command's struct's */
	for (size_t i = 0; i < sizeof(bad_data_sizes) / sizeof(bad_data_sizes[0]); i++) {
		raw_version(fd, VSERVER_IOC_CALL, &ioc);
		ioc.cmd = VCMD_get_cflags;
		ioc.data = (uintptr_t)&fl;
		ioc.data_size = bad_data_sizes[i];
		snprintf(name, sizeof(name), "raw-data-size-%u", bad_data_sizes[i]);
		verdict(name, raw_call(fd, VSERVER_IOC_CALL, &ioc), -EINVAL, NULL);
	}
	raw_new_commands(fd);
	raw_version(fd, VSERVER_IOC_CALL, &ioc);
	ioc.data_size = 4; /* get_version takes none */
	verdict("raw-data-size-no-data-cmd", raw_call(fd, VSERVER_IOC_CALL, &ioc), -EINVAL, NULL);
}

/* Other ioctl numbers on the device: -ENOTTY. */
static void raw_numbers(int fd)
{
	struct vserver_ioc ioc;
	struct termios tio;

	raw_version(fd, VSERVER_IOC_CALL, &ioc);
	verdict("raw-ioctl-nr-2",
		raw_call(fd, _IOWR(VSERVER_IOC_MAGIC, 2, struct vserver_ioc), &ioc), -ENOTTY, NULL);
	verdict("raw-ioctl-nr-0",
		raw_call(fd, _IOWR(VSERVER_IOC_MAGIC, 0, struct vserver_ioc), &ioc), -ENOTTY, NULL);
	verdict("raw-ioctl-dir-r",
		raw_call(fd, _IOR(VSERVER_IOC_MAGIC, 1, struct vserver_ioc), &ioc), -ENOTTY, NULL);
	verdict("raw-ioctl-dir-none", raw_call(fd, _IO(VSERVER_IOC_MAGIC, 1), &ioc), -ENOTTY, NULL);
	verdict("raw-ioctl-cros-ec-magic", raw_call(fd, _IOWR(0xEC, 1, struct vserver_ioc), &ioc),
		-ENOTTY, NULL);
	verdict("raw-ioctl-tcgets", raw_call(fd, TCGETS, &tio), -ENOTTY, NULL);
	/* the size bits are not the check: the struct's size field is */
	raw_version(fd, VSERVER_IOC_CALL, &ioc);
	verdict("raw-ioctl-other-size-bits",
		raw_call(fd, _IOWR(VSERVER_IOC_MAGIC, 1, char[48]), &ioc), 0, NULL);
}

/* Bad user pointers: -EFAULT, never an oops (the guest's /init checks
 * the kernel log after the test). */
static void raw_pointers(int fd)
{
	long page = sysconf(_SC_PAGESIZE);
	struct vserver_ioc *ioc, ok;
	char *map;

	verdict("raw-arg-null", raw_call(fd, VSERVER_IOC_CALL, NULL), -EFAULT, NULL);
	verdict("raw-arg-1", raw_call(fd, VSERVER_IOC_CALL, (void *)1), -EFAULT, NULL);
	verdict("raw-arg-kernel", raw_call(fd, VSERVER_IOC_CALL, (void *)0xffffffff81000000ul),
		-EFAULT, NULL);
	verdict("raw-arg-noncanonical",
		raw_call(fd, VSERVER_IOC_CALL, (void *)0x8000000000000000ul), -EFAULT, NULL);
	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED) {
		verdict("raw-mmap", -errno, 0, NULL);
		return;
	}
	/* the size field readable, the rest of the struct not */
	mprotect(map + page, page, PROT_NONE);
	ioc = (struct vserver_ioc *)(map + page - sizeof(uint32_t));
	ioc->size = sizeof(*ioc);
	verdict("raw-arg-straddles-guard", raw_call(fd, VSERVER_IOC_CALL, ioc), -EFAULT, NULL);
	verdict("raw-arg-in-guard", raw_call(fd, VSERVER_IOC_CALL, map + page), -EFAULT, NULL);
	/* a read-only struct: the call runs, its result cannot be written */
	ioc = (struct vserver_ioc *)map;
	raw_version(fd, VSERVER_IOC_CALL, ioc);
	mprotect(map, page, PROT_READ);
	verdict("raw-arg-read-only", raw_call(fd, VSERVER_IOC_CALL, ioc), -EFAULT, NULL);
	/* data pointers */
	raw_version(fd, VSERVER_IOC_CALL, &ok);
	ok.cmd = VCMD_get_cflags;
	ok.data_size = sizeof(struct vcmd_ctx_flags_v0);
	ok.data = (uintptr_t)(map + page);
	verdict("raw-data-in-guard", raw_call(fd, VSERVER_IOC_CALL, &ok), -EFAULT, NULL);
	ok.data = (uintptr_t)(map + page - 8);
	verdict("raw-data-straddles-guard", raw_call(fd, VSERVER_IOC_CALL, &ok), -EFAULT, NULL);
	ok.data = 0xffff888000000000ull;
	verdict("raw-data-kernel", raw_call(fd, VSERVER_IOC_CALL, &ok), -EFAULT, NULL);
	ok.data = 1;
	verdict("raw-data-1", raw_call(fd, VSERVER_IOC_CALL, &ok), -EFAULT, NULL);
	munmap(map, 2 * page);
	verdict("raw-arg-unmapped", raw_call(fd, VSERVER_IOC_CALL, map), -EFAULT, NULL);
}

/* The device is root's: another user cannot open it. */
static void raw_open_unprivileged(void)
{
	int status = 0;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		int fd;

		if (setgid(65534) || setuid(65534))
			_exit(2);
		fd = open(VSERVER_DEV_PATH, O_RDWR);
		_exit(fd < 0 && errno == EACCES ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		status = -1;
	verdict("raw-open-as-nobody", WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0,
		status ? "a user other than root opened /dev/vserver (or the check failed)" : NULL);
}

/* The module's API version, asked directly; exit 1 if it does not answer. */
static int print_api(void)
{
	struct vserver_ioc ioc;
	long ret;
	int fd;

	fd = open(VSERVER_DEV_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		perror(VSERVER_DEV_PATH);
		return 1;
	}
	ret = raw_version(fd, VSERVER_IOC_CALL, &ioc);
	close(fd);
	if (ret) {
		fprintf(stderr, "get_version: %s\n", strerror((int)-ret));
		return 1;
	}
	printf("%#010llx\n", (unsigned long long)ioc.result);
	return 0;
}

int main(int argc, char **argv)
{
	int raw = argc == 3 && !strcmp(argv[1], "--raw");
	int fd;

	if (argc == 2 && !strcmp(argv[1], "--api"))
		return print_api();

	if (argc != 2 + raw) {
		fprintf(stderr, "usage: switch-answers [--raw] PREFIX\n");
		return 2;
	}
	prefix = argv[1 + raw];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!raw) {
		run_table();
		return failures ? 1 : 0;
	}
	fd = open(VSERVER_DEV_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("not ok %s/raw-open: %s: %s\n", prefix, VSERVER_DEV_PATH, strerror(errno));
		return 1;
	}
	run_table_raw(fd);
	raw_sizes(fd);
	raw_numbers(fd);
	raw_pointers(fd);
	raw_open_unprivileged();
	close(fd);
	return failures ? 1 : 0;
}
