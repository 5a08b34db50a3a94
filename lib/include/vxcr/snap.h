/*
 * Snapshot testing (vxcr snap take | run): one image of a warmed-up
 * process, restored as many fresh copies, each in its own PID namespace.
 *
 * The ready channel (docs/snap.md): `vxcr snap take` starts the program
 * with VXCR_SNAP_FD=R,W in its environment (two decimal fd numbers above
 * 2: R a pipe it reads, W a pipe it writes).  When its state is warm the
 * program writes the one byte 'R' to W, then reads from R a message: a
 * 4-byte little-endian length L (at most VXCR_SNAP_ARGS_MAX) and L bytes,
 * its arguments, each ended by a NUL byte.  It then closes R and W.  The
 * image is taken after the 'R' and before the message, so in each copy the
 * read returns that copy's arguments (`vxcr snap run NAME -- ARGS`).  A
 * program in any language can speak it with read/write; C and C++ call
 * vxcr_snap_ready().
 *
 * Compatibility: the store layout and the protocol carry version 1; a
 * change of either bumps it, and a newer version is refused.
 */
#ifndef VXCR_SNAP_H
#define VXCR_SNAP_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VXCR_SNAP_ENV "VXCR_SNAP_FD"
#define VXCR_SNAP_READY 'R'
#define VXCR_SNAP_READY_SERVE 'S' /* ready, and a fork server for snap serve */
#define VXCR_SNAP_ARGS_MAX (1U << 20)
#define VXCR_SNAP_NAME_MAX 128

/*
 * The program's side of the ready channel: says it is ready and waits for
 * its arguments.  Returns 0 with *argc and *argv (NULL-terminated, one
 * allocation: free(*argv)) set; not under `vxcr snap` (no VXCR_SNAP_FD):
 * 0 with no arguments at once.  -errno on a broken channel or message
 * (-EBADMSG), the channel closed either way and VXCR_SNAP_FD unset.
 */
int vxcr_snap_ready(int *argc, char ***argv);

/*
 * A snapshot store: dir, else $VXCR_SNAP_DIR, else /var/lib/vxcr/snap for
 * root and $XDG_DATA_HOME/vxcr/snap (~/.local/share/vxcr/snap) for others.
 * Writes the store's path to buf (len bytes).  0 or -errno.
 */
int vxcr_snap_store(const char *dir, char *buf, size_t len);
/* 0 if name can name a snapshot (1-128 bytes of [A-Za-z0-9._+-], not
 * starting with '.'), else -EINVAL with the reason as the error. */
int vxcr_snap_name_check(const char *name);

/* vxcr_snap_take(): how the program is given and handled. */
struct vxcr_snap_take_opts {
	char *const *argv; /* start this program (NULL: take pid) */
	pid_t pid;	   /* a running process, blocked in its ready call */
	int leave_running; /* keep it running after the dump (argv: it gets no
			    * arguments and runs to its end; we wait for it) */
	int serve;	   /* pid: it waits in vxcr_snap_ready() (snap serve can
			    * fork it); a program we start says so itself */
};

/*
 * Takes snapshot name into store (vxcr_snap_store()): starts argv with the
 * channel, waits for its ready byte (its output passed to our stdout and
 * stderr meanwhile), dumps it and stores the image atomically (an older
 * snapshot of that name is replaced only once the new one is complete).
 * *status: the program's wait status if it ended before it was ready
 * (then -ECHILD and nothing stored), else 0.  0 or -errno.
 */
int vxcr_snap_take(const char *store, const char *name, const struct vxcr_snap_take_opts *o,
		   int *status);

/* A stored snapshot opened for restores. */
struct vxcr_snap_image {
	int fd;	     /* the image, trusted (vxcr_open_trusted()) */
	int chan[2]; /* its channel's fds: R, W */
	int serve;   /* taken from vxcr_snap_ready(): snap serve can fork it */
};

/* Opens snapshot name of store.  0 or -errno (-ENOENT: no such one). */
int vxcr_snap_image_open(const char *store, const char *name, struct vxcr_snap_image *si);
void vxcr_snap_image_close(struct vxcr_snap_image *si);

/*
 * Restores one fresh copy of si in a new PID namespace (its pid is the
 * image's there), with our fds 0-2 as its stdio and argv (NULL: none)
 * delivered through its channel.  *pid: the copy as we see it; *waitpid:
 * our child to wait for, which exits with the copy's status.  0 or -errno.
 * Borrows our fds si->chan[] for the time of the call (whatever is there
 * is moved aside and put back): not with other threads opening fds.
 */
int vxcr_snap_copy(const struct vxcr_snap_image *si, char *const *argv, pid_t *pid, pid_t *waiter);

/*
 * vxcr snap serve: keeps one restored copy of a snapshot taken from
 * vxcr_snap_ready() (the template) and makes every copy by forking it:
 * memory shared copy-on-write, each copy in its own PID namespace with the
 * image's pid, the client's fds 0-2 and arguments.  Serves requests on a
 * unix socket (SOCK_SEQPACKET) at path until stop_fd is readable (a
 * signalfd; -1: never), then kills every copy and removes path.  A client
 * that disconnects has its copies killed; if the server dies, the template
 * kills every copy.  0 or -errno.
 */
int vxcr_snap_serve(const char *store, const char *name, const char *path, int stop_fd);

/* A connection to snap serve. */
struct vxcr_snap;
/* Connects to the server at path.  0 or -errno. */
int vxcr_snap_open(const char *path, struct vxcr_snap **out);
/*
 * A fresh copy: argv (NULL: none) as the result of its ready call, fds
 * (NULL: ours 0-2) as its stdin, stdout, stderr.  *pid: its pid here;
 * pidfd (NULL: not wanted) receives a pidfd of it.  0 or -errno.
 */
int vxcr_snap_spawn(struct vxcr_snap *s, char *const *argv, const int fds[3], pid_t *pid,
		    int *pidfd);
/* Waits for copy pid to end: *status as waitpid's.  0 or -errno. */
int vxcr_snap_wait(struct vxcr_snap *s, pid_t pid, int *status);
/* Closes the connection; the server kills the copies not waited for. */
void vxcr_snap_close(struct vxcr_snap *s);

#ifdef __cplusplus
}
#endif

#endif
