/*
 * INFO_NPROC: the task limit of a context, through the pids controller.
 *
 * Pure cgroup v2 hosts: the cgroup2 root offers "pids" (cgroup.controllers);
 * it is enabled for <root>/vxcr and its children (cgroup.subtree_control of
 * both) and the limit goes to pids.max of the context's own v2 group.
 *
 * Hybrid hosts (pids only on a v1 hierarchy): the v1 hierarchy carrying
 * pids is found in /proc/self/mountinfo (fstype cgroup, super option
 * "pids") and confirmed attached in /proc/self/cgroup; the context gets a
 * group of the same name there, <pids mount>/vxcr/<xid>, with pids.max.
 * Every task of the context is then placed in both groups: the init by the
 * supervisor before it runs (its children inherit both), entered tasks by
 * vxctx_migrate.  The v1 group's path is recorded (pids_cgroup=) and
 * removed with the context.
 */
#define LOG_PREFIX "ctx/pids: "
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "util/cleanup.h"
#include "ctx/ctx.h"
#include "proc/proc.h"

/* 1 if word is one of the comma/space separated tokens of list. */
static int has_token(const char *list, const char *word)
{
	size_t wl = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word))) {
		if ((p == list || p[-1] == ',' || p[-1] == ' ') &&
		    (p[wl] == 0 || p[wl] == ',' || p[wl] == ' ' || p[wl] == '\n'))
			return 1;
		p += wl;
	}
	return 0;
}

/* 1 if the cgroup2 hierarchy at root offers the pids controller. */
static int v2_has_pids(const char *root)
{
	_cleanup_fclose_ FILE *f = NULL;
	char path[PATH_MAX + 32], line[512];

	snprintf(path, sizeof(path), "%s/cgroup.controllers", root);
	f = fopen(path, "re");
	return f && fgets(line, sizeof(line), f) && has_token(line, "pids");
}

/* 1 if /proc/self/cgroup shows a v1 hierarchy with the pids controller. */
static int v1_pids_attached(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
	char line[4096], ctrl[512];

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*u:%511[^:]:", ctrl) == 1 && has_token(ctrl, "pids"))
			return 1;
	return 0;
}

/* Mount point of the v1 hierarchy carrying pids, from mountinfo. */
static int v1_pids_root(char *buf, size_t len)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096], mnt[PATH_MAX], *sep, *opts;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		sep = strstr(line, " - ");
		if (!sep || strncmp(sep, " - cgroup ", 10))
			continue;
		opts = strrchr(sep, ' '); /* super options: last field */
		if (!opts || !has_token(opts + 1, "pids"))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		snprintf(buf, len, "%s", mnt);
		return 0;
	}
	return -ENOENT;
}

/* Turns the pids controller on for root's children and root/vxcr's. */
static int v2_enable_pids(const char *cgroup)
{
	char root[PATH_MAX], vxcr[PATH_MAX + 8];
	int ret;

	ret = vxctx_cg_root(root, sizeof(root));
	if (ret)
		return ret;
	snprintf(vxcr, sizeof(vxcr), "%s/vxcr", root);
	ret = vxctx_cg_write(root, "cgroup.subtree_control", "+pids");
	if (!ret)
		ret = vxctx_cg_write(vxcr, "cgroup.subtree_control", "+pids");
	if (ret)
		pr_err("INFO_NPROC: cannot enable the pids controller above %s: %s\n", cgroup,
		       strerror(-ret));
	return ret;
}

static int set_max(const char *group, uint64_t nproc)
{
	char val[32];
	int ret;

	snprintf(val, sizeof(val), "%llu", (unsigned long long)nproc);
	ret = vxctx_cg_write(group, "pids.max", val);
	if (ret)
		pr_err("INFO_NPROC: cannot write pids.max=%s in %s: %s\n", val, group,
		       strerror(-ret));
	return ret;
}

int vxctx_pids_setup(uint32_t xid, const char *cgroup, uint64_t nproc, char *v1path, size_t len)
{
	char root[PATH_MAX];
	int ret;

	v1path[0] = 0;
	ret = vxctx_cg_root(root, sizeof(root));
	if (ret)
		return ret;
	if (v2_has_pids(root)) {
		ret = v2_enable_pids(cgroup);
		return ret ? ret : set_max(cgroup, nproc);
	}
	if (!v1_pids_attached() || v1_pids_root(root, sizeof(root))) {
		pr_err("INFO_NPROC: no pids controller, neither in cgroup v2 nor on a v1 hierarchy\n");
		return -ENOTTY;
	}
	ret = vxctx_cg_mkdir(root, xid, v1path, len);
	if (ret)
		return ret;
	ret = set_max(v1path, nproc);
	if (ret) {
		vxctx_cg_remove(v1path);
		v1path[0] = 0;
	}
	return ret;
}

int vxctx_pids_path(uint32_t xid, char *buf, size_t len)
{
	char root[PATH_MAX];
	int n;

	buf[0] = 0;
	if (proc_cgroup2_mount(root, sizeof(root)) == 0 && v2_has_pids(root))
		return 0;
	if (!v1_pids_attached() || v1_pids_root(root, sizeof(root)))
		return 0;
	n = snprintf(buf, len, "%s/%s/%u", root, vxctx_cg_base(), xid);
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

int64_t vxctx_pids_current(const struct vxctx_record *r)
{
	_cleanup_fclose_ FILE *f = NULL;
	char path[PATH_MAX];
	long long v;

	snprintf(path, sizeof(path), "%s/pids.current",
		 r->pids_cgroup[0] ? r->pids_cgroup : r->cgroup);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	return fscanf(f, "%lld", &v) == 1 ? v : -EINVAL;
}
