/*
 * The dirty tracker's own parts (track.c: rounds and the mirror;
 * track-uffd.c: the processes, their uffds and their memory).
 */
#ifndef VXCR_DUMP_TRACK_INT_H
#define VXCR_DUMP_TRACK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define TRK_BATCH_BYTES (8ul << 20) /* read at once */

/* One trackable area as /proc/PID/maps showed it at the last round. */
struct trk_area {
	uint64_t start, end;
	uint64_t *held; /* bit per page: the store has it as it is now */
	bool untracked; /* registration refused: never held */
	bool reg;	/* registered with our uffd (as of the last round) */
};

struct trk_proc {
	pid_t pid;
	uint32_t key;
	int uffd;	/* ours, made inside the process; -1 once closed */
	int pagemap_fd; /* opened at the start: an exec or exit makes it fail */
	int mem_fd;
	bool gone; /* not tracked (any more): holds nothing */
	bool no_pin;
	bool done;		/* its last round ran: the mirror is final */
	bool detach_pending;	/* seized, never stopped: detached once it stops */
	struct trk_area *areas; /* sorted, disjoint */
	size_t n_areas;
};

/* root and its descendants now (preorder).  0 or -errno. */
int trk_list_tree(pid_t root, pid_t **out, size_t *n);
/* Opens p's fds and makes its uffd; a failure is warned and leaves p gone. */
void trk_proc_open(struct trk_proc *p);
/* A seized thread that never stopped for us: detached if it has stopped since. */
void trk_detach_pending(struct trk_proc *p);
/* Closes p's fds: the uffd's close unregisters every area of it. */
void trk_proc_close(struct trk_proc *p);
/* Is the mm p was tracked in still p's (no exec, no exit)? */
bool trk_mm_alive(const struct trk_proc *p);
bool trk_has_children(pid_t pid);
/* UFFDIO_REGISTER (write-protect) and UFFDIO_WRITEPROTECT of [s, e).  0/-errno */
int trk_register(struct trk_proc *p, uint64_t s, uint64_t e);
/*
 * The action the nfilters seccomp filters of stopped tid give call nr
 * (args, from ip): the lowest as a signed number, SECCOMP_RET_KILL_PROCESS
 * when one cannot be read or judged (track-seccomp.c).
 */
int trk_seccomp_action(pid_t tid, int nfilters, int nr, const uint64_t args[6], uint64_t ip);
/* Reads the n ranges of p into buf, one after the other; ok[i]: range i read. */
void trk_read(struct trk_proc *p, uint8_t *buf, const struct iovec *iov, size_t n, bool *ok);

#endif
