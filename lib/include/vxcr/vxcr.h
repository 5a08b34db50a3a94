/*
 * libvxcr public API.  Every function returns 0 (or a count) on success and
 * a negative errno on failure; the library never exits and never prints
 * except through the log function set with vxcr_set_log().
 */
#ifndef VXCR_VXCR_H
#define VXCR_VXCR_H

#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VXCR_VERSION "0.1.0"

enum vxcr_log_level { VXCR_LOG_ERR = 0, VXCR_LOG_WARN, VXCR_LOG_INFO, VXCR_LOG_DEBUG };

/* Logs are for tracing: msg says side and module ("dump/files: ...").  An
 * error's line is logged too (and again when a caller adds context); what
 * failed is vxcr_error(), not the last line logged. */
typedef void (*vxcr_log_fn)(enum vxcr_log_level lvl, const char *msg, void *arg);
void vxcr_set_log(vxcr_log_fn fn, void *arg);
void vxcr_set_log_level(enum vxcr_log_level lvl);
/*
 * Errors are values.  Each call of this API is one operation with one
 * error: the first failure, set where it is known (by the calling thread,
 * a worker thread of the operation or a process it forked), naming the
 * object and the reason; a vaguer message logged on the way back up never
 * replaces it.  Only the caller turns it into text.
 */
struct vxcr_error {
	int code;      /* 0, or the negative errno the call returned */
	char msg[256]; /* one line, no newline, no module prefix ("" if none) */
};
/* The error of this thread's last call that failed ("" and 0 after a call
 * that succeeded). */
const struct vxcr_error *vxcr_error(void);
/* vxcr_error()->msg. */
const char *vxcr_last_error(void);
/* Test hook for the tools: true if $VXCR_TEST_SKIP names step (a step the
 * caller leaves out, to test the path taken without a kernel feature).
 * Only the test build of the library has hooks; the shipped one answers
 * false. */
bool vxcr_test_skip(const char *step);

/*
 * Signed images (Ed25519, libsodium).  A key pair is NAME.key (secret,
 * 0600) and NAME.pub; a trusted-keys directory holds NAME.pub files.
 */
struct vxcr_key;
struct vxcr_keyring;
struct vxcr_dump_mig;
struct vxcr_pstore;
struct vxcr_lazy;
#define VXCR_PEER_NAME_LEN 64
/* Makes NAME.key and NAME.pub in dirfd (never replacing a file); id_hex
 * (17 bytes) receives the key id. */
int vxcr_key_new(int dirfd, const char *name, char *id_hex);
/* Loads a secret key file: ours, a regular file nobody else can read. */
int vxcr_key_load(const char *path, struct vxcr_key **out);
void vxcr_key_free(struct vxcr_key *k);
/* Loads every NAME.pub of dir, which must be trusted (vxcr_open_trusted). */
int vxcr_keyring_load(const char *dir, struct vxcr_keyring **out);
void vxcr_keyring_free(struct vxcr_keyring *kr);

/*
 * Opens path with flags (plus O_NOFOLLOW, O_CLOEXEC) only if nobody but root
 * or the caller can have written or replaced it: the file and every
 * directory from / down owned by root or the caller and not writable by
 * group or others (directories above it may be sticky, like /tmp), no
 * symlink anywhere.  Returns the fd or -errno after one line naming what
 * and path, ending in "refusing (hint)".
 */
int vxcr_open_trusted(const char *path, int flags, const char *what, const char *hint);

/*
 * Reading an image (vxcr img): the image on fd, read as a stream, printed
 * to out as text (one line per record), as one JSON document, as the
 * result of checking every record, checksum and the trailer, or as bytes
 * and records per record kind.  With kr, the image must carry a valid
 * signature by one of its keys.  Returns 0 or -errno; vxcr_last_error()
 * says what is wrong with the image.
 */
enum vxcr_img_view { VXCR_IMG_SHOW, VXCR_IMG_JSON, VXCR_IMG_VERIFY, VXCR_IMG_SIZE };
int vxcr_img_print(int fd, enum vxcr_img_view view, const struct vxcr_keyring *kr, FILE *out);

struct vxcr_dump_opts {
	bool leave_running; /* default: kill the target once the image is complete */
	bool compress;	    /* zstd, default on */
	int zstd_level;	    /* 0 = default (fast) */
	int zstd_threads;   /* 0 = automatic */
	bool fsync;	    /* fsync a regular-file output before the target is killed,
				 * after it is released with leave_running (default true) */
	/* If set, called once the image is complete and synced, at the same
	 * point: puts it in place (vxdump renames its file over -o PATH).
	 * 0 or -errno; on failure the dump fails and the target runs on. */
	int (*commit)(int fd, void *arg);
	void *commit_arg;
	/* If set, called with each object the dump refuses (one line, no
	 * newline), as it is found: a refused dump goes on looking through
	 * the whole tree, then fails with -EOPNOTSUPP and a summary as
	 * vxcr_last_error(); the tree keeps running. */
	void (*refused)(const char *line, void *arg);
	void *refused_arg;
	const struct vxcr_key *sign_key; /* sign the image with it (NULL: unsigned) */
	/* Dump established TCP connections (read under TCP_REPAIR); without
	 * it each one is refused, naming the connection. */
	bool tcp_established;
	/* Leave the network lock of the tree's TCP connections in place after
	 * a successful dump (a table named after the image id), for vxrestore
	 * of the image to remove: peers see no reset meanwhile.  Not with
	 * leave_running. */
	bool keep_net_lock;
	/* An incremental image: pages equal to those of the parent image on
	 * parent_fd (an earlier image of the same tree) are written as
	 * references to it, and the header carries its id.  -1: none. */
	int parent_fd;
	/* An incremental parent's own parents, nearest first (n_ancestors):
	 * with them the pages it takes from them count as its own too. */
	const int *ancestor_fds;
	size_t n_ancestors;
	/* libvxcr's own use (live migration: the image's sink, the pre-copy
	 * tracker); NULL. */
	const struct vxcr_dump_mig *mig;
	/* With leave_running: keep the tree frozen until every page is read,
	 * instead of releasing it once the rest is read and taking its pages
	 * from a copy-on-write snapshot (the default where possible). */
	bool no_cow;
	/* With compress: zstd on every frame (--compress zstd).  Default
	 * (false, zstd_level 0): adaptive, each frame compressed or stored
	 * raw as its sampled bytes and the sink's speed say. */
	bool zstd_every_frame;
	/* The root process alone, not its children (vmad_dump: the caller,
	 * as BProc's VMADump and the kernel module take it). */
	bool root_only;
	/* fds of the root left out of the image (vmad_dump: the image's own
	 * fd and the helper's pipes); n_skip_fds of them. */
	const int *skip_fds;
	size_t n_skip_fds;
	/* VMAD_DUMP_* (vxcr/vserver-abi.h): private file areas of these
	 * classes are stored with their contents, as anonymous memory, so
	 * the restore needs no file (EXEC: the exe's, whose link is then not
	 * recorded; LIBS: files mapped executable somewhere; OTHER: the
	 * rest).  Shared file areas stay references.  Not with a snapshot:
	 * the tree stays frozen until its pages are read (as no_cow). */
	unsigned int file_contents;
	/* Files that stay references whatever file_contents says (the
	 * VMADump library list): absolute paths, n_file_refs of them, matched
	 * by the identity of the file they name (device and inode). */
	const char *const *file_refs;
	size_t n_file_refs;
	/* The root's job-control stop is the caller's own (vmad_execdump
	 * stops the program with SIGSTOP right after its exec): recorded as
	 * running. */
	bool root_stop_ours;
};

struct vxcr_dump_stats {
	uint64_t frozen_ns; /* from seize to release/kill */
	uint64_t total_ns;
	uint64_t pages_scanned;
	uint64_t pages_written;
	uint64_t pages_zero;  /* skipped: present but all zero */
	uint64_t image_bytes; /* bytes written to fd */
	uint64_t tasks;	      /* processes in the image (zombies included) */
	uint64_t threads;     /* threads of the live processes */
	uint8_t image_id[16]; /* the image header's id (all zero if none was written) */
};

void vxcr_dump_opts_init(struct vxcr_dump_opts *o);
/* Checkpoints the process pid into fd. */
int vxcr_dump(pid_t pid, int fd, const struct vxcr_dump_opts *o, struct vxcr_dump_stats *st);
/* A whole context: the tree of its init with the context's own pids, its
 * flags, caps, limits and uname (rundir NULL: $VXCR_RUNDIR or /run/vxcr).
 * A paused (SCHED_PAUSE) context stays paused, also if the caller dies
 * during the call: a helper process traces the calling thread meanwhile,
 * which has SIGCHLD blocked until the call returns. */
int vxcr_dump_ctx(uint32_t xid, const char *rundir, int fd, const struct vxcr_dump_opts *o,
		  struct vxcr_dump_stats *st);

struct vxcr_restore_opts {
	bool detach;	    /* return once it runs, do not wait */
	bool inherit_stdio; /* external pipes/terminals on fds 0-2 use ours (default on) */
	bool pidns;	    /* restore inside a new PID namespace (its pids are free) */
	const char *rundir; /* a context image: where its record goes (NULL: default) */
	/* Accept only an image signed by one of these keys, and refuse the
	 * rest before anything is created (NULL: no signature needed). */
	const struct vxcr_keyring *trusted_keys;
	/* Create the cgroups of the image that are missing below the restored
	 * root's groups (else they must exist); see vxrestore(1). */
	bool manage_cgroups;
	/* Restore in a new network namespace: the image's own (a NETNS
	 * record) anyway; else one with only its loopback, up. */
	bool netns;
	/* If set, called once the whole tree is restored, before any of it
	 * runs or its sockets leave repair mode: 0 lets it run; an error
	 * undoes the restore (nothing is left) and the call fails with it.
	 * It may run in another process of the restore (a context's
	 * supervisor, a pid namespace's init): talk through an fd. */
	int (*commit)(void *arg);
	void *commit_arg;
	/* The parent images of an incremental image, nearest first (the
	 * image's parent, its parent's, ...), n_parents of them. */
	const int *parent_fds;
	size_t n_parents;
	/* libvxcr's own use (live migration: the pages copied before the
	 * freeze); NULL. */
	const struct vxcr_pstore *pages;
	/* libvxcr's own use (post-copy migration: who takes the processes'
	 * userfaultfds for IMG_PAGES_LAZY ranges, restore/lazy.h); NULL. */
	const struct vxcr_lazy *lazy;
	/* fds above 2 of the root process that take the caller's fd of the
	 * same number whatever the image holds there (its description is not
	 * reopened), as inherit_stdio does for 0-2: a channel to the caller
	 * (vxcr snap's ready channel, vxcr/snap.h).  n_inherit_fds of them,
	 * at most 16; a listed fd the caller has not open is restored from
	 * the image as usual. */
	const int *inherit_fds;
	size_t n_inherit_fds;
};

struct vxcr_restore_stats {
	uint64_t total_ns;
	uint64_t pages_restored;
	pid_t ns_init;	  /* --pidns: the namespace's init, the caller's child */
	uint32_t ctx_xid; /* a context image: the restored context, else 0 */
	pid_t job_pgrp;	  /* the tree's group made the foreground one of our
			   * controlling terminal (its ctty was outside it), 0 */
};

void vxcr_restore_opts_init(struct vxcr_restore_opts *o);
/* Restores the image read from fd.  On success *pid is the restored process,
 * a child of the caller, running; with o->pidns it is the root's pid as we
 * see it, a child of st->ns_init (the new namespace's init, our child, which
 * exits with the root's status once the namespace is empty). */
int vxcr_restore(int fd, const struct vxcr_restore_opts *o, pid_t *pid,
		 struct vxcr_restore_stats *st);

/*
 * The kernel module's checkpoint and restart of one process (vxcr.ko's
 * task_dump and vmad_undump), for a user who asks for them (vxdump and
 * vxrestore --kernel).  vxcr_dump() and vxcr_restore() never use them:
 * the module takes one process with fds 0-2, the library trees, files,
 * sockets and namespaces.  Each fails with -ENOTTY and the error "needs the
 * kernel module vxcr.ko (/dev/vserver)" without the module.
 */
/* 0 when the module's device is there (/dev/vserver, or $VXCR_VSERVER_DEV),
 * else -ENOTTY with that reason as vxcr_last_error(). */
int vxcr_kernel_module(void);
/* Where the switch looks for the module's device: $VXCR_VSERVER_DEV, else
 * /dev/vserver; NULL when VXCR_VSERVER_DEV is set empty (the userspace
 * engine serves every call).  Whether it exists is the caller's question;
 * sets no error. */
const char *vxcr_kernel_module_dev(void);
/* Writes the image of process pid to fd: every thread of it must be
 * stopped (ptrace or group stop) and stays so.  flags: VMAD_DUMP_* classes
 * of file-backed areas stored with their contents (vxcr/vserver-abi.h).
 * The bytes written, or -errno (pid untouched). */
long vxcr_task_dump(pid_t pid, int fd, unsigned int flags);
/* Replaces the calling process (one thread, nothing shared) by the image
 * read from fd, as exec does: every fd but 0-2 is closed.  Returns only on
 * error, -errno, the caller as it was (a stream past its first page
 * record: killed instead). */
long vxcr_vmad_undump(int fd, unsigned int flags);
/* Restores a single-process image through vmad_undump: a new child with
 * the image's pid (o->pidns: in a new pid namespace, under st->ns_init as
 * vxcr_restore() does) undumps itself; returns once it is the image's
 * process (*pid), or -errno with nothing left.  The image is read through
 * once first (checksums; a tree, threads or records the module refuses
 * give their reason); a stream is copied into memory, as the module reads
 * a file twice.  With trusted_keys that pass checks the signature, on a
 * copy in memory, which is what the module reads.  Options other than
 * detach, inherit_stdio, pidns and trusted_keys: -ENOTTY. */
int vxcr_kernel_restore(int fd, const struct vxcr_restore_opts *o, pid_t *pid,
			struct vxcr_restore_stats *st);

/*
 * Addresses of peers: HOST[:PORT], [IPv6][:PORT].  Splits arg into host
 * (brackets taken off) and a decimal port 1..65535; without a port,
 * default_port, or -EINVAL when it is 0.  0 or -EINVAL (too long, bad port).
 */
int vxcr_hostport_split(const char *arg, int default_port, char *host, size_t hsize, char *port,
			size_t psize);
/* A TCP connection (close-on-exec, TCP_NODELAY) to arg as above, trying
 * each address of the host within timeout_ms: the fd, or -errno. */
int vxcr_tcp_connect(const char *arg, int default_port, int timeout_ms);

/*
 * Live migration (vxcr migrate / vxcr serve).  The source copies the
 * tree's memory while it runs (rounds of the pages written meanwhile,
 * tracked with userfaultfd write-protect), freezes it, sends the last
 * dirty set and the image over an authenticated, encrypted channel; the
 * destination restores it and says so; only then is the source killed
 * and the destination let run.  Up to that point any failure (a cut link,
 * a killed peer, a failed restore) leaves the source running as before
 * and nothing on the destination.  docs/vxcr.1.scd says what happens in
 * the one message between the two commits.
 */
struct vxcr_migrate_progress {
	unsigned round;	      /* pre-copy round, or the final one */
	bool frozen;	      /* the final round (the tree is frozen) */
	uint64_t bytes_sent;  /* on the wire so far */
	uint64_t round_pages; /* pages sent in this round */
	uint64_t dirty_rate;  /* bytes written per second by the tree, last round */
	uint64_t rate;	      /* bytes per second sent, last round */
	uint64_t elapsed_ns;
};

struct vxcr_migrate_opts {
	struct vxcr_dump_opts dump;	    /* the final dump (leave_running is refused) */
	const struct vxcr_key *key;	    /* our identity (a key pair) */
	const struct vxcr_keyring *trusted; /* the destinations we accept */
	uint32_t xid;			    /* a whole context; 0: the tree of pid */
	const char *rundir;		    /* contexts' records (NULL: default) */
	bool precopy;			    /* default true; false: one frozen copy */
	/* Post-copy (no pre-copy): the destination runs the tree at once and
	 * takes its private pages on fault and in the background while ours
	 * stays frozen; a link cut meanwhile loses the process (vxcr(1)). */
	bool lazy;
	unsigned max_rounds; /* pre-copy rounds at most (default 8) */
	uint64_t stop_bytes; /* freeze once a round has at most this dirty (default 4 MiB) */
	int timeout_ms;	     /* the peer's answer to any step (default 30000) */
	void (*progress)(const struct vxcr_migrate_progress *p, void *arg);
	void *progress_arg;
};

struct vxcr_migrate_stats {
	unsigned rounds;	/* pre-copy rounds, the frozen one not counted */
	uint64_t precopy_bytes; /* page bytes sent while the tree ran */
	uint64_t final_pages;	/* pages sent while it was frozen */
	uint64_t held_pages;	/* pages the image took from the pre-copy */
	uint64_t wire_bytes;	/* everything sent on the channel */
	uint64_t memory_bytes;	/* the tree's pages at the start (round 0) */
	uint64_t frozen_ns;	/* seize to kill */
	uint64_t total_ns;
	uint64_t crypt_ns; /* our side's encryption and decryption */
	pid_t dest_pid;	   /* the root as the destination sees it */
	uint32_t dest_xid; /* a context: its xid there */
	/* lazy: frozen_ns is the dump's start to COMMIT (the tree runs
	 * there); lazy_ns COMMIT to the destination's last page */
	uint64_t lazy_ns;
	uint64_t lazy_pages; /* pages sent after COMMIT (asked for, streamed) */
	uint64_t lazy_faults;
};

void vxcr_migrate_opts_init(struct vxcr_migrate_opts *o);
/*
 * Migrates the tree of pid (or the context o->xid) over sock, a connected
 * stream socket to a `vxcr serve` (owned from the call on: closed).  0
 * once the destination runs it and ours is gone; -errno with the source
 * running as before, or -EHOSTDOWN: the link was cut after the
 * destination confirmed and before it acknowledged (see vxcr(1)).
 */
int vxcr_migrate(pid_t pid, int sock, const struct vxcr_migrate_opts *o,
		 struct vxcr_migrate_stats *st);

struct vxcr_serve_stats;
struct vxcr_serve_opts {
	struct vxcr_restore_opts restore;   /* how a tree is restored (detach is set) */
	const struct vxcr_key *key;	    /* our identity */
	const struct vxcr_keyring *trusted; /* the sources we accept */
	int timeout_ms;			    /* the peer's silence at any step (default 30000) */
	/* BProc moves (vxcr/bproc.h): a counter shared by the serving
	 * processes (in MAP_SHARED memory) of the moved processes running
	 * here, which a status request reports (NULL: 0). */
	uint32_t *moved;
	/* A move: called once the moved process runs, before the call waits
	 * for its end (st: pid and peer set). */
	void (*report)(const struct vxcr_serve_stats *st, void *arg);
	void *report_arg;
};

struct vxcr_serve_stats {
	pid_t pid;		       /* the restored root, running (0 on failure) */
	uint32_t xid;		       /* a context: its xid here */
	char peer[VXCR_PEER_NAME_LEN]; /* the source's key name */
	uint64_t precopy_bytes;
	uint64_t restore_ns;
	uint64_t lazy_ns;      /* post-copy: COMMIT to the last page */
	uint64_t lazy_faults;  /* faults that asked the source */
	uint64_t lazy_pages;   /* pages copied in after COMMIT */
	uint64_t local_ns;     /* pre-copy: COMMIT to the last page from the store */
	uint64_t local_faults; /* pre-copy: faults filled from the store */
	uint64_t local_pages;  /* pre-copy: pages filled from the store after COMMIT */
	uint64_t total_ns;
	bool status_only; /* a status request (vxcr nodes) was answered */
	bool moved;	  /* a move (vx_move): the process ran here and ended */
	int move_status;  /* its wait status */
};

void vxcr_serve_opts_init(struct vxcr_serve_opts *o);
/*
 * Receives one migration on sock, a connected stream socket (owned:
 * closed), restores it and lets it run once the source has let go.  0 or
 * -errno (nothing of it is left here).  A BProc move (vxcr/bproc.h)
 * returns once the moved process has ended here (st->moved).
 */
int vxcr_serve_conn(int sock, const struct vxcr_serve_opts *o, struct vxcr_serve_stats *st);

/*
 * Network locks kept by vxdump --keep-net-lock in the caller's network
 * namespace (nftables tables vxcr_img_ID): fn is called with each image id
 * (hex digits).  0 or -errno.
 */
int vxcr_netlock_list(void (*fn)(const char *id, void *arg), void *arg);
/* Removes the kept lock of image id (1 to 32 hex digits, else -EINVAL);
 * -ENOENT if there is none.  0 or -errno. */
int vxcr_netlock_drop(const char *id);

/* Kernel feature probe (vxcr check). */
struct vxcr_feature {
	const char *name;
	bool required;
	bool present;
	char detail[96];
};
/* Fills up to max entries; returns the number filled. */
int vxcr_check_features(struct vxcr_feature *f, int max);

#ifdef __cplusplus
}
#endif
#endif
