/*
 * Shared memory objects of the image (NOTES, issue 3): one shmem_id per
 * object image-wide (same dev/ino; SysV segments apart, their inode number
 * is the shmid), which ranges of each are already in the image, and the
 * SYSV_SHM records of the segments the tree attaches (/proc/sysvipc/shm).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#define LOG_PREFIX "dump/shmem: "
#include "log.h"
#include "dump/dump.h"
#include "img/img.h"
#include "img/records.h"

/*
 * The object (dev, ino) of the image, created on first sight with the
 * holder's task index.  ino 0 is never shared.  NULL when out of memory.
 */
struct dump_shmem *shmem_get(struct dump_op *op, uint32_t dev_major, uint32_t dev_minor,
			     uint64_t ino, bool sysv, uint32_t index)
{
	struct dump_shmem *s;
	size_t i;

	for (i = 0; ino && i < op->n_shmems; i++) {
		s = &op->shmems[i];
		if (s->ino == ino && s->dev_major == dev_major && s->dev_minor == dev_minor &&
		    s->sysv == sysv)
			return s;
	}
	s = realloc(op->shmems, (op->n_shmems + 1) * sizeof(*s));
	if (!s)
		return NULL;
	op->shmems = s;
	s = &op->shmems[op->n_shmems++];
	memset(s, 0, sizeof(*s));
	s->id = op->n_shmems;
	s->ino = ino;
	s->dev_major = dev_major;
	s->dev_minor = dev_minor;
	s->sysv = sysv;
	s->first_index = index;
	s->fd = -1;
	return s;
}

/* The shmem object with image-wide id, or NULL. */
struct dump_shmem *shmem_find(struct dump_op *op, uint32_t id)
{
	return id && id <= op->n_shmems ? &op->shmems[id - 1] : NULL;
}

/*
 * Written whole (every non-zero page up to its size) rather than as the
 * union of its mapped ranges: restore knows the size of a memfd held by
 * an fd (file_entry.size) and of a SysV segment, not of other objects.
 */
bool shmem_whole(const struct dump_shmem *s)
{
	return s->has_file || s->sysv;
}

/*
 * The first stretch of [*lo, hi) not in the image yet: *lo moves to its
 * start (hi if there is none) and its end is returned.
 */
uint64_t shmem_gap(const struct dump_shmem *s, uint64_t *lo, uint64_t hi)
{
	size_t i;

	for (i = 0; i < s->n_done && *lo < hi; i++) {
		if (s->done[i].hi <= *lo)
			continue;
		if (s->done[i].lo > *lo)
			return s->done[i].lo < hi ? s->done[i].lo : hi;
		*lo = s->done[i].hi;
	}
	if (*lo > hi)
		*lo = hi;
	return hi;
}

/* Records [lo, hi) as written, merging ranges that touch.  0 or -ENOMEM. */
int shmem_mark_done(struct dump_shmem *s, uint64_t lo, uint64_t hi)
{
	struct shmem_range *nv;
	size_t i = 0, j;

	if (lo >= hi)
		return 0;
	while (i < s->n_done && s->done[i].hi < lo)
		i++;
	for (j = i; j < s->n_done && s->done[j].lo <= hi; j++) {
		lo = s->done[j].lo < lo ? s->done[j].lo : lo;
		hi = s->done[j].hi > hi ? s->done[j].hi : hi;
	}
	if (j == i) { /* nothing merged: insert at i */
		nv = realloc(s->done, (s->n_done + 1) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		s->done = nv;
		memmove(nv + i + 1, nv + i, (s->n_done - i) * sizeof(*nv));
		s->n_done++;
		j = i + 1;
	}
	s->done[i].lo = lo;
	s->done[i].hi = hi;
	memmove(s->done + i + 1, s->done + j, (s->n_done - j) * sizeof(*s->done));
	s->n_done -= j - i - 1;
	return 0;
}

/*
 * Refuses a SysV segment of another IPC namespace than our thread's: ours,
 * or the tree's own when ipcns.c moved us into it (0 or -errno).
 */
static int check_ipc_ns(const struct dump_op *op, const struct dump_shmem *s)
{
	const struct dump_task *t = op->tasks[s->first_index - 1];
	struct stat ours, theirs;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/ipc", t->pid);
	if (stat("/proc/thread-self/ns/ipc", &ours) || stat(path, &theirs)) {
		pr_perror("pid %d: cannot compare its IPC namespace with ours", t->pid);
		return -errno;
	}
	if (ours.st_ino != theirs.st_ino || ours.st_dev != theirs.st_dev) {
		pr_err("pid %d: SysV segment %llu of another IPC namespace: not supported\n",
		       t->pid, (unsigned long long)s->ino);
		return -EOPNOTSUPP;
	}
	return 0;
}

/*
 * Finds every SysV segment the tree attaches in /proc/sysvipc/shm (read
 * while the tree is frozen, so nattch and SHM_DEST are as dumped).
 * 0 or -errno (logged).
 */
int collect_sysv_shm(struct dump_op *op)
{
	struct proc_sysv_shm *segs = NULL;
	size_t n = 0, i, j;
	char *text;
	int ret = 0;

	for (i = 0; i < op->n_shmems && !op->shmems[i].sysv; i++)
		;
	if (i == op->n_shmems)
		return 0;
	ret = proc_read_path("/proc/sysvipc/shm", &text, NULL);
	if (ret) {
		pr_err("cannot read /proc/sysvipc/shm: %s\n", strerror(-ret));
		return ret;
	}
	ret = proc_parse_sysv_shm(text, &segs, &n);
	free(text);
	if (ret)
		pr_err("/proc/sysvipc/shm: unexpected format\n");
	for (i = 0; !ret && i < op->n_shmems; i++) {
		struct dump_shmem *s = &op->shmems[i];

		if (!s->sysv)
			continue;
		ret = check_ipc_ns(op, s);
		for (j = 0; !ret && j < n && (uint64_t)segs[j].shmid != s->ino; j++)
			;
		if (!ret && j == n) {
			pr_err("pid %d: SysV segment %llu is not in /proc/sysvipc/shm\n",
			       op->tasks[s->first_index - 1]->pid, (unsigned long long)s->ino);
			ret = -ENOENT;
		}
		if (!ret) {
			s->seg = segs[j];
			s->size = segs[j].size;
		}
	}
	free(segs);
	return ret;
}

/* SYSV_SHM records, one per segment the tree attaches.  0 or -errno. */
int write_sysv_shm(struct dump_op *op)
{
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < op->n_shmems; i++) {
		const struct dump_shmem *s = &op->shmems[i];
		SysvShmEntry e = SYSV_SHM_ENTRY__INIT;

		if (!s->sysv)
			continue;
		PB_SET(&e, shmid, s->seg.shmid);
		PB_SET(&e, key, s->seg.key);
		PB_SET(&e, size, s->seg.size);
		PB_SET(&e, mode, s->seg.perms & 0777);
		PB_SET(&e, uid, s->seg.uid);
		PB_SET(&e, gid, s->seg.gid);
		PB_SET(&e, cuid, s->seg.cuid);
		PB_SET(&e, cgid, s->seg.cgid);
		PB_SET(&e, shmem_id, s->id);
		PB_SET(&e, removed, !!(s->seg.perms & PROC_SHM_DEST));
		ret = img_write_msg(op->w, IMG_REC_SYSV_SHM, &e.base);
		if (ret)
			pr_err("SysV segment %d: cannot write its record: %s\n", s->seg.shmid,
			       strerror(-ret));
	}
	return ret;
}

/* Our handles closed and the object table freed (safe to call twice). */
void shmem_free(struct dump_op *op)
{
	size_t i;

	for (i = 0; i < op->n_shmems; i++) {
		if (op->shmems[i].fd >= 0)
			close(op->shmems[i].fd);
		free(op->shmems[i].done);
	}
	free(op->shmems);
	op->shmems = NULL;
	op->n_shmems = 0;
}
