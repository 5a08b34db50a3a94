/*
 * The live-migration protocol: typed messages over the channel
 * (img/chan.h).  NOTES: "Live migration (issue 15)".
 *
 *   source                              destination
 *   HELLO (store id, flags)       ->
 *                                 <-    READY, or FAILED (why)
 *   PAGES / DROP ... ROUND        ->    pre-copy rounds into the store
 *   (freeze) PAGES / DROP         ->    the last dirty set
 *   IMAGE ... IMAGE_END           ->    streamed into the restore
 *                                 <-    RESTORED (whole tree, held)
 *   (kill ours) COMMIT            ->    (let it run)
 *                                 <-    DONE (pid, xid)
 *
 * Post-copy (MIG_F_LAZY, no pre-copy): the image's private areas are
 * IMG_PAGES_LAZY ranges; after COMMIT the source keeps its tree frozen
 * and serves them (lazy-src.c, lazy-dst.c):
 *
 *                                 <-    LAZY_REQ (a fault: key, addr, len)
 *   PAGES (answers first, then    ->    copied in with UFFDIO_COPY
 *   every other page, zero pages
 *   skipped)
 *   LAZY_DONE                     ->    (every page sent)
 *                                 <-    DONE (every page in; uffds closed)
 *   (kill ours)
 *
 * A move (MIG_F_MOVE, vx_move: BProc): no pre-copy, one process; after
 * DONE the channel stays open while it runs on the node (move-dst.c):
 *
 *   SIGNAL (a signal the ghost got) ->    kill()ed into the process
 *                                 <-    EXIT (its wait status), close
 *
 * Before the image of a move may come RANK (vx_vrfork: one image for
 * every node): the node writes its 8 bytes into the process once the
 * restore returns, before DONE; the process waits for that word.
 *
 * A status request (MIG_F_STATUS, vxcr nodes): HELLO, <- STATUS, close.
 *
 * FAILED (either way, text) ends a migration: the sender has undone its
 * part.  Every number is little-endian; every message is checked for its
 * exact length (PAGES: a header and whole pages).
 */
#ifndef VXCR_MIG_PROTO_H
#define VXCR_MIG_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MIG_MAGIC "vxcr-mig"
#define MIG_VERSION 1

enum mig_msg {
	MIG_HELLO = 1,
	MIG_READY = 2,
	MIG_PAGES = 3,
	MIG_DROP = 4,
	MIG_ROUND = 5,
	MIG_IMAGE = 6,
	MIG_IMAGE_END = 7,
	MIG_RESTORED = 8,
	MIG_COMMIT = 9,
	MIG_DONE = 10,
	MIG_FAILED = 11,
	MIG_LAZY_REQ = 12,
	MIG_LAZY_DONE = 13,
	MIG_SIGNAL = 14, /* a move: origin -> node, a signal for the moved process */
	MIG_EXIT = 15,	 /* a move: node -> origin, its end (a wait status) */
	MIG_STATUS = 16, /* a status request's answer (node -> origin) */
	MIG_RANK = 17,	 /* a move: before the image, a word the node writes */
};

#define MIG_F_CTX (1u << 0)	/* a whole context */
#define MIG_F_PRECOPY (1u << 1) /* pages come before the image */
#define MIG_F_LAZY (1u << 2)	/* post-copy: private pages come after COMMIT */
/* A BProc move (vx_move): one process, no pre-copy; after DONE the channel
 * stays open: SIGNALs come in, the node sends EXIT when it ends. */
#define MIG_F_MOVE (1u << 3)
/* No migration: the node answers READY with STATUS and closes. */
#define MIG_F_STATUS (1u << 4)

struct mig_hello {
	char magic[8]; /* MIG_MAGIC, no NUL */
	uint32_t version;
	uint32_t flags;	      /* MIG_F_* */
	uint8_t store_id[16]; /* the image's parent_id */
	uint64_t memory;      /* bytes of the tree's memory (a hint) */
} __attribute__((packed));

struct mig_pages {
	uint64_t addr;
	uint32_t key; /* the pid its TASK record carries */
	uint32_t zero;
} __attribute__((packed)); /* followed by whole pages */

struct mig_drop {
	uint64_t addr, len;
	uint32_t key, zero;
} __attribute__((packed));

struct mig_round {
	uint32_t round, zero;
	uint64_t pages;
} __attribute__((packed));

struct mig_lazy_req {
	uint64_t addr, len; /* whole pages */
	uint32_t key, zero;
} __attribute__((packed));

struct mig_done {
	uint32_t pid, xid;
} __attribute__((packed));

struct mig_signal {
	uint32_t sig, zero; /* 1..64 */
} __attribute__((packed));

struct mig_exit {
	uint32_t status, zero; /* a wait status: exited (code) or killed (signal) */
} __attribute__((packed));

/* vx_vrfork's rank: written into the moved process once it is restored
 * (8 bytes at addr, the address of the library's rank word). */
struct mig_rank {
	uint64_t addr, value;
} __attribute__((packed));

struct mig_status {
	uint32_t load_milli; /* the 1-minute load average times 1000 */
	uint32_t moved;	     /* processes moved here that run now */
	uint32_t ncpu, zero;
} __attribute__((packed));

/* Whole pages of one PAGES message. */
#define MIG_PAGE_SZ 4096u
#define MIG_PAGES_MAX ((CHAN_MSG_MAX - sizeof(struct mig_pages)) / MIG_PAGE_SZ)

/* mig.c: shared by both sides */
struct chan;
/* Sends FAILED with the operation's error (or msg), best effort. */
void mig_send_failed(struct chan *c, const char *msg);
/* A FAILED payload as one printable line in buf. */
void mig_failed_text(const void *p, size_t len, char *buf, size_t size);
/*
 * Receives the next message and checks it is one of want (a 0-terminated
 * list): 0 with *type set, or -errno after one line naming the step; a
 * FAILED from the peer is -ECONNABORTED with its text as the error.
 */
int mig_expect(struct chan *c, const char *step, const uint8_t *want, uint8_t *type,
	       const void **buf, size_t *len);
uint64_t mig_now_ns(void);

/* lazy-src.c: the source's page server (post-copy) */
struct lazy_src;
struct lazy_src_stats {
	uint64_t reqs, req_pages, bg_pages; /* requests, pages sent for them, streamed */
};
int lazy_src_new(struct lazy_src **out);
/* vxcr_dump_mig.lazy: the dump wrote [start, end) of pid (key) as lazy. */
int lazy_src_add(void *arg, pid_t pid, uint32_t key, uint64_t start, uint64_t end);
size_t lazy_src_areas(const struct lazy_src *ls);
/*
 * After COMMIT, the tree frozen: answers LAZY_REQ, streams every other
 * page, sends LAZY_DONE and waits for DONE (*done: its payload).  0 or
 * -errno (the link or the peer failed: the process is lost).
 */
int lazy_src_serve(struct lazy_src *ls, struct chan *c, struct mig_done *done,
		   struct lazy_src_stats *st);
void lazy_src_free(struct lazy_src *ls);

/* lazy-dst.c: the destination's fault server (post-copy) */
struct lazy_dst;
struct lazy_dst_stats {
	uint64_t faults, pages, zeroed; /* faults asked for, pages copied, faults zero-filled */
};
int lazy_dst_new(struct lazy_dst **out);
/* struct vxcr_lazy.take (restore/lazy.h), in the restoring process. */
int lazy_dst_take(void *arg, uint32_t key, pid_t pid, int uffd, const uint64_t *ranges, size_t n);
/*
 * After the restore let the tree run: faults become LAZY_REQ, PAGES are
 * copied in, until LAZY_DONE; then the uffds close.  0 or -errno: the
 * link failed and the processes that had lazy pages are killed.
 */
int lazy_dst_run(struct lazy_dst *ld, struct chan *c, struct lazy_dst_stats *st);
/*
 * Pre-copy (lazy.h's parents): the PARENT pages restore left in store ps
 * go in from it, after the commit: faults first, the rest in the
 * background; then the uffds close.  No link.  0 or -errno: the tree was
 * killed.
 */
struct vxcr_pstore;
int lazy_dst_run_local(struct lazy_dst *ld, const struct vxcr_pstore *ps,
		       struct lazy_dst_stats *st);
void lazy_dst_free(struct lazy_dst *ld);

#endif
