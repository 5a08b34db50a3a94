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

/* Our key pair and the trusted keys of $VXCR_KEYS (or /etc/vxcr/migrate). */
struct vxcr_key;
struct vxcr_keyring;
int bproc_keys_load(struct vxcr_key **key, struct vxcr_keyring **kr);

/* A TCP connection to HOST:PORT within timeout_ms: the fd or -errno. */
int bproc_connect(const char *addr, int timeout_ms);

#endif
