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
 * FAILED (either way, text) ends a migration: the sender has undone its
 * part.  Every number is little-endian; every message is checked for its
 * exact length (PAGES: a header and whole pages).
 */
#ifndef VXCR_MIG_PROTO_H
#define VXCR_MIG_PROTO_H

#include <stdint.h>

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
};

#define MIG_F_CTX (1u << 0)	/* a whole context */
#define MIG_F_PRECOPY (1u << 1) /* pages come before the image */

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

struct mig_done {
	uint32_t pid, xid;
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

#endif
