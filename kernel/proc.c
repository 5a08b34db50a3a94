// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/virtual: the contexts as Linux-VServer showed them, read only.
 *
 *   info, status           the module (VCIVersion, ...) and the counts
 *   <xid>/info             ID, Init
 *   <xid>/status           UseCnt, Tasks, Flags, BCaps, CCaps
 *   <xid>/cvirt            uname fields, uptime, thread counts
 *
 * A directory is made at create (vx_proc_add, process context) and removed
 * by the dead context's release work (vx_proc_del); vx_proc_mutex orders
 * the two, and a table xid -> directory knows which context made which
 * directory, so a dead context's late removal never takes the directory of
 * the context that took its xid.  remove_proc_subtree waits for the reads
 * in progress; a file still open after it reads -EIO.  A file's data is
 * its xid only: every open and read looks the context up in the registry
 * (a reference for the time of the read), a dead one reads -ESRCH.
 *
 * Visibility, as the switch's (context.c): a task in a context may open
 * the files of its own context and of those created inside it, at any
 * depth; the others read -ENOENT, and /proc/virtual/status counts only
 * what the reader sees.  The directory names themselves are listed to
 * every reader (proc has no per-reader readdir for a module).  Pids are
 * numbers in the reader's pid namespace.
 */
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pid_namespace.h>
#include <linux/proc_fs.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/utsname.h>
#include <linux/xarray.h>

#include "ctx.h"

#define VX_PROC_ROOT "virtual"

struct vx_proc_dir {
	struct proc_dir_entry *pde;
	const struct vx_info *owner; /* identity only: no reference */
};

static DEFINE_MUTEX(vx_proc_mutex);
static DEFINE_XARRAY(vx_proc_dirs); /* xid -> struct vx_proc_dir */
static struct proc_dir_entry *vx_proc_root;

/* The context xid as the reader may see it, with a reference. */
static struct vx_info *vx_proc_get(u32 xid)
{
	struct vx_info *vxi = vx_visible(xid, false);

	if (IS_ERR(vxi))
		return ERR_PTR(-ENOENT);
	if (READ_ONCE(vxi->state) != VX_LIVE) {
		vx_put(vxi);
		return ERR_PTR(-ESRCH);
	}
	return vxi;
}

static void vx_proc_time(struct seq_file *m, const char *name, u64 ns)
{
	seq_printf(m, "%s:\t%llu.%02llu\n", name, ns / NSEC_PER_SEC,
		   (ns % NSEC_PER_SEC) / (NSEC_PER_SEC / 100));
}

static int vx_proc_info_show(struct seq_file *m, struct vx_info *vxi)
{
	struct pid_namespace *ns = task_active_pid_ns(current);
	pid_t init;

	spin_lock(&vx_lock);
	init = vxi->init ? pid_nr_ns(vxi->init, ns) : 0;
	spin_unlock(&vx_lock);
	seq_printf(m, "ID:\t%u\n", vxi->xid);
	seq_printf(m, "Init:\t%d\n", init);
	return 0;
}

static int vx_proc_status_show(struct seq_file *m, struct vx_info *vxi)
{
	u64 flags, bcaps, ccaps;
	u32 tasks;

	spin_lock(&vx_lock);
	tasks = vx_nr_procs_locked(vxi);
	flags = vxi->flags;
	bcaps = vxi->bcaps;
	ccaps = vxi->ccaps;
	spin_unlock(&vx_lock);
	/* + the registry's hold, as vx_stat's usecnt */
	seq_printf(m, "UseCnt:\t%u\n", tasks + 1);
	seq_printf(m, "Tasks:\t%u\n", tasks);
	seq_printf(m, "Flags:\t%016llx\n", flags);
	seq_printf(m, "BCaps:\t%016llx\n", bcaps);
	seq_printf(m, "CCaps:\t%016llx\n", ccaps);
	return 0;
}

static const char *const vx_proc_uts_names[] = {
	[VHIN_SYSNAME] = "SysName", [VHIN_NODENAME] = "NodeName", [VHIN_RELEASE] = "Release",
	[VHIN_VERSION] = "Version", [VHIN_MACHINE] = "Machine",	  [VHIN_DOMAINNAME] = "DomainName",
};

static void vx_proc_uts_show(struct seq_file *m, struct uts_namespace *uts)
{
	char buf[VHILEN];
	u32 f;

	for (f = VHIN_SYSNAME; f <= VHIN_DOMAINNAME; f++) {
		if (!vx_proc_uts_names[f] || vx_uts_get_field(uts, f, buf))
			continue;
		seq_printf(m, "%s:\t%s\n", vx_proc_uts_names[f], buf);
	}
}

static int vx_proc_cvirt_show(struct seq_file *m, struct vx_info *vxi)
{
	struct vx_count c = { 0 };
	struct uts_namespace *uts;
	u32 threads, forks, onhold;
	u64 now = ktime_get_boottime_ns();

	spin_lock(&vx_lock);
	vx_members_each(vxi, vx_count_task, &c);
	threads = vxi->nr_threads;
	forks = vxi->nr_forks;
	onhold = (vxi->flags & VXF_SCHED_PAUSE) ? threads : 0;
	uts = vxi->uts;
	if (uts)
		get_uts_ns(uts);
	spin_unlock(&vx_lock);
	vx_proc_time(m, "BiasUptime", vxi->created_ns);
	vx_proc_time(m, "Uptime", now - vxi->created_ns);
	if (uts) {
		vx_proc_uts_show(m, uts);
		vx_uts_put(uts);
	}
	seq_printf(m, "nr_threads:\t%u\n", threads);
	seq_printf(m, "nr_running:\t%u\n", c.running);
	seq_printf(m, "nr_unintr:\t%u\n", c.unintr);
	seq_printf(m, "nr_onhold:\t%u\n", onhold);
	seq_printf(m, "total_forks:\t%u\n", forks);
	return 0;
}

/* The per-context files: a show is called with a reference on the context. */
enum { VX_PROC_INFO, VX_PROC_STATUS, VX_PROC_CVIRT };

static int (*const vx_proc_shows[])(struct seq_file *m, struct vx_info *vxi) = {
	[VX_PROC_INFO] = vx_proc_info_show,
	[VX_PROC_STATUS] = vx_proc_status_show,
	[VX_PROC_CVIRT] = vx_proc_cvirt_show,
};

static int vx_proc_ctx_show(struct seq_file *m, void *v)
{
	unsigned int which = (uintptr_t)m->private;
	u32 xid = (uintptr_t)pde_data(file_inode(m->file));
	struct vx_info *vxi = vx_proc_get(xid);
	int ret;

	if (IS_ERR(vxi))
		return PTR_ERR(vxi);
	ret = vx_proc_shows[which](m, vxi);
	vx_put(vxi);
	return ret;
}

/* The open checks what the reader sees, so an invisible context's file
 * does not open; each read checks again (the context may have ended). */
static int vx_proc_ctx_open(struct inode *inode, struct file *file, unsigned int which)
{
	struct vx_info *vxi = vx_proc_get((uintptr_t)pde_data(inode));

	if (IS_ERR(vxi))
		return PTR_ERR(vxi);
	vx_put(vxi);
	return single_open(file, vx_proc_ctx_show, (void *)(uintptr_t)which);
}

static int vx_proc_info_open(struct inode *inode, struct file *file)
{
	return vx_proc_ctx_open(inode, file, VX_PROC_INFO);
}

static int vx_proc_status_open(struct inode *inode, struct file *file)
{
	return vx_proc_ctx_open(inode, file, VX_PROC_STATUS);
}

static int vx_proc_cvirt_open(struct inode *inode, struct file *file)
{
	return vx_proc_ctx_open(inode, file, VX_PROC_CVIRT);
}

static const struct proc_ops vx_proc_info_ops = {
	.proc_open = vx_proc_info_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
};

static const struct proc_ops vx_proc_status_ops = {
	.proc_open = vx_proc_status_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
};

static const struct proc_ops vx_proc_cvirt_ops = {
	.proc_open = vx_proc_cvirt_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
};

static const struct {
	const char *name;
	const struct proc_ops *ops;
} vx_proc_files[] = {
	{ "info", &vx_proc_info_ops },
	{ "status", &vx_proc_status_ops },
	{ "cvirt", &vx_proc_cvirt_ops },
};

/* Under vx_proc_mutex: removes the directory of xid, if any. */
static void vx_proc_drop_locked(u32 xid)
{
	struct vx_proc_dir *d = xa_erase(&vx_proc_dirs, xid);

	if (!d)
		return;
	proc_remove(d->pde);
	kfree(d);
}

static struct proc_dir_entry *vx_proc_mkdir(u32 xid)
{
	struct proc_dir_entry *dir;
	char name[12];
	size_t i;

	snprintf(name, sizeof(name), "%u", xid);
	dir = proc_mkdir_data(name, 0555, vx_proc_root, NULL);
	if (!dir)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(vx_proc_files); i++) {
		if (!proc_create_data(vx_proc_files[i].name, 0444, dir, vx_proc_files[i].ops,
				      (void *)(uintptr_t)xid))
			goto out_dir;
	}
	return dir;

out_dir:
	proc_remove(dir);
	return NULL;
}

/*
 * At create, in process context.  A directory left by a dead context of
 * the same xid (its release not run yet) goes first; a context that died
 * already gets none.  A context without a directory works all the same.
 */
void vx_proc_add(struct vx_info *vxi)
{
	struct vx_proc_dir *d;

	if (!vx_proc_root)
		return;
	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return;
	mutex_lock(&vx_proc_mutex);
	vx_proc_drop_locked(vxi->xid);
	if (READ_ONCE(vxi->state) != VX_LIVE)
		goto out_free;
	d->owner = vxi;
	d->pde = vx_proc_mkdir(vxi->xid);
	if (!d->pde)
		goto out_free;
	if (xa_err(xa_store(&vx_proc_dirs, vxi->xid, d, GFP_KERNEL)))
		goto out_dir;
	mutex_unlock(&vx_proc_mutex);
	return;

out_dir:
	proc_remove(d->pde);
out_free:
	mutex_unlock(&vx_proc_mutex);
	kfree(d);
}

/* From the release work of a dead context (process context, may sleep). */
void vx_proc_del(struct vx_info *vxi)
{
	struct vx_proc_dir *d;

	mutex_lock(&vx_proc_mutex);
	d = xa_load(&vx_proc_dirs, vxi->xid);
	if (d && d->owner == vxi)
		vx_proc_drop_locked(vxi->xid);
	mutex_unlock(&vx_proc_mutex);
}

static int vx_proc_vinfo_show(struct seq_file *m, void *v)
{
	seq_printf(m, "VCIVersion:\t%04x:%04x\n", VXCR_VCI_VERSION >> 16,
		   VXCR_VCI_VERSION & 0xffff);
	seq_printf(m, "VCIModule:\t%s %s\n", VX_MOD_NAME,
		   THIS_MODULE->version ? THIS_MODULE->version : "");
	seq_puts(m, "VCIDevice:\t/dev/vserver\n");
	return 0;
}

struct vx_proc_tally {
	struct vx_info *self;
	u32 total, active;
};

static void vx_proc_tally_one(struct vx_info *vxi, void *arg)
{
	struct vx_proc_tally *t = arg;

	if (t->self && vxi != t->self && !vx_descends(vxi, t->self))
		return;
	t->total++;
	if (vxi->state == VX_LIVE)
		t->active++;
}

static int vx_proc_vstatus_show(struct seq_file *m, void *v)
{
	struct vx_proc_tally t = { .self = vx_task_vxi(current) };

	vx_reg_each(vx_proc_tally_one, &t);
	if (t.self)
		vx_put(t.self);
	seq_printf(m, "#CTotal:\t%u\n", t.total);
	seq_printf(m, "#CActive:\t%u\n", t.active);
	return 0;
}

int vx_proc_init(void)
{
	vx_proc_root = proc_mkdir(VX_PROC_ROOT, NULL);
	if (!vx_proc_root)
		return -ENOMEM;
	if (!proc_create_single("info", 0444, vx_proc_root, vx_proc_vinfo_show))
		goto out_root;
	if (!proc_create_single("status", 0444, vx_proc_root, vx_proc_vstatus_show))
		goto out_root;
	return 0;

out_root:
	remove_proc_subtree(VX_PROC_ROOT, NULL);
	vx_proc_root = NULL;
	return -ENOMEM;
}

/* At unload, after the last release work: whatever is left goes. */
void vx_proc_exit(void)
{
	struct vx_proc_dir *d;
	unsigned long xid;

	mutex_lock(&vx_proc_mutex);
	xa_for_each(&vx_proc_dirs, xid, d)
		vx_proc_drop_locked(xid);
	mutex_unlock(&vx_proc_mutex);
	xa_destroy(&vx_proc_dirs);
	if (vx_proc_root)
		remove_proc_subtree(VX_PROC_ROOT, NULL);
	vx_proc_root = NULL;
}
