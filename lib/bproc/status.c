/*
 * vx_nodes_status (vxcr/bproc.h): a status request (MIG_F_STATUS) to each
 * node over the authenticated channel, one after the other.
 */
#define LOG_PREFIX "bproc: "
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "error.h"
#include "vxcr/vxcr.h"
#include "vxcr/bproc.h"
#include "mig/proto.h"
#include "mig/move.h"
#include "bproc/bproc.h"

#define STATUS_TIMEOUT_MS 3000

static void ask(const struct bproc_node *nd, const struct vxcr_key *key,
		const struct vxcr_keyring *kr, struct vx_node_status *s)
{
	struct mig_move_opts o = { .key = key, .trusted = kr, .timeout_ms = STATUS_TIMEOUT_MS };
	struct mig_status st;
	int sock, ret;

	o.peer_name = nd->key[0] ? nd->key : NULL;
	err_clear();
	sock = bproc_connect(nd->addr, STATUS_TIMEOUT_MS);
	ret = sock < 0 ? sock : mig_status_ask(sock, &o, &st);
	if (ret) {
		s->err = ret;
		snprintf(s->why, sizeof(s->why), "%.150s",
			 err_current()->msg[0] ? err_current()->msg : strerror(-ret));
		return;
	}
	s->up = 1;
	s->load_milli = st.load_milli;
	s->moved = st.moved;
	s->ncpu = st.ncpu;
}

static int nodes_status(const char *file, struct vx_node_status **out, size_t *n)
{
	struct vxcr_keyring *kr = NULL;
	struct vxcr_key *key = NULL;
	struct bproc_nodes l;
	struct vx_node_status *v;
	int kret, ret;

	*out = NULL;
	*n = 0;
	ret = bproc_nodes_load(file, &l);
	if (ret)
		return ret;
	v = calloc(l.n ? l.n : 1, sizeof(*v));
	if (!v) {
		bproc_nodes_free(&l);
		err_set(-ENOMEM, "nodes: out of memory");
		return -ENOMEM;
	}
	kret = bproc_keys_load(&key, &kr);
	for (size_t i = 0; i < l.n; i++) {
		v[i].node = l.v[i].num;
		snprintf(v[i].addr, sizeof(v[i].addr), "%s", l.v[i].addr);
		if (kret) {
			v[i].err = kret;
			snprintf(v[i].why, sizeof(v[i].why), "our keys: %.140s",
				 err_current()->msg);
			continue;
		}
		ask(&l.v[i], key, kr, &v[i]);
	}
	err_clear();
	vxcr_keyring_free(kr);
	vxcr_key_free(key);
	*out = v;
	*n = l.n;
	bproc_nodes_free(&l);
	return 0;
}

int vx_nodes_status(const char *file, struct vx_node_status **out, size_t *n)
{
	int ret;

	err_op_begin();
	ret = err_op_end(nodes_status(file, out, n));
	if (ret) {
		errno = -ret;
		return -1;
	}
	return 0;
}
