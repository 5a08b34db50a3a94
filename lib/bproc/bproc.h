/*
 * lib/bproc internals: the node list (nodes.c) and the move (move.c).
 */
#ifndef VXCR_BPROC_BPROC_H
#define VXCR_BPROC_BPROC_H

#include <stdio.h>
#include <stddef.h>

#define BPROC_ADDR_LEN 128
#define BPROC_NAME_LEN 64

struct bproc_node {
	int num;
	char addr[BPROC_ADDR_LEN]; /* HOST:PORT */
	char key[BPROC_NAME_LEN];  /* the node's key name ("" : any trusted) */
};

struct bproc_nodes {
	struct bproc_node *v;
	size_t n;
};

/* The list in f (named path in errors): 0, or -EINVAL naming the line. */
int bproc_nodes_parse(FILE *f, const char *path, struct bproc_nodes *out);
/* From file, or where vxcr/bproc.h says (file NULL).  0 or -errno. */
int bproc_nodes_load(const char *file, struct bproc_nodes *out);
void bproc_nodes_free(struct bproc_nodes *l);
const struct bproc_node *bproc_node_find(const struct bproc_nodes *l, int num);

#include <sys/types.h>

/*
 * The move of the caller to node (argv: of the program, stopped just after
 * its exec, instead: vx_execmove).  moved(arg, its pid there) runs in the
 * original once the node runs the copy, before the original becomes the
 * ghost.  0 on the node; -errno with the caller as before; never returns
 * in the original moved.  extra_fd: a fd of the caller's left out of its
 * image (-1: none).
 */
int bproc_move(int node, int extra_fd, char *const argv[], char *const envp[],
	       void (*moved)(void *arg, pid_t node_pid), void *arg);
/* bproc_move's moved() of a child: a success report (util/report.h) on
 * the fd *(int *)arg. */
void bproc_moved_report(void *arg, pid_t node_pid);

/* The original, moved: its fds go, the ghost program comes (or, if it
 * cannot be run, the ghost's loop here); fd its socket to the relay. */
void bproc_become_ghost(int fd, int node, pid_t node_pid) __attribute__((noreturn));
/* vx_currnode()'s answer. */
extern int bproc_currnode;

/* Our key pair and the trusted keys of $VXCR_KEYS (or /etc/vxcr/migrate). */
struct vxcr_key;
struct vxcr_keyring;
int bproc_keys_load(struct vxcr_key **key, struct vxcr_keyring **kr);

/* A TCP connection to HOST:PORT within timeout_ms: the fd or -errno. */
int bproc_connect(const char *addr, int timeout_ms);

#endif
