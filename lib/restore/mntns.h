/*
 * The tree's mount namespace at restore: mntns.c (plan, checks),
 * mntns-build.c (the namespace), mntns-tmpfs.c (tmpfs files).
 */
#ifndef VXCR_RESTORE_MNTNS_H
#define VXCR_RESTORE_MNTNS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "mounts.pb-c.h"
#include "files.pb-c.h"

#define MNTNS_RST_TMPFS_MAX (64ull << 20) /* bytes of one file, as the dump's limit */
#define MNTNS_RST_MOUNTS_MAX 4096u
#define MNTNS_RST_NODES_MAX 100000u
#define MNTNS_RST_DIRS_MAX 512u /* of one tmpfs, its root included: an fd each while filled */

struct rst_image;

bool mntns_clean_path(const char *p, bool sub);
bool mntns_fresh_type(const char *t);
bool mntns_super_ok(const char *type, const char *super);
bool mntns_opts_ok(const char *opts);
ssize_t mntns_mount_idx(const MountsEntry *ms, uint32_t id);
const MountEntry *mntns_mount(const MountsEntry *ms, uint32_t id);
ssize_t mntns_node_idx(const MountsEntry *ms, uint32_t id);
const TmpfsNode *mntns_node(const MountsEntry *ms, uint32_t id);

/* mntns-tmpfs.c: the files of tmpfs mount e into mfd (a detached mount of
 * it, nothing else reaches it; merge: a context's own tmpfs, which may hold
 * nodes already, left as they are).  0 or -errno (logged). */
int mntns_tmpfs_fill(const struct rst_image *img, const MountEntry *e, int mfd, bool merge);

/* mntns-files.c: files held on an own tmpfs (file_entry tmpfs_node) */
#define MNTNS_FILES_DEPTH 128 /* directories above a held file's node */
struct stat;
/* Restore made image mount id (a tmpfs) as device dev, mount mnt_id in the
 * tree's namespace; kept for this process and the ones it forks.  0 or -ENOMEM. */
int mntns_files_made(const MountsEntry *ms, uint32_t id, dev_t dev, uint64_t mnt_id);
/* Forgets every made mount (a restore starts; the library may run several). */
void mntns_files_reset(void);
/* Every tmpfs_node record against the image: 0 or -EBADMSG (logged). */
int mntns_files_check_image(const struct rst_image *img);
/* h (st) opened at fe->path is fe's node as restored: on its made mount,
 * its type and size.  0 or -EPERM/-ESTALE (logged). */
int mntns_files_check(const FileEntry *fe, int h, const struct stat *st);

#endif
