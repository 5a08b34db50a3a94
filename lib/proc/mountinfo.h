/*
 * /proc/PID/mountinfo, parsed strictly (lib/proc/mountinfo.c): the text is
 * hostile (a mount point is any name a process of the tree chose), so a
 * line that is not exactly the kernel's format is an error, not skipped.
 */
#ifndef VXCR_PROC_MOUNTINFO_H
#define VXCR_PROC_MOUNTINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROC_MNT_FIELD_MAX 4096 /* longest root, point, source or option field */

/* One line of mountinfo; strings unescaped (\ooo), malloc'ed. */
struct proc_mount {
	uint32_t id, parent;
	uint32_t major, minor;
	char *root;				 /* path inside the filesystem, "/..." */
	char *point;				 /* mount point, "/..." */
	char *opts;				 /* per-mount options: "rw,nosuid,relatime" */
	char *fstype;				 /* "tmpfs", "fuse.sshfs" */
	char *source;				 /* "tmpfs", "/dev/vda", "none" */
	char *super;				 /* superblock options: "rw,size=1024k" */
	uint32_t shared, master, propagate_from; /* peer groups, 0: none */
	bool unbindable;
};

struct proc_mount_list {
	struct proc_mount *v;
	size_t n;
};

/* Parses the whole text; 0, -EINVAL (a bad line, logged with its number)
 * or -ENOMEM.  On error l is empty. */
int proc_parse_mountinfo(const char *text, struct proc_mount_list *l);
/* /proc/PID/mountinfo (pid 0: ours), parsed.  0 or -errno. */
int proc_read_mountinfo(pid_t pid, struct proc_mount_list *l);
void proc_mount_list_free(struct proc_mount_list *l);
/* The mount with id, or NULL. */
const struct proc_mount *proc_mount_by_id(const struct proc_mount_list *l, uint32_t id);
/* Is s a namespace's name as nsfs shows it in the root field
 * ("net:[4026532174]": a namespace bound to a file, as ip netns does)? */
bool proc_mount_nsfs_name(const char *s);
/* Is word (a whole comma-separated item) in opts? */
bool proc_mount_has_opt(const char *opts, const char *word);

#endif
