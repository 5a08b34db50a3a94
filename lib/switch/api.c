/*
 * The libvserver context API: thin wrappers over vserver() that convert
 * between the user types (vx_*_t) and the command structs, and turn the
 * switch's -errno into libvserver's -1 with errno.
 */
#include <errno.h>
#include <string.h>

#include "vxcr/vserver.h"

/* libvserver's return convention for a switch result. */
static int vx_ret(long ret)
{
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return (int)ret;
}

static int vx_einval(void)
{
	errno = EINVAL;
	return -1;
}

int vx_create(xid_t xid, vx_flags_t *data)
{
	struct vcmd_ctx_create k = { .flagword = data ? data->flags : 0 };

	return vx_ret(vserver(VCMD_ctx_create, xid, &k));
}

int vx_migrate(xid_t xid, vx_flags_t *data)
{
	struct vcmd_ctx_migrate k = { .flagword = data ? data->flags : 0 };

	return vx_ret(vserver(VCMD_ctx_migrate, xid, &k));
}

int vx_task_xid(pid_t pid)
{
	return vx_ret(vserver(VCMD_task_xid, (uint32_t)pid, NULL));
}

int vx_info(xid_t xid, vx_info_t *data)
{
	struct vcmd_vx_info_v0 k = { 0 };
	long ret = vserver(VCMD_vx_info, xid, &k);

	if (ret >= 0 && data) {
		data->xid = k.xid;
		data->initpid = (pid_t)k.initpid;
	}
	return vx_ret(ret);
}

int vx_stat(xid_t xid, vx_stat_t *data)
{
	struct vcmd_ctx_stat_v0 c = { 0 };
	struct vcmd_virt_stat_v0 v = { 0 };
	long ret;

	ret = vserver(VCMD_ctx_stat, xid, &c);
	if (ret >= 0)
		ret = vserver(VCMD_virt_stat, xid, &v);
	if (ret >= 0 && data) {
		data->usecnt = c.usecnt;
		data->tasks = c.tasks;
		data->nr_threads = v.nr_threads;
		data->nr_running = v.nr_running;
		data->nr_unintr = v.nr_uninterruptible;
		data->nr_onhold = v.nr_onhold;
		data->nr_forks = v.nr_forks;
		memcpy(data->load, v.load, sizeof(data->load));
		data->offset = v.offset;
		data->uptime = v.uptime;
	}
	return vx_ret(ret);
}

/* The six flag-word commands share one shape: {word, mask} in and out. */
static int vx_mask_set(uint32_t cmd, xid_t xid, const vx_flags_t *data)
{
	uint64_t k[2];

	if (!data)
		return vx_einval();
	k[0] = data->flags;
	k[1] = data->mask;
	return vx_ret(vserver(cmd, xid, k));
}

static int vx_mask_get(uint32_t cmd, xid_t xid, vx_flags_t *data)
{
	uint64_t k[2] = { 0, 0 };
	long ret;

	if (!data)
		return vx_einval();
	ret = vserver(cmd, xid, k);
	if (ret >= 0) {
		data->flags = k[0];
		data->mask = k[1];
	}
	return vx_ret(ret);
}

_Static_assert(sizeof(struct vcmd_bcaps) == 16 && sizeof(struct vcmd_ctx_caps_v1) == 16 &&
		       sizeof(struct vcmd_ctx_flags_v0) == 16,
	       "flag-word commands are {u64, u64}");

int vx_bcaps_set(xid_t xid, vx_flags_t *data)
{
	return vx_mask_set(VCMD_set_bcaps, xid, data);
}
int vx_bcaps_get(xid_t xid, vx_flags_t *data)
{
	return vx_mask_get(VCMD_get_bcaps, xid, data);
}
int vx_ccaps_set(xid_t xid, vx_flags_t *data)
{
	return vx_mask_set(VCMD_set_ccaps, xid, data);
}
int vx_ccaps_get(xid_t xid, vx_flags_t *data)
{
	return vx_mask_get(VCMD_get_ccaps, xid, data);
}
int vx_flags_set(xid_t xid, vx_flags_t *data)
{
	return vx_mask_set(VCMD_set_cflags, xid, data);
}
int vx_flags_get(xid_t xid, vx_flags_t *data)
{
	return vx_mask_get(VCMD_get_cflags, xid, data);
}

int vx_uname_set(xid_t xid, vx_uname_t *data)
{
	struct vcmd_vhi_name_v0 k;

	if (!data || strnlen(data->value, sizeof(data->value)) >= sizeof(k.name))
		return vx_einval();
	memset(&k, 0, sizeof(k));
	k.field = data->id;
	strcpy(k.name, data->value);
	return vx_ret(vserver(VCMD_set_vhi_name, xid, &k));
}

int vx_uname_get(xid_t xid, vx_uname_t *data)
{
	struct vcmd_vhi_name_v0 k;
	long ret;

	if (!data)
		return vx_einval();
	memset(&k, 0, sizeof(k));
	k.field = data->id;
	ret = vserver(VCMD_get_vhi_name, xid, &k);
	if (ret >= 0) {
		k.name[sizeof(k.name) - 1] = '\0';
		memcpy(data->value, k.name, sizeof(data->value));
	}
	return vx_ret(ret);
}

int vx_kill(xid_t xid, pid_t pid, int sig)
{
	struct vcmd_ctx_kill_v0 k = { .pid = pid, .sig = sig };

	return vx_ret(vserver(VCMD_ctx_kill, xid, &k));
}

int vx_wait(xid_t xid, vx_wait_t *data)
{
	struct vcmd_wait_exit_v0 k = { 0, 0 };
	long ret = vserver(VCMD_wait_exit, xid, &k);

	if (ret >= 0 && data) {
		data->reboot_cmd = k.reboot_cmd;
		data->exit_code = k.exit_code;
	}
	return vx_ret(ret);
}
