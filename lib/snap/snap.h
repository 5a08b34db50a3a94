/* lib/snap's own interfaces: the store (store.c) for take.c and copy.c. */
#ifndef VXCR_SNAP_INT_H
#define VXCR_SNAP_INT_H

#include <limits.h>
#include "vxcr/snap.h"

#define SNAP_VERSION 1
#define SNAP_IMAGE "image" /* a snapshot directory's image file */
#define SNAP_META "snap"   /* its description: version, channel fds */

/* A snapshot being written: a temporary directory beside its final name. */
struct snap_new {
	int dirfd; /* the store */
	char name[VXCR_SNAP_NAME_MAX + 1];
	char tmp[VXCR_SNAP_NAME_MAX + 32]; /* the temporary directory's name */
	int tmpfd;
};

/* Parses "R,W" (VXCR_SNAP_FD: two decimal fds above 2).  0 or -EINVAL. */
int snap_parse_chan(const char *s, int fds[2]);

/* The arguments in buf (len bytes, each ended by a NUL) as one allocation
 * (ready.c).  0, -EBADMSG or -ENOMEM. */
int snap_split_args(const char *buf, size_t len, int *argc, char ***argv);

/*
 * Restores a copy of si in a new PID namespace with r and w (ours, taken)
 * on its channel's fds.  *pid the copy, *waiter our child that exits with
 * its status (copy.c).  0 or -errno.
 */
int snap_restore_chan(const struct vxcr_snap_image *si, int r, int w, pid_t *pid, pid_t *waiter);

/* Makes the store (0700 where missing) and a temporary directory in it.
 * 0 or -errno (sn->tmpfd -1). */
int snap_new_begin(struct snap_new *sn, const char *store, const char *name);
/* Writes the description (channel fds), syncs, and renames the temporary
 * directory to the snapshot's name (replacing an older one).  0/-errno. */
int snap_new_commit(struct snap_new *sn, const int chan[2], int serve);
/* Removes what is left of the temporary directory; closes. */
void snap_new_abort(struct snap_new *sn);

#endif
