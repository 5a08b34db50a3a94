/*
 * vxcr's public additions to the context API (vxcr/vserver.h): creating a
 * context with a main command, its record, listing, and the names of
 * flags and caps.  Thin wrappers over lib/ctx, in the public types.
 */
#define LOG_PREFIX "ctx: "
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "vxcr/vserver.h"
#include "ctx/ctx.h"

_Static_assert(VXF_INFO_NPROC == VXCTX_F_INFO_NPROC && VXF_PROLIFIC == VXCTX_F_PROLIFIC &&
		       VXC_SET_UTSNAME == VXCTX_C_SET_UTSNAME && VXCR_XID_MAX == VXCTX_XID_MAX &&
		       VXCR_XID_DYNAMIC == VXCTX_XID_DYNAMIC &&
		       VHIN_DOMAINNAME == VXCTX_UN_DOMAINNAME,
	       "vserver.h and ctx.h disagree");

void vxcr_ctx_create_opts_init(struct vxcr_ctx_create_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->bcaps = VXCR_BCAPS_GUEST;
}

uint64_t vxcr_ctx_guest_bcaps(uint64_t flags, uint64_t ccaps)
{
	return vxctx_guest_bcaps(flags, ccaps);
}

int vxcr_ctx_create(const struct vxcr_ctx_create_opts *o, xid_t *xid, pid_t *init)
{
	struct vxctx_create_args a = {
		.xid = o->xid,
		.flags = o->flags,
		.bcaps = o->bcaps == VXCR_BCAPS_GUEST ? vxctx_guest_bcaps(o->flags, o->ccaps) :
							o->bcaps,
		.ccaps = o->ccaps,
		.hostname = o->hostname,
		.nproc = o->nproc,
		.net = o->net,
		.root = o->root,
		.limits = o->limits,
		.argv = o->argv,
		.rundir = vxctx_rundir(NULL),
	};
	uint32_t x;
	pid_t pid;
	int ret;

	if (!o->argv || !o->argv[0]) {
		pr_err("create: no command to run inside\n");
		return -EINVAL;
	}
	ret = vxctx_create(&a, &x, &pid);
	if (ret)
		return ret;
	if (xid)
		*xid = x;
	if (init)
		*init = pid;
	return 0;
}

/*
 * Which namespaces of the init are its own (not the caller's) and which it
 * shares: "own pid,uts,ipc,mnt,cgroup; shared net,time,user".  "" when its
 * /proc cannot be read.
 */
static void namespaces(pid_t init, char *buf, size_t len)
{
	static const char *const ns[] = { "pid",    "uts", "ipc",  "mnt",
					  "cgroup", "net", "time", "user" };
	char own[64] = "", shared[64] = "", path[64];
	struct stat a, b;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		char *to;

		snprintf(path, sizeof(path), "/proc/%d/ns/%s", init, ns[i]);
		if (stat(path, &a))
			return;
		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns[i]);
		if (stat(path, &b))
			return;
		to = a.st_ino == b.st_ino && a.st_dev == b.st_dev ? shared : own;
		snprintf(to + strlen(to), sizeof(own) - strlen(to), "%s%s", to[0] ? "," : "",
			 ns[i]);
	}
	snprintf(buf, len, "own %s; shared %s", own[0] ? own : "none", shared[0] ? shared : "none");
}

int vxcr_ctx_info(xid_t xid, struct vxcr_ctx_info *info)
{
	struct vxctx_record r;
	struct vxctx_stat st;
	int ret;

	ret = vxctx_info(NULL, xid, &r);
	if (ret)
		return ret;
	memset(info, 0, sizeof(*info));
	info->xid = r.xid;
	info->init_pid = r.init_pid;
	info->super_pid = r.super_pid;
	info->flags = r.flags;
	info->bcaps = r.bcaps;
	info->ccaps = r.ccaps;
	info->nproc = r.nproc;
	snprintf(info->cgroup, sizeof(info->cgroup), "%s", r.cgroup);
	snprintf(info->pids_cgroup, sizeof(info->pids_cgroup), "%s", r.pids_cgroup);
	snprintf(info->root, sizeof(info->root), "%s", r.root);
	snprintf(info->net, sizeof(info->net), "%s", r.net);
	vxctx_limits_get(r.xid, r.cgroup, info->limits, sizeof(info->limits));
	namespaces(r.init_pid, info->namespaces, sizeof(info->namespaces));
	if ((r.flags & VXCTX_F_INFO_NPROC) && !vxctx_stat(NULL, xid, &st))
		info->nproc_cur = st.nproc_cur;
	return 0;
}

int vxcr_ctx_list(xid_t *xids, int max)
{
	if (max < 0)
		return -EINVAL;
	return vxctx_list(NULL, xids, max);
}

int vxcr_ctx_names_parse(enum vxcr_ctx_names what, const char *list, uint64_t *bits)
{
	switch (what) {
	case VXCR_CTX_FLAG_NAMES:
		return vxctx_flag_parse(list, bits);
	case VXCR_CTX_CCAP_NAMES:
		return vxctx_ccap_parse(list, bits);
	case VXCR_CTX_BCAP_NAMES:
		return vxctx_bcap_parse(list, bits);
	}
	return -EINVAL;
}

void vxcr_ctx_names_format(enum vxcr_ctx_names what, uint64_t bits, char *buf, size_t len)
{
	if (!len)
		return;
	switch (what) {
	case VXCR_CTX_FLAG_NAMES:
		vxctx_flag_format(bits, buf, len);
		return;
	case VXCR_CTX_CCAP_NAMES:
		vxctx_ccap_format(bits, buf, len);
		return;
	case VXCR_CTX_BCAP_NAMES:
		vxctx_bcap_format(bits, buf, len);
		return;
	}
	buf[0] = '\0';
}

int vxcr_ctx_uname_field(const char *name)
{
	return vxctx_uname_field(name);
}
