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

#endif
