/*
 * BProc moves over the migration channel (proto.h, MIG_F_MOVE): the
 * origin's side (move-src.c) and the node's (move-dst.c).  NOTES "BProc
 * moves (issue 18)".
 */
#ifndef VXCR_MIG_MOVE_H
#define VXCR_MIG_MOVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct chan;
struct vxcr_key;
struct vxcr_keyring;

struct mig_move_opts {
	const struct vxcr_key *key;	    /* ours */
	const struct vxcr_keyring *trusted; /* the nodes we accept */
	const char *peer_name;		    /* the node's key name (NULL: any trusted) */
	const int *skip_fds;		    /* fds of the process left out */
	size_t n_skip_fds;
	unsigned int file_contents; /* VMAD_DUMP_* */
	bool stopped;		    /* stopped by us (vx_execmove): recorded as running */
	int timeout_ms;
};

/*
 * Moves pid (one process, which waits for our word in library code: the
 * dump leaves it running) over sock (owned).  0 once the node runs it:
 * *chp the channel, open for mig_move_relay(), *node_pid its pid there.
 * -errno: it does not run there (FAILED sent), the process is as before;
 * -EHOSTDOWN: COMMIT went out but the node's DONE did not come back (it
 * may run there: the process must not run on here).
 */
int mig_move_out(pid_t pid, int sock, const struct mig_move_opts *o, struct chan **chp,
		 pid_t *node_pid);
/*
 * The origin's relay of a moved process: 4-byte signal numbers read from
 * ghost_fd go out as SIGNAL (its end closed: SIGKILL), the node's EXIT
 * status is written to ghost_fd as 4 bytes.  0, or -errno: the link failed
 * (a status of SIGKILL is written).  Frees c.
 */
int mig_move_relay(struct chan *c, int ghost_fd);

/* One node of mig_move_out_n(). */
struct mig_move_dest {
	int sock;	       /* in: connected (owned), unless err */
	int err;	       /* in: the connection's failure; out: this node's, or 0 */
	const char *peer_name; /* the node's key name (NULL: any trusted) */
	uint64_t rank_addr;    /* RANK: where in the process (0: none) */
	uint64_t rank_value;
	struct chan *c; /* out: open for the relay once it runs there */
	pid_t node_pid;
	char why[160]; /* out: err's one line */
};
/*
 * vx_vrfork: pid dumped once (into memory), the image sent to every node
 * of d (in order, each with its RANK), the restores waited for, then
 * COMMIT and DONE node by node.  Returns how many run it; each d[i] says.
 * A node failed after its COMMIT: -EHOSTDOWN (it may run there).
 */
int mig_move_out_n(pid_t pid, struct mig_move_dest *d, size_t n, const struct mig_move_opts *o);
/* mig_move_relay for n processes at once (c[i] NULL: none). */
int mig_move_relay_n(struct chan **c, const int *ghost_fd, size_t n);

/* A status request over sock (owned): 0 with *st, or -errno. */
struct mig_status;
int mig_status_ask(int sock, const struct mig_move_opts *o, struct mig_status *st);

/* The node: relays for the moved process pid until it ends (*status: its
 * wait status; reaped); the origin gone kills it.  0 or -errno. */
int mig_move_watch(struct chan *c, pid_t pid, int *status);
/* The node: writes a RANK's word into the moved process pid: 0 or -errno. */
struct mig_rank;
int mig_move_put_rank(pid_t pid, const struct mig_rank *r);
/* The node: answers a status request. */
int mig_status_answer(struct chan *c, uint32_t moved);

#endif
