/*
 * BProc's process moves on vxcr: a process moves itself to another node,
 * forks children straight onto nodes, or execs a program there.  Nodes
 * are hosts running `vxcr serve` (the live-migration destination); the
 * origin (BProc's master) keeps each moved process's pid with a ghost, so
 * its parent's wait() and kill() work across nodes.
 *
 * The node list: a file, one node a line: NUMBER HOST:PORT [KEYNAME]
 * ('#' starts a comment).  NUMBER is 0..4095, each once; KEYNAME, if
 * given, must be the name the node's key has in our trusted keys.  Where:
 * $VXCR_NODES, else /etc/vxcr/nodes (root) or $XDG_CONFIG_HOME/vxcr/nodes
 * ($HOME/.config/vxcr/nodes).  Our key pair and the nodes' public keys:
 * $VXCR_KEYS (default /etc/vxcr/migrate), as `vxcr migrate --keys`.
 *
 * Errors: -1 with errno set (or -errno in an array); vxcr_last_error()
 * (vxcr.h) then holds the one-line reason.  The caller of a move must be
 * single-threaded.  docs/bproc.3.scd.
 *
 * Link with -lvxcr (pkg-config vxcr).
 */
#ifndef VXCR_BPROC_H
#define VXCR_BPROC_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BPROC_NODE_MASTER (-1) /* the origin */
#define BPROC_NODE_NONE (-2)
#define VX_NODES_MAX 4096

/*
 * The caller moves to node.  Returns 0 on the node (as vmad_dump returns
 * in a restored copy); in the original it never returns: the original
 * becomes the ghost (same pid, same parent; its memory and fds gone),
 * which forwards the signals it gets to the moved process and exits with
 * its status.  -1 with errno, and the caller as before, if the move
 * failed (ENOENT: no such node; EHOSTUNREACH, ECONNREFUSED: node down;
 * EACCES: its key untrusted; ECONNABORTED: it refused the restore).
 * EHOSTDOWN: the link was cut between the node's commit and its answer:
 * the process may run there; the original is a ghost that dies by SIGKILL.
 */
int vx_move(int node);

/*
 * Forks a child straight onto node: the parent gets the child's pid (its
 * ghost's, here), the child 0 on the node.  A failed move leaves no child
 * anywhere (reaped): -1 with errno.
 */
pid_t vx_rfork(int node);

/*
 * n children, child i forked straight onto nodes[i] (a node may be given
 * more than once).  In child i, on its node: returns i, its rank.  In the
 * parent: n, with pids[i] child i's pid (its ghost's) or -errno if it
 * could not be made there (nothing of it is left); -1 with errno if no
 * child was made.  One dump: a template child is dumped once and its image
 * sent to every node; each node writes the copy's rank into it before it
 * runs on (the copies are the same image), and the copy waits for it.
 */
int vx_vrfork(const int *nodes, int n, pid_t *pids);

/*
 * Execs argv (envp: NULL for environ) and moves the program to node
 * before its first instruction (vmad_execdump's way), for programs that
 * know nothing of vxcr; an envp entry BPROC_RANK=XXXXXXX becomes
 * BPROC_RANK=0.  The caller becomes the program's ghost: on success it
 * never returns.  -1 with errno and the caller as before on failure
 * (ENOENT: no such node or program...).
 */
int vx_execmove(int node, char *const argv[], char *const envp[]);

/*
 * n children, child i execs argv on nodes[i] as vx_execmove does, with
 * BPROC_RANK=XXXXXXX in envp replaced by BPROC_RANK=i.  Returns the
 * number of children made (pids[i] a pid, or -errno for a failed one,
 * gone), or -1 with errno if none was made.
 */
int vx_vexecmove(const int *nodes, int n, char *const argv[], char *const envp[], pid_t *pids);

/*
 * The node this process runs on: BPROC_NODE_MASTER on the origin, the
 * node's number in a process moved there (set by the move).
 */
int vx_currnode(void);

/* A node as `vxcr nodes` shows it. */
struct vx_node_status {
	int node;
	char addr[128];	     /* HOST:PORT */
	int up;		     /* answered a status request over the authenticated channel */
	int err;	     /* down: the -errno */
	char why[160];	     /* down: the one-line reason */
	unsigned load_milli; /* its 1-minute load average, times 1000 */
	unsigned moved;	     /* processes moved there running now */
	unsigned ncpu;
};
/*
 * Asks every node of the list (file, or where the top says: NULL) for its
 * status.  *out (free() it) gets *n entries in the list's order.  0, or
 * -1 with errno (the list itself is bad or missing).
 */
int vx_nodes_status(const char *file, struct vx_node_status **out, size_t *n);

/* A process moved from here, as `vxcr ps --nodes` shows it. */
struct vx_moved {
	pid_t pid;	/* here: its ghost's */
	int node;	/* where it runs */
	pid_t node_pid; /* its pid there */
	char comm[17];
};
/* The moved processes whose ghosts run here (read from /proc: what each
 * ghost's command line says).  *out (free() it), *n.  0 or -1 with errno. */
int vx_moved_list(struct vx_moved **out, size_t *n);

/*
 * The ghost's loop (`vxcr ghost`, what a moved process's original execs):
 * fd is its socket to the relay.  Never returns.
 */
void vx_ghost_run(int fd, const char *comm) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif

#endif
