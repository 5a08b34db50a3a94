/*
 * Checkpoint and restart through the switch (VCMD_checkpoint, VCMD_restart)
 * and their userspace implementation over vxcr_dump() / vxcr_restore().
 *
 * The checkpoint id (crid) is derived from the image header's 16-byte
 * image_id (vxcr_image_crid()).  Checkpoint gets it from the dump's
 * statistics, whatever fd is; restart peeks at it without consuming
 * anything, so vxcr_restore() then reads the stream from its start.
 */
#define LOG_PREFIX "switch/cr: "
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util/cleanup.h"
#include "img/img.h"
#include "vxcr/vserver.h"
#include "switch/switch.h"
#include "ctx/ctx.h"

uint64_t vxcr_image_crid(const uint8_t *image_id, size_t len)
{
	uint64_t v = 0;

	for (size_t i = 0; i < 8 && i < len; i++)
		v |= (uint64_t)image_id[i] << (8 * i);
	v &= INT64_MAX;
	return v ? v : 1;
}

/*
 * The crid of the image whose header starts at fd's current position, left
 * for the next reader (lib/img peeks: pread, tee of a pipe, MSG_PEEK of a
 * socket).  Returns 0 with *crid set, or -EBADMSG (not a vxcr image),
 * -ENODATA (truncated), -ESPIPE, -ENOMEM.
 */
static int image_crid(int fd, uint64_t *crid)
{
	struct img_source *src;
	uint8_t id[16];
	int ret;

	ret = img_source_fd(fd, NULL, &src);
	if (ret)
		return ret;
	ret = img_peek_image_id(src, id);
	img_source_free(src);
	if (ret)
		return ret;
	*crid = vxcr_image_crid(id, sizeof(id));
	return 0;
}

long sw_checkpoint(uint32_t cmd, uint32_t id, void *data)
{
	const struct vcmd_checkpoint_v0 *a = data;
	struct vxcr_dump_stats st;
	struct vxcr_dump_opts o;
	uint32_t xid;
	int ret;

	(void)cmd;
	if ((a->flags & ~VXCR_CKPT_ALL) || a->pid < 0 || (!id && !a->pid))
		return -EINVAL;
	if (fcntl(a->fd, F_GETFL) < 0)
		return -EBADF;
	vxcr_dump_opts_init(&o);
	o.leave_running = a->flags & VXCR_CKPT_LEAVE_RUNNING;
	o.compress = !(a->flags & VXCR_CKPT_NO_COMPRESS);
	xid = vxctx_xid_of_init(NULL, a->pid);
	if (id && a->pid && id != xid) {
		pr_err("pid %d is not the init of context %u\n", a->pid, id);
		return -EINVAL;
	}
	if (id)
		xid = id;
	ret = xid ? vxcr_dump_ctx(xid, NULL, a->fd, &o, &st) : vxcr_dump(a->pid, a->fd, &o, &st);
	if (ret)
		return ret;
	return (long)vxcr_image_crid(st.image_id, sizeof(st.image_id));
}

/* checkpoint_v1: the options are the caller's; id 0 is the tree of pid,
 * else that context (pid 0).  Nothing is guessed from pid. */
long sw_checkpoint_v1(uint32_t cmd, uint32_t id, void *data)
{
	const struct vcmd_checkpoint_v1 *a = data;
	const struct vxcr_dump_opts *op = (const void *)(uintptr_t)a->opts;
	struct vxcr_dump_stats own = { 0 }, *st = a->stats ? (void *)(uintptr_t)a->stats : &own;
	const char *rundir = (const char *)(uintptr_t)a->rundir;
	struct vxcr_dump_opts o;
	int ret;

	(void)cmd;
	if (a->size != sizeof(*a) || (a->flags & ~VXCR_CKPT_ALL) || (op && a->flags) ||
	    (id ? a->pid != 0 : a->pid <= 0) || (!id && rundir))
		return -EINVAL;
	if (fcntl(a->fd, F_GETFL) < 0)
		return -EBADF;
	if (!op) {
		vxcr_dump_opts_init(&o);
		o.leave_running = a->flags & VXCR_CKPT_LEAVE_RUNNING;
		o.compress = !(a->flags & VXCR_CKPT_NO_COMPRESS);
		op = &o;
	}
	ret = id ? vxcr_dump_ctx(id, rundir, a->fd, op, st) : vxcr_dump(a->pid, a->fd, op, st);
	if (ret)
		return ret;
	return (long)vxcr_image_crid(st->image_id, sizeof(st->image_id));
}

/* A non-zero crid must be the image's: compared before anything is read.
 * 0 or -errno. */
static int check_crid(int fd, uint64_t want)
{
	uint64_t crid;
	int ret;

	if (!want)
		return 0;
	ret = image_crid(fd, &crid);
	if (ret)
		return ret;
	if (crid != want) {
		pr_err("fd %d: image is checkpoint %llu, not %llu\n", fd, (unsigned long long)crid,
		       (unsigned long long)want);
		return -EINVAL;
	}
	return 0;
}

long sw_restart(uint32_t cmd, uint32_t id, void *data)
{
	const struct vcmd_restart_v0 *a = data;
	struct vxcr_restore_opts o;
	pid_t pid = -1;
	int ret;

	(void)cmd;
	if (id || (a->flags & ~VXCR_RESTART_ALL))
		return -EINVAL;
	if (fcntl(a->fd, F_GETFL) < 0)
		return -EBADF;
	ret = check_crid(a->fd, a->crid);
	if (ret)
		return ret;
	vxcr_restore_opts_init(&o);
	o.pidns = a->flags & VXCR_RESTART_PIDNS;
	ret = vxcr_restore(a->fd, &o, &pid, NULL);
	return ret ? ret : pid;
}

long sw_restart_v1(uint32_t cmd, uint32_t id, void *data)
{
	const struct vcmd_restart_v1 *a = data;
	const struct vxcr_restore_opts *op = (const void *)(uintptr_t)a->opts;
	struct vxcr_restore_stats *st = (void *)(uintptr_t)a->stats;
	struct vxcr_restore_opts o;
	pid_t pid = -1;
	int ret;

	(void)cmd;
	if (id || a->size != sizeof(*a) || a->reserved || (a->flags & ~VXCR_RESTART_ALL) ||
	    (op && a->flags))
		return -EINVAL;
	if (fcntl(a->fd, F_GETFL) < 0)
		return -EBADF;
	ret = check_crid(a->fd, a->crid);
	if (ret)
		return ret;
	if (!op) {
		vxcr_restore_opts_init(&o);
		o.pidns = a->flags & VXCR_RESTART_PIDNS;
		op = &o;
	}
	ret = vxcr_restore(a->fd, op, &pid, st);
	return ret ? ret : pid;
}

/* The public calls: the switch's result, with errno set as well on failure. */
static long cr_ret(long ret)
{
	if (ret < 0)
		errno = (int)-ret;
	return ret;
}

long vxcr_checkpoint(pid_t pid, int fd, unsigned flags)
{
	struct vcmd_checkpoint_v0 a = { .pid = pid, .fd = fd, .flags = flags };

	return cr_ret(vserver(VCMD_checkpoint, 0, &a));
}

long vxcr_restart(uint64_t crid, int fd, unsigned flags)
{
	struct vcmd_restart_v0 a = { .crid = crid, .fd = fd, .flags = flags };

	return cr_ret(vserver(VCMD_restart, 0, &a));
}

long vxcr_checkpoint2(pid_t pid, xid_t xid, const char *rundir, int fd,
		      const struct vxcr_dump_opts *o, struct vxcr_dump_stats *st)
{
	struct vcmd_checkpoint_v1 a = {
		.size = sizeof(a),
		.pid = pid,
		.fd = fd,
		.opts = (uintptr_t)o,
		.stats = (uintptr_t)st,
		.rundir = (uintptr_t)rundir,
	};

	return cr_ret(vserver(VCMD_checkpoint_v1, xid, &a));
}

long vxcr_restart2(uint64_t crid, int fd, const struct vxcr_restore_opts *o,
		   struct vxcr_restore_stats *st)
{
	struct vcmd_restart_v1 a = {
		.size = sizeof(a),
		.fd = fd,
		.crid = crid,
		.opts = (uintptr_t)o,
		.stats = (uintptr_t)st,
	};

	return cr_ret(vserver(VCMD_restart_v1, 0, &a));
}
