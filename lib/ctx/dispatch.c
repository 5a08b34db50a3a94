/*
 * The strong vxctx_call(): the switch's context commands (already decoded
 * and checked by lib/switch, see lib/ctx/engine.h) mapped onto lib/ctx.
 * Run directory: $VXCR_RUNDIR or /run/vxcr.
 *
 * ctx_create: a stock kernel cannot make the caller pid 1 of a new pid
 * namespace, so the context gets our init and the caller joins it at once
 * (cgroup and namespaces, as ctx_migrate): its children are born inside.
 */
#define LOG_PREFIX "ctx/dispatch: "
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vxcr/vserver.h"
#include "ctx/engine.h"
#include "ctx/ctx.h"

/*
 * VCMD_ctx_create as the vserver kernel answers it: a new context has every
 * bounding cap until VCMD_set_bcaps narrows it, which is what util-vserver
 * does next (the guest set is its default, applied by its tools, as
 * `vxcr ctx create` and vxcr_ctx_create() apply it here).
 */
static long do_create(uint32_t id, const struct vcmd_ctx_create *d)
{
	struct vxctx_create_args a = { .xid = id,
				       .flags = d->flagword,
				       .bcaps = VXCTX_BCAPS_ALL,
				       .ccaps = 0,
				       .join_pid = getpid() };
	uint32_t xid;
	pid_t init;
	int ret;

	ret = vxctx_create(&a, &xid, &init);
	if (ret)
		return ret;
	ret = vxctx_migrate(NULL, xid);
	if (ret) {
		vxctx_kill(NULL, xid, 0, 9);
		return ret;
	}
	return xid;
}

static long do_stat(uint32_t cmd, uint32_t id, void *data)
{
	struct vxctx_stat st;
	int ret = vxctx_stat(NULL, id, &st);

	if (ret)
		return ret;
	if (cmd == VCMD_ctx_stat) {
		struct vcmd_ctx_stat_v0 *d = data;

		d->usecnt = st.usecnt;
		d->tasks = st.tasks;
	} else {
		struct vcmd_virt_stat_v0 *d = data;

		memset(d, 0, sizeof(*d));
		d->uptime = st.uptime_ns;
		d->nr_threads = st.nr_threads;
		d->nr_running = st.nr_running;
		d->nr_uninterruptible = st.nr_unintr;
		d->nr_onhold = st.nr_onhold;
	}
	return 0;
}

static long do_bits(uint32_t cmd, uint32_t id, void *data)
{
	uint64_t v, b, c;
	int ret;

	switch (cmd) {
	case VCMD_get_cflags:
		ret = vxctx_flags_get(NULL, id, &v);
		if (!ret) {
			((struct vcmd_ctx_flags_v0 *)data)->flagword = v;
			((struct vcmd_ctx_flags_v0 *)data)->mask = ~0ULL;
		}
		return ret;
	case VCMD_set_cflags:
		return vxctx_flags_set(NULL, id, ((struct vcmd_ctx_flags_v0 *)data)->flagword,
				       ((struct vcmd_ctx_flags_v0 *)data)->mask);
	case VCMD_set_ccaps:
		return vxctx_caps_set(NULL, id, 0, 0, ((struct vcmd_ctx_caps_v1 *)data)->ccaps,
				      ((struct vcmd_ctx_caps_v1 *)data)->cmask);
	case VCMD_set_bcaps:
		return vxctx_caps_set(NULL, id, ((struct vcmd_bcaps *)data)->bcaps,
				      ((struct vcmd_bcaps *)data)->bmask, 0, 0);
	}
	ret = vxctx_caps_get(NULL, id, &b, &c);
	if (ret)
		return ret;
	if (cmd == VCMD_get_ccaps) {
		((struct vcmd_ctx_caps_v1 *)data)->ccaps = c;
		((struct vcmd_ctx_caps_v1 *)data)->cmask = ~0ULL;
	} else {
		((struct vcmd_bcaps *)data)->bcaps = b;
		((struct vcmd_bcaps *)data)->bmask = ~0ULL;
	}
	return 0;
}

long vxctx_call(uint32_t cmd, uint32_t id, void *data)
{
	struct vxctx_record r;
	uint32_t xid, rcmd;
	int ret, code;

	switch (cmd) {
	case VCMD_ctx_create:
		return do_create(id, data);
	case VCMD_ctx_migrate:
		if (((struct vcmd_ctx_migrate *)data)->flagword & (VXM_SET_INIT | VXM_SET_REAPER)) {
			pr_err("ctx_migrate: VXM_SET_INIT/VXM_SET_REAPER need the kernel module\n");
			return -ENOTTY;
		}
		return vxctx_migrate(NULL, id);
	case VCMD_task_xid:
		ret = vxctx_task_xid(NULL, (pid_t)id, &xid);
		return ret ? ret : (long)xid;
	case VCMD_vx_info:
		ret = vxctx_info(NULL, id, &r);
		if (!ret) {
			((struct vcmd_vx_info_v0 *)data)->xid = r.xid;
			((struct vcmd_vx_info_v0 *)data)->initpid = (uint32_t)r.init_pid;
		}
		return ret;
	case VCMD_ctx_stat:
	case VCMD_virt_stat:
		return do_stat(cmd, id, data);
	case VCMD_get_vhi_name: {
		struct vcmd_vhi_name_v0 *d = data;

		return vxctx_uname_get(NULL, id, (int)d->field, d->name, sizeof(d->name));
	}
	case VCMD_set_vhi_name: {
		struct vcmd_vhi_name_v0 *d = data;

		d->name[sizeof(d->name) - 1] = 0;
		return vxctx_uname_set(NULL, id, (int)d->field, d->name);
	}
	case VCMD_get_cflags:
	case VCMD_set_cflags:
	case VCMD_get_ccaps:
	case VCMD_set_ccaps:
	case VCMD_get_bcaps:
	case VCMD_set_bcaps:
		return do_bits(cmd, id, data);
	case VCMD_ctx_kill:
		return vxctx_kill(NULL, id, ((struct vcmd_ctx_kill_v0 *)data)->pid,
				  ((struct vcmd_ctx_kill_v0 *)data)->sig);
	case VCMD_wait_exit:
		ret = vxctx_wait(NULL, id, &code, &rcmd);
		if (!ret) {
			((struct vcmd_wait_exit_v0 *)data)->reboot_cmd = (int32_t)rcmd;
			((struct vcmd_wait_exit_v0 *)data)->exit_code = code;
		}
		return ret;
	}
	return -ENOSYS;
}
