/*
 * vserver(): decode, validate, dispatch.  One table lists every command the
 * switch knows (vxcr/vserver.h has the same table for humans); a command is
 * checked here once, so the kernel-module provider and the userspace engine
 * see the same errors for bad calls.
 */
#define LOG_PREFIX "switch: "
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "log.h"
#include "util/cleanup.h"
#include "vxcr/vserver.h"
#include "vxcr/vxcr.h"
#include "ctx/engine.h"
#include "switch/kmod.h"
#include "switch/switch.h"
#include "vmad/dump.h"
#include "vmad/undump.h"

typedef long (*vcmd_handler)(uint32_t cmd, uint32_t id, void *data);

/* Where a command runs (vcmd_desc.where). */
enum vcmd_where {
	VCMD_PROVIDER, /* the kernel module when there is one, else local */
	VCMD_LIBRARY,  /* always local: the library's own, the module is not asked */
};

struct vcmd_desc {
	uint32_t cmd;	    /* VCMD_* */
	uint32_t data_size; /* bytes of the command's struct, 0: takes none */
	uint32_t as_cmd;    /* legacy form: run as this command (0: itself) */
	vcmd_handler local; /* userspace provider */
	enum vcmd_where where;
	const char *name;
};

static long engine(uint32_t cmd, uint32_t id, void *data)
{
	return vxctx_call(cmd, id, data);
}

static long get_version(uint32_t cmd, uint32_t id, void *data)
{
	return VXCR_VCI_VERSION;
}

static const char *vcmd_name(uint32_t cmd);

/* The in-kernel checkpoint/restart commands: only the module has them. */
static long needs_kmod(uint32_t cmd, uint32_t id, void *data)
{
	pr_err("%s needs the kernel module (vxcr.ko, %s)\n", vcmd_name(cmd), VSERVER_DEV_PATH);
	return -ENOTTY;
}

#define VCMD(c, size, as, fn, where)              \
	{                                         \
		VCMD_##c, size, as, fn, where, #c \
	}

/*
 * checkpoint and restart of whole trees stay in the library even with the
 * module: vxcr_dump()/vxcr_restore() drive the tree with ptrace (using the
 * module's task_dump where it helps); the module answers them -ENOTTY.
 */
static const struct vcmd_desc vcmds[] = {
	VCMD(get_version, 0, 0, get_version, VCMD_PROVIDER),
	VCMD(ctx_create_v0, 0, VCMD_ctx_create, engine, VCMD_PROVIDER),
	VCMD(ctx_create, sizeof(struct vcmd_ctx_create), 0, engine, VCMD_PROVIDER),
	VCMD(ctx_migrate_v0, 0, VCMD_ctx_migrate, engine, VCMD_PROVIDER),
	VCMD(ctx_migrate, sizeof(struct vcmd_ctx_migrate), 0, engine, VCMD_PROVIDER),
	VCMD(checkpoint, sizeof(struct vcmd_checkpoint_v0), 0, sw_checkpoint, VCMD_LIBRARY),
	VCMD(restart, sizeof(struct vcmd_restart_v0), 0, sw_restart, VCMD_LIBRARY),
	VCMD(checkpoint_v1, sizeof(struct vcmd_checkpoint_v1), 0, sw_checkpoint_v1, VCMD_LIBRARY),
	VCMD(restart_v1, sizeof(struct vcmd_restart_v1), 0, sw_restart_v1, VCMD_LIBRARY),
	VCMD(vmad_dump, sizeof(struct vcmd_vmad_dump_v0), 0, vmadump_provider, VCMD_PROVIDER),
	VCMD(vmad_undump, sizeof(struct vcmd_vmad_undump_v0), 0, vmad_undump_local, VCMD_PROVIDER),
	VCMD(task_dump, sizeof(struct vcmd_task_dump_v0), 0, needs_kmod, VCMD_PROVIDER),
	VCMD(ctx_kill, sizeof(struct vcmd_ctx_kill_v0), 0, engine, VCMD_PROVIDER),
	VCMD(task_xid, 0, 0, engine, VCMD_PROVIDER),
	VCMD(vx_info, sizeof(struct vcmd_vx_info_v0), 0, engine, VCMD_PROVIDER),
	VCMD(ctx_stat, sizeof(struct vcmd_ctx_stat_v0), 0, engine, VCMD_PROVIDER),
	VCMD(virt_stat, sizeof(struct vcmd_virt_stat_v0), 0, engine, VCMD_PROVIDER),
	VCMD(set_vhi_name, sizeof(struct vcmd_vhi_name_v0), 0, engine, VCMD_PROVIDER),
	VCMD(get_vhi_name, sizeof(struct vcmd_vhi_name_v0), 0, engine, VCMD_PROVIDER),
	VCMD(get_cflags, sizeof(struct vcmd_ctx_flags_v0), 0, engine, VCMD_PROVIDER),
	VCMD(set_cflags, sizeof(struct vcmd_ctx_flags_v0), 0, engine, VCMD_PROVIDER),
	VCMD(get_ccaps, sizeof(struct vcmd_ctx_caps_v1), 0, engine, VCMD_PROVIDER),
	VCMD(set_ccaps, sizeof(struct vcmd_ctx_caps_v1), 0, engine, VCMD_PROVIDER),
	VCMD(get_bcaps, sizeof(struct vcmd_bcaps), 0, engine, VCMD_PROVIDER),
	VCMD(set_bcaps, sizeof(struct vcmd_bcaps), 0, engine, VCMD_PROVIDER),
	VCMD(wait_exit, sizeof(struct vcmd_wait_exit_v0), 0, engine, VCMD_PROVIDER),
};

#define NR_VCMDS (sizeof(vcmds) / sizeof(vcmds[0]))

_Static_assert(sizeof(struct vcmd_checkpoint_v1) == 40 && sizeof(struct vcmd_restart_v1) == 40,
	       "no implicit padding in the checkpoint/restart structs");

/* vserver()'s stand-in data for a converted _v0 command must be big enough */
_Static_assert(sizeof(struct vcmd_ctx_create) <= 16 && sizeof(struct vcmd_ctx_migrate) <= 16,
	       "legacy conversion buffer too small");

/*
 * The table entry of cmd.  Returns 0 with *out set, -ENOSYS if no command
 * has cmd's category and number, -ENOTTY if one has but not cmd's version,
 * -EINVAL if bits outside the three fields are set.
 */
static int vcmd_lookup(uint32_t cmd, const struct vcmd_desc **out)
{
	int ret = -ENOSYS;

	if (cmd & VC_RESERVED_BITS)
		return -EINVAL;
	for (size_t i = 0; i < NR_VCMDS; i++) {
		uint32_t c = vcmds[i].cmd;

		if (VC_CATEGORY(c) != VC_CATEGORY(cmd) || VC_COMMAND(c) != VC_COMMAND(cmd))
			continue;
		if (VC_VERSION(c) == VC_VERSION(cmd)) {
			*out = &vcmds[i];
			return 0;
		}
		ret = -ENOTTY;
	}
	return ret;
}

static const struct vcmd_desc *vcmd_find(uint32_t cmd)
{
	const struct vcmd_desc *d = NULL;

	return vcmd_lookup(cmd, &d) ? NULL : d;
}

static const char *vcmd_name(uint32_t cmd)
{
	const struct vcmd_desc *d = vcmd_find(cmd);

	return d ? d->name : "command";
}

/* The one place that says where the module's device is. */
const char *vxcr_kernel_module_dev(void)
{
	const char *path = getenv(VSERVER_DEV_ENV);

	if (!path)
		return VSERVER_DEV_PATH;
	return *path ? path : NULL;
}

/*
 * Opens the kernel module's device.  Returns the fd, -ENOENT when there is
 * no module (use the userspace engine), or another -errno (the device is
 * there but unusable: an error, never a silent fallback to a second,
 * different registry of contexts).
 */
static int kmod_open(void)
{
	const char *path = vxcr_kernel_module_dev();
	int fd;

	if (!path)
		return -ENOENT;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		return -ENOENT;
	pr_perror("cannot open %s", path);
	return -errno;
}

/* One call through the module's ioctl: >= 0 or -errno. */
static long kmod_call(int fd, const struct vcmd_desc *d, uint32_t id, void *data)
{
	struct vserver_ioc ioc = {
		.size = sizeof(ioc),
		.cmd = d->cmd,
		.id = id,
		.data_size = d->data_size,
		.data = d->data_size ? (uintptr_t)data : 0,
	};

	if (ioctl(fd, VSERVER_IOC_CALL, &ioc) < 0)
		return -errno;
	return ioc.result < 0 ? -EPROTO : ioc.result;
}

static long vserver_call(uint32_t cmd, uint32_t id, void *data)
{
	_cleanup_close_ int kfd = -1;
	const struct vcmd_desc *d;
	uint64_t legacy[2] = { 0, 0 }; /* data of a converted _v0 command */
	int saved_errno = errno;
	long ret;

	ret = vcmd_lookup(cmd, &d);
	if (ret)
		return ret;
	if (d->data_size && !data)
		return -EINVAL;
	if (d->as_cmd) {
		d = vcmd_find(d->as_cmd);
		data = legacy;
	}
	if (d->where == VCMD_LIBRARY) {
		ret = d->local(d->cmd, id, data);
		errno = saved_errno;
		return ret;
	}
	kfd = kmod_open();
	if (kfd >= 0)
		ret = kmod_call(kfd, d, id, data);
	else if (kfd == -ENOENT)
		ret = d->local(d->cmd, id, data);
	else
		ret = kfd;
	errno = saved_errno;
	return ret;
}

long vserver(uint32_t cmd, uint32_t id, void *data)
{
	err_op_begin();
	return err_op_end_long(vserver_call(cmd, id, data));
}
