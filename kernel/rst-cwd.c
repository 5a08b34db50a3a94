// SPDX-License-Identifier: GPL-2.0
/*
 * The working directory of a restart: task_entry.cwd, looked up as the
 * caller (absolute, no symlink crossed, a directory it may chdir into)
 * before the point of no return, put in place after it as chdir() does.
 * The root directory is not changed (chroot needs CAP_SYS_CHROOT): an
 * image whose root is not "/" is refused with -ENOTTY.
 */
#include <linux/fs.h>
#include <linux/fs_struct.h>
#include <linux/namei.h>
#include <linux/path.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "rst.h"

int rst_cwd_plan(struct rst_image *img)
{
	const char *cwd = img->task.cwd;
	struct path *p;
	int ret;

	if (img->task.root && strcmp(img->task.root, "/"))
		return -ENOTTY;
	if (!cwd)
		return 0; /* absent: the caller's */
	if (cwd[0] != '/')
		return -EINVAL;
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	ret = kern_path(cwd, LOOKUP_NO_SYMLINKS | LOOKUP_DIRECTORY, p);
	if (ret) {
		kfree(p);
		return ret;
	}
	ret = path_permission(p, MAY_EXEC | MAY_CHDIR);
	if (ret) {
		path_put(p);
		kfree(p);
		return ret;
	}
	img->cwd = p;
	return 0;
}

/* chdir(): set_fs_pwd() is not exported, this is its body. */
void rst_cwd_commit(struct rst_image *img)
{
	struct fs_struct *fs = current->fs;
	struct path old;

	if (!img->cwd)
		return;
	spin_lock(&fs->lock);
	write_seqcount_begin(&fs->seq);
	old = fs->pwd;
	fs->pwd = *img->cwd; /* the reference taken by the lookup moves here */
	write_seqcount_end(&fs->seq);
	spin_unlock(&fs->lock);
	path_put(&old);
	kfree(img->cwd);
	img->cwd = NULL;
}

void rst_cwd_unplan(struct rst_image *img)
{
	if (!img->cwd)
		return;
	path_put(img->cwd);
	kfree(img->cwd);
	img->cwd = NULL;
}
