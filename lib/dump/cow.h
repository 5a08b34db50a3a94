/*
 * A copy-on-write snapshot of the tree's private memory, so that a
 * --leave-running dump releases the tree as soon as everything but the
 * pages is read (NOTES: "Copy-on-write --leave-running (issue 15)").
 *
 * Each process gets a userfaultfd made inside it by injection (in its
 * leader's injection window, remote.c), taken out with pidfd_getfd and
 * closed there.  While the tree is frozen its private anonymous areas are
 * registered for synchronous write-protect and protected; the pages the
 * dump will read are listed then (the set a frozen dump reads), and the
 * pages of areas that cannot be protected (private file mappings) are
 * copied at once.  Then the tree runs on.  A thread of ours takes each
 * write fault: it copies the page (still as it was at the freeze) before
 * it lets the write through.  The page writer reads the rest from the
 * running process; a page whose write-protection went away without our
 * copy (unmapped, discarded, moved) fails the dump instead of giving a
 * torn image.  Closing the uffds (at the end, on every error, or by the
 * kernel when vxdump dies) unprotects everything and wakes every writer.
 */
#ifndef VXCR_DUMP_COW_H
#define VXCR_DUMP_COW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct cow;
struct dump_op;
struct dump_task;
struct dump_vma;
struct inject;

/* May this dump snapshot instead of staying frozen (decided before collecting)? */
bool cow_wanted(const struct dump_op *op);
/*
 * In t's leader's injection window (t->cow.want): makes the uffd, takes
 * it out and closes it in t.  A uffd t may not make (no privilege) is
 * not an error: the dump then stays frozen.  0 or -errno of ptrace.
 */
int cow_inject_uffd(struct inject *in, struct dump_task *t);
/*
 * In every leader's injection window, before anything else: closes the
 * userfaultfd a vxdump killed inside cow_inject_uffd() left in t (a note
 * under the run directory says which), if it is still unused.  0 or
 * -errno of ptrace.
 */
int cow_clean_stray(struct inject *in, struct dump_task *t);
/*
 * The tree frozen and collected, every record but the pages written:
 * protects and lists (op->cow set), or leaves op->cow NULL when the tree
 * cannot be snapshotted (then the pages are read frozen).  0 or -errno.
 */
int cow_start(struct dump_op *op);
/* pages.c, a snapshot active: t's pagemap and mem fds as at the freeze
 * (dups; the pid may be reused once the tree runs on).  0 or -errno. */
int cow_proc_fds(struct cow *c, const struct dump_task *t, int *pagemap_fd, int *mem_fd);
/*
 * The pages of area v of t the dump reads, as at the freeze: the next
 * run [*s, *e) at or above *pos and below end (*pos moves past it).
 */
bool cow_next_pages(struct cow *c, const struct dump_task *t, uint64_t *pos, uint64_t end,
		    uint64_t *s, uint64_t *e);
/*
 * buf holds the ranges iov[0..n) of t just read from the running
 * process: pages written since the freeze are replaced by our copies,
 * the rest checked still protected; all are unprotected.  0, or -EAGAIN
 * (logged) when a page changed without our copy.
 */
int cow_fix_batch(struct cow *c, const struct dump_task *t, uint8_t *buf, const struct iovec *iov,
		  size_t n);
/* Is process pid in the snapshot? */
bool cow_has_proc(struct cow *c, pid_t pid);
/*
 * A call of process pid is about to unmap, discard or replace [start,
 * end): its pages not read yet are copied now (cow-trace.c).
 */
void cow_save_range(struct cow *c, pid_t pid, uint64_t start, uint64_t end);
/*
 * The copy window (cow-trace.c), the tree still seized: its running
 * threads go on with syscall stops (new threads followed) while a thread
 * of ours runs work(op); a call that would unmap or discard pages not
 * read yet is held at its entry until they are copied.  Then every
 * thread is detached (a job-control stopped one stays stopped).  Returns
 * what work returned, or -errno (logged) if the window could not start.
 */
int cow_trace_window(struct dump_op *op, int (*work)(struct dump_op *op));

/* Ends the snapshot (every write let through) and frees it; NULL is fine.
 * Also closes the uffds of tasks that never got that far. */
void cow_end(struct dump_op *op);

/* pages.c: does the plan of inherited area v read page i? */
bool plan_reads(const struct dump_vma *v, size_t i);

#endif
