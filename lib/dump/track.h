/*
 * Dirty-page tracking without soft-dirty bits (live migration's pre-copy).
 * NOTES: "Dirty pages without soft-dirty (issue 15)".
 *
 * Each process of the tree gets a userfaultfd made inside it by injection
 * (UFFD_USER_MODE_ONLY, taken out with pidfd_getfd and closed there) with
 * UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED; its private areas
 * are registered for write-protect from outside (the ioctls act on the
 * uffd's mm) and protected.  A round asks PAGEMAP_SCAN (on a pagemap fd
 * opened at the start, so an exec or a reused pid makes it fail) for the
 * pages written since the last round and protects them again in the same
 * call; they are read with process_vm_readv and handed to the caller's
 * sink.  The target is never blocked: async write-protect only records
 * the first write.  A killed tracker closes the uffds, and with them every
 * registration.
 *
 * What the store (the destination's copy) holds is mirrored here, so the
 * last round (the tree frozen, inside the dump) can tell the dump which
 * pages the store holds exactly as they are now: the dump writes those as
 * IMG_PAGES_PARENT ranges instead of their bytes.
 */
#ifndef VXCR_DUMP_TRACK_H
#define VXCR_DUMP_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct track;

/* Where a round's pages go (the migration channel, a store in tests). */
struct track_sink {
	/* len bytes (whole pages) of process key at addr, as read now. */
	int (*pages)(void *arg, uint32_t key, uint64_t addr, const void *data, size_t len);
	/* The store must forget [addr, addr + len) of key (pstore_drop). */
	int (*drop)(void *arg, uint32_t key, uint64_t addr, uint64_t len);
	void *arg;
};

struct track_round {
	unsigned round;	      /* 0: the first, whole copy */
	uint64_t pages_dirty; /* written since the last round (round 0: every candidate) */
	uint64_t pages_sent;  /* handed to the sink (zero pages are dropped instead) */
	uint64_t scan_ns, read_ns, send_ns; /* PAGEMAP_SCAN, reading, the sink */
	uint64_t total_ns;
	uint64_t pages_held; /* last round: pages the image refers to the store for
			      * (IMG_PAGES_PARENT; counted by the dump) */
};

struct track_opts {
	/* The keys of the processes: 0 for the pid itself, else a function
	 * giving the pid the TASK record will carry (a context's own). */
	uint32_t (*key)(pid_t pid, void *arg);
	void *key_arg;
};

/*
 * Starts tracking the tree of root (root and its descendants now; a
 * process that appears later is not tracked: the dump stores it whole).
 * A process whose uffd cannot be made (a seccomp filter, no userfaultfd)
 * is not tracked either, with a warning.  0 or -errno (the tree runs on
 * as before).
 */
int track_start(pid_t root, const struct track_opts *o, struct track **out);
/*
 * One round while the tree runs: round 0 reads every page the dump would
 * store; later rounds the pages written since the last one.  0 or -errno
 * (a failure of the sink is returned as it is).
 */
int track_round(struct track *t, const struct track_sink *s, struct track_round *st);
/*
 * The last round, the tree frozen (called by the dump after the seize,
 * before it reads the areas): the pages written since, drops for what
 * the store holds that is no longer there as it was (unmapped, an area
 * not tracked any more, an exec).  Pages zapped since the last regular
 * round may stay held: the dump asks only about pages it stores (present
 * or swapped, not the file's), which such a page is not.  The uffds stay
 * open, their areas registered: unregistering clears the write-protect
 * bit of every page (about 20 ms a GiB), which the freeze need not pay;
 * the dump ignores these registrations (track_registered) and track_free()
 * closes them.  track_final_pid() does it for one process: the dump calls
 * it right after that process's injected calls (the kernel may answer them
 * by writing into its memory: rseq's cpu fields), and track_final() for
 * the others.  *st: the last round's numbers, summed over these calls
 * (zeroed by the first).  0 or -errno; a process whose last round failed
 * holds nothing (its uffd closed).
 */
int track_final_pid(struct track *t, pid_t pid, const struct track_sink *s, struct track_round *st);
int track_final(struct track *t, const struct track_sink *s, struct track_round *st);
/*
 * After its last round: the first range at or above start and below end of
 * process key that the store holds exactly as it is now ([*s, *e)), or
 * false if none.  The dump writes such ranges as IMG_PAGES_PARENT.
 */
bool track_held(const struct track *t, uint32_t key, uint64_t start, uint64_t end, uint64_t *s,
		uint64_t *e);
/*
 * What a live migration adds to a dump (vxcr_dump_opts.mig; lib/mig):
 * the image goes into sink instead of the fd; with track, the last round
 * runs after the seize and the pages it holds are written as
 * IMG_PAGES_PARENT ranges; the header's parent_id is parent_id.
 */
struct img_sink;
struct vxcr_dump_mig {
	struct img_sink *sink; /* the image's end (borrowed) */
	struct track *track;   /* NULL: no pre-copy */
	const struct track_sink *track_sink;
	struct track_round *final; /* receives the last round's numbers */
	const uint8_t *parent_id;  /* 16 bytes: the store's id */
	/*
	 * Post-copy (vxcr migrate --lazy): if set, every private anonymous
	 * area dump_lazy_area() accepts is written as one IMG_PAGES_LAZY
	 * range instead of its pages, and lazy() is told of it (pid: the
	 * host's, key: the TASK record's pid); the caller serves its pages
	 * from the frozen tree in its commit step.
	 */
	int (*lazy)(void *arg, pid_t pid, uint32_t key, uint64_t start, uint64_t end);
	void *lazy_arg;
};

/*
 * The key process pid (as tracked: a host pid) got, and whether it is
 * tracked still (*tracked false: not at the start, exec'ed, exited, or
 * no uffd); 0 if pid is not one of the tree's.
 */
uint32_t track_key_of(const struct track *t, pid_t pid, bool *tracked);
/*
 * After the last round of pid: is [start, end) inside an area the tracker
 * registered with its uffd (the "uw" smaps shows is ours, not the
 * process's)?
 */
bool track_registered(const struct track *t, pid_t pid, uint64_t start, uint64_t end);
/* Pages the store holds now (the mirror), in all; 0 for a NULL t. */
uint64_t track_store_pages(const struct track *t);
/* Closes every uffd (the areas unregistered: about 20 ms a GiB; call it
 * once the dump returned) and frees t.  NULL is fine. */
void track_free(struct track *t);

#endif
