// SPDX-License-Identifier: GPL-2.0
/*
 * The switch inside the module: the same command table and the same checks,
 * in the same order, as lib/switch/switch.c, so a bad call gets the same
 * answer from either provider.  Checks: the ioctl struct's size (-EINVAL),
 * bits outside category/command/version (-EINVAL), no command with that
 * category and number (-ENOSYS), not in that version (-ENOTTY), no data for
 * a command that takes data (-EINVAL), a data_size that is not the
 * command's (-EINVAL).  The client converts the _v0 forms; a direct caller
 * gets them converted here too.
 */
#include <linux/build_bug.h>
#include <linux/errno.h>
#include <linux/uaccess.h>

#include "kmod.h"
#include "vxcr.h"

#define VX_OUT 0x1 /* copy the struct back after success */

/* Largest data struct in the table: the buffer a call copies into. */
#define VX_DATA_MAX 128

struct vx_cmd_desc {
	u32 cmd;
	u32 data_size;
	u32 as_cmd; /* legacy form: run as this command with zeroed data */
	u32 flags;  /* VX_* */
	vx_handler_t fn;
};

static long vx_get_version(u32 cmd, u32 id, void *data)
{
	return VXCR_VCI_VERSION;
}

/*
 * checkpoint and restart of whole trees (PROCMIG/16-17) are the library's
 * (lib/switch/cr.c over vxcr_dump()/vxcr_restore(), which use the module's
 * task_dump where it helps): it never sends them here.  Their rows exist so
 * that a direct caller's bad call gets the same answer as from the library;
 * a good one: -ENOTTY, not supported by this provider.
 */
static long vx_library_only(u32 cmd, u32 id, void *data)
{
	return -ENOTTY;
}

/* A row; a data struct larger than VX_DATA_MAX does not compile. */
#define VX_CMD(c, size, as, fl, handler)                                                        \
	{                                                                                       \
		.cmd = VCMD_##c, .data_size = (size) + BUILD_BUG_ON_ZERO((size) > VX_DATA_MAX), \
		.as_cmd = as, .flags = fl, .fn = handler                                        \
	}

static const struct vx_cmd_desc vx_cmds[] = {
	VX_CMD(get_version, 0, 0, 0, vx_get_version),
	VX_CMD(ctx_create_v0, 0, VCMD_ctx_create, 0, vx_ctx_cmd),
	VX_CMD(ctx_create, sizeof(struct vcmd_ctx_create), 0, 0, vx_ctx_cmd),
	VX_CMD(ctx_migrate_v0, 0, VCMD_ctx_migrate, 0, vx_ctx_cmd),
	VX_CMD(ctx_migrate, sizeof(struct vcmd_ctx_migrate), 0, 0, vx_ctx_cmd),
	VX_CMD(checkpoint, sizeof(struct vcmd_checkpoint_v0), 0, 0, vx_library_only),
	VX_CMD(restart, sizeof(struct vcmd_restart_v0), 0, 0, vx_library_only),
	VX_CMD(checkpoint_v1, sizeof(struct vcmd_checkpoint_v1), 0, 0, vx_library_only),
	VX_CMD(restart_v1, sizeof(struct vcmd_restart_v1), 0, 0, vx_library_only),
	VX_CMD(vmad_dump, sizeof(struct vcmd_vmad_dump_v0), 0, 0, vx_ckpt_cmd),
	VX_CMD(vmad_undump, sizeof(struct vcmd_vmad_undump_v0), 0, 0, vx_restart_cmd),
	VX_CMD(task_dump, sizeof(struct vcmd_task_dump_v0), 0, 0, vx_ckpt_cmd),
	VX_CMD(ctx_kill, sizeof(struct vcmd_ctx_kill_v0), 0, 0, vx_ctx_cmd),
	VX_CMD(task_xid, 0, 0, 0, vx_ctx_cmd),
	VX_CMD(vx_info, sizeof(struct vcmd_vx_info_v0), 0, VX_OUT, vx_ctx_cmd),
	VX_CMD(ctx_stat, sizeof(struct vcmd_ctx_stat_v0), 0, VX_OUT, vx_ctx_cmd),
	VX_CMD(virt_stat, sizeof(struct vcmd_virt_stat_v0), 0, VX_OUT, vx_ctx_cmd),
	VX_CMD(set_vhi_name, sizeof(struct vcmd_vhi_name_v0), 0, 0, vx_ctx_cmd),
	VX_CMD(get_vhi_name, sizeof(struct vcmd_vhi_name_v0), 0, VX_OUT, vx_ctx_cmd),
	VX_CMD(get_cflags, sizeof(struct vcmd_ctx_flags_v0), 0, VX_OUT, vx_ctx_cmd),
	VX_CMD(set_cflags, sizeof(struct vcmd_ctx_flags_v0), 0, 0, vx_ctx_cmd),
	VX_CMD(get_ccaps, sizeof(struct vcmd_ctx_caps_v1), 0, VX_OUT, vx_ctx_cmd),
	VX_CMD(set_ccaps, sizeof(struct vcmd_ctx_caps_v1), 0, 0, vx_ctx_cmd),
	VX_CMD(get_bcaps, sizeof(struct vcmd_bcaps), 0, VX_OUT, vx_ctx_cmd),
	VX_CMD(set_bcaps, sizeof(struct vcmd_bcaps), 0, 0, vx_ctx_cmd),
	VX_CMD(wait_exit, sizeof(struct vcmd_wait_exit_v0), 0, VX_OUT, vx_ctx_cmd),
};

/*
 * The table row of cmd.  Returns 0 with *out set, -ENOSYS if no command has
 * cmd's category and number, -ENOTTY if one has but not cmd's version,
 * -EINVAL if bits outside the three fields are set.  The same walk as
 * vcmd_lookup() in lib/switch/switch.c, written twice because the module
 * cannot link userspace code; switch-answers and t-switch-tables check
 * that both give the same answers over the same table.
 */
static int vx_cmd_lookup(u32 cmd, const struct vx_cmd_desc **out)
{
	int ret = -ENOSYS;
	size_t i;

	if (cmd & VC_RESERVED_BITS)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(vx_cmds); i++) {
		u32 c = vx_cmds[i].cmd;

		if (VC_CATEGORY(c) != VC_CATEGORY(cmd) || VC_COMMAND(c) != VC_COMMAND(cmd))
			continue;
		if (VC_VERSION(c) == VC_VERSION(cmd)) {
			*out = &vx_cmds[i];
			return 0;
		}
		ret = -ENOTTY;
	}
	return ret;
}

/*
 * Runs one validated call with d's data copied in and, for a VX_OUT row
 * whose handler succeeded, out again.  The buffer starts zeroed: what goes
 * back is the caller's own bytes or the handler's, never old kernel stack.
 */
static long vx_cmd_run(const struct vx_cmd_desc *d, u32 id, void __user *udata)
{
	u8 buf[VX_DATA_MAX] __aligned(8) = { 0 };
	void *data = NULL;
	long ret;

	if (d->data_size) {
		if (copy_from_user(buf, udata, d->data_size))
			return -EFAULT;
		data = buf;
	}
	ret = d->fn(d->cmd, id, data);
	if (ret >= 0 && (d->flags & VX_OUT) && copy_to_user(udata, buf, d->data_size))
		return -EFAULT;
	return ret;
}

/* The zeroed data a legacy _v0 form runs its current command with. */
#define VX_LEGACY_MAX 16
static_assert(sizeof(struct vcmd_ctx_create) <= VX_LEGACY_MAX);
static_assert(sizeof(struct vcmd_ctx_migrate) <= VX_LEGACY_MAX);

/* Decodes and checks ioc's call, then runs it: >= 0 or -errno. */
static long vx_call(const struct vserver_ioc *ioc)
{
	const struct vx_cmd_desc *d;
	u8 legacy[VX_LEGACY_MAX] __aligned(8) = { 0 };
	long ret;
	size_t i;

	ret = vx_cmd_lookup(ioc->cmd, &d);
	if (ret)
		return ret;
	if (d->as_cmd) {
		for (i = 0; i < ARRAY_SIZE(vx_cmds); i++)
			if (vx_cmds[i].cmd == d->as_cmd)
				return vx_cmds[i].fn(d->as_cmd, ioc->id, legacy);
		return -ENOSYS;
	}
	if (d->data_size && !ioc->data)
		return -EINVAL;
	if (ioc->data_size != d->data_size)
		return -EINVAL;
	return vx_cmd_run(d, ioc->id, u64_to_user_ptr(ioc->data));
}

/*
 * One VSERVER_IOC_CALL.  The struct's size is read alone first: a shorter
 * struct (an older or foreign caller) is -EINVAL, never read past its end.
 * Returns 0 with uioc->result set, or the command's -errno.
 */
long vx_switch_ioctl(void __user *arg)
{
	struct vserver_ioc __user *uioc = arg;
	struct vserver_ioc ioc;
	u32 size;
	long ret;

	if (get_user(size, &uioc->size))
		return -EFAULT;
	if (size != sizeof(ioc))
		return -EINVAL;
	if (copy_from_user(&ioc, uioc, sizeof(ioc)))
		return -EFAULT;
	if (ioc.size != sizeof(ioc)) /* changed under us */
		return -EINVAL;
	ret = vx_call(&ioc);
	if (ret < 0)
		return ret;
	if (put_user((__s64)ret, &uioc->result))
		return -EFAULT;
	return 0;
}
