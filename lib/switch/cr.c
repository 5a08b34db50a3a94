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
	ImgHeader *h;
	int ret;

	ret = img_source_fd(fd, NULL, &src);
	if (ret)
		return ret;
	ret = img_peek_header(src, &h);
	img_source_free(src);
	if (ret)
		return ret;
	if (!h->has_image_id || h->image_id.len != 16) {
		pr_err("fd %d: image header without an image id\n", fd);
		img_header__free_unpacked(h, NULL);
		return -EBADMSG;
	}
	*crid = vxcr_image_crid(h->image_id.data, h->image_id.len);
	img_header__free_unpacked(h, NULL);
	return 0;
}

/* The xid of the context whose init pid is, else 0. */
static uint32_t context_of_init(pid_t pid)
{
	struct vxctx_record r;
	uint32_t xid;

	if (pid <= 0 || vxctx_task_xid(NULL, pid, &xid) || !xid ||
	    vxctx_record_read(NULL, xid, &r) || r.init_pid != pid || vxctx_record_foreign(&r))
		return 0;
	return xid;
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
	xid = context_of_init(a->pid);
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

long sw_restart(uint32_t cmd, uint32_t id, void *data)
{
	const struct vcmd_restart_v0 *a = data;
	struct vxcr_restore_opts o;
	uint64_t crid;
	pid_t pid = -1;
	int ret;

	(void)cmd;
	if (id || (a->flags & ~VXCR_RESTART_ALL))
		return -EINVAL;
	if (fcntl(a->fd, F_GETFL) < 0)
		return -EBADF;
	if (a->crid) {
		ret = image_crid(a->fd, &crid);
		if (ret)
			return ret;
		if (crid != a->crid) {
			pr_err("fd %d: image is checkpoint %llu, not %llu\n", a->fd,
			       (unsigned long long)crid, (unsigned long long)a->crid);
			return -EINVAL;
		}
	}
	vxcr_restore_opts_init(&o);
	o.pidns = a->flags & VXCR_RESTART_PIDNS;
	ret = vxcr_restore(a->fd, &o, &pid, NULL);
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
