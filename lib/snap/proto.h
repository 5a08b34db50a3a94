/*
 * The messages of snap serve (SOCK_SEQPACKET, one message a packet): a
 * client's request (args, and its fds 0-2 with SCM_RIGHTS) to the server,
 * which passes it to the template (the restored program's fork server,
 * forksrv.c) and passes the answers back: SPAWNED (a pidfd with
 * SCM_RIGHTS, or an error) and later EXITED (a wait status).
 */
#ifndef VXCR_SNAP_PROTO_H
#define VXCR_SNAP_PROTO_H

#include <stdint.h>
#include <sys/types.h>

#define SNAP_MSG_SPAWN 1   /* client -> server -> template: args, fds 0-2 */
#define SNAP_MSG_SPAWNED 2 /* back: val 0 (pidfd attached) or -errno */
#define SNAP_MSG_EXITED 3  /* back: val the copy's wait status */
#define SNAP_MSG_SERVING 4 /* template -> server, first: val 0, or -errno and why */
#define SNAP_MSG_REAP 5	   /* server -> template: EXITED id read, reap the copy */

#define SNAP_SERVE_ARGS_MAX (60U << 10) /* bytes of arguments of one request */
#define SNAP_SERVE_MAGIC 0xffffffffU	/* the length word that starts a fork server */

struct snap_msg {
	uint32_t type;
	uint32_t id;  /* the request's, chosen by its sender */
	int32_t val;  /* SPAWNED: 0 or -errno; EXITED: wait status */
	int32_t pid;  /* the copy: in the receiver's PID namespace where known */
	uint32_t len; /* bytes of arguments that follow (SPAWN) */
	uint32_t pad;
};

/* Sends m (+ len bytes of data) with n fds attached.  0 or -errno. */
int snap_msg_send(int sk, const struct snap_msg *m, const void *data, const int *fds, int n);
/*
 * Receives one message into m and data (up to SNAP_SERVE_ARGS_MAX bytes),
 * its fds into fds (up to 3, *n set; others closed).  0, -EPIPE at the
 * end, -EBADMSG for a malformed one, or -errno.
 */
int snap_msg_recv(int sk, struct snap_msg *m, char *data, int *fds, int *n);

/* The fork server of the template (forksrv.c): returns in each copy with
 * its arguments (0), never in the template, which exits when sk closes. */
int snap_fork_server(int sk_r, int sk_w, int *argc, char ***argv);

#endif
