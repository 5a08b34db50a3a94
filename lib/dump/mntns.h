/*
 * The tree's mount namespace (record MOUNTS, TMPFS_DATA): lib/dump/mntns.c
 * classifies the mounts, lib/dump/mntns-tmpfs.c reads tmpfs contents.
 */
#ifndef VXCR_DUMP_MNTNS_H
#define VXCR_DUMP_MNTNS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "mounts.pb-c.h"

/* Bytes of file data one tmpfs mount may hold in an image. */
#define MNTNS_TMPFS_MAX (64ull << 20)
/* Directories of one tmpfs mount: restore holds an fd of each while it
 * fills the mount (lib/restore/mntns.h MNTNS_RST_DIRS_MAX, the same). */
#define MNTNS_TMPFS_DIRS 512u
/* Nodes (files, dirs, ...) of all tmpfs mounts of one image. */
#define MNTNS_NODES_MAX 100000u

struct img_writer;

struct dump_mntns {
	MountsEntry e;
	size_t cap_mounts, cap_nodes;
	int *clone_fds;	    /* per mount: a detached clone of it (open_tree), or -1 */
	char **node_rel;    /* per node: its path below its mount's root ("." for the root) */
	int *node_mfd;	    /* per node: the clone fd of its mount */
	uint64_t *node_ino; /* per node: its inode (hard links) */
	uint32_t next_id;   /* last node id handed out */
	bool ctx;	    /* a context's (--root): only its own tmpfs are data */
};

/* mntns-tmpfs.c */
/* The files of tmpfs mount me (clone fd mfd) into m->e.nodes; 0 or -errno
 * (a refusal -EOPNOTSUPP logged naming the mount). */
int mntns_tmpfs_collect(struct dump_mntns *m, const MountEntry *me, int mfd);
/* The TMPFS_DATA records of every regular file with bytes.  0 or -errno. */
int mntns_tmpfs_write(struct dump_mntns *m, struct img_writer *w);
void mntns_tmpfs_free(struct dump_mntns *m);

#endif
