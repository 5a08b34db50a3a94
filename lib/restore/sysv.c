/*
 * SysV shared memory segments of an image (parent side).
 *
 * A segment is created fresh at its recorded id (kernel.shm_next_id).  An
 * existing segment with that id is never written: it is taken only if it
 * is provably the image's own, left over when vxdump killed the tree that
 * used it: same key, size, owner, creator and mode, nobody attached, and
 * contents equal to the image's, byte for byte (the page records are
 * compared, not written, through a read-only attach, and every page the
 * image does not hold must read as zero).  Anything else is refused.
 *
 * A SIGKILLed vxrestore cannot remove what it created: the janitor
 * (janitor.c), started before the first segment is created, does.
 */
#define LOG_PREFIX "restore/sysv: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/shm.h>

#include "log.h"
#include "restore/restore.h"

/* Writes v to a /proc/sys file.  0/-errno. */
static int write_sysctl(const char *path, int v)
{
	char buf[24];
	int fd, n, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%d", v);
	if (write(fd, buf, n) != n)
		ret = -errno;
	close(fd);
	return ret;
}

/* Is existing segment ds the image's own left-over (metadata)? */
static bool sysv_same(const SysvShmEntry *e, const struct shmid_ds *ds)
{
	return (int)ds->shm_perm.__key == e->key && ds->shm_segsz == e->size && !ds->shm_nattch &&
	       ds->shm_perm.uid == e->uid && ds->shm_perm.gid == e->gid &&
	       ds->shm_perm.cuid == e->cuid && ds->shm_perm.cgid == e->cgid &&
	       (ds->shm_perm.mode & 0777) == (e->mode & 0777);
}

/* An existing segment: taken read-only for comparison, or refused. */
static int sysv_take_existing(struct rst_shmem *s, const struct shmid_ds *ds)
{
	const SysvShmEntry *e = s->sysv;

	if (!sysv_same(e, ds)) {
		pr_err("SysV segment id %d exists and is not this image's (key, size, owner, mode "
		       "or attachments differ): not restoring into it\n",
		       e->shmid);
		return -EEXIST;
	}
	s->covered = calloc((e->size / RST_PAGE + 8) / 8 + 1, 1);
	if (!s->covered)
		return -ENOMEM;
	s->shmid = e->shmid;
	s->verify = true;
	return 0;
}

/* A new segment at the recorded id, owner and mode as recorded. */
static int sysv_create(struct rst_image *img, struct rst_shmem *s)
{
	const SysvShmEntry *e = s->sysv;
	struct shmid_ds ds;
	int id, ret;

	ret = rst_janitor_start(img);
	ret = ret ?: write_sysctl("/proc/sys/kernel/shm_next_id", e->shmid);
	if (ret) {
		pr_err("cannot set kernel.shm_next_id (needed for SysV segment %d): %s\n", e->shmid,
		       strerror(-ret));
		return ret;
	}
	id = shmget(e->key, e->size, IPC_CREAT | IPC_EXCL | (e->mode & 0777));
	write_sysctl("/proc/sys/kernel/shm_next_id", -1);
	if (id < 0) {
		pr_perror("SysV segment %d (key %#x): shmget", e->shmid, e->key);
		return -errno;
	}
	s->shmid = id;
	s->created = true;
	if (id != e->shmid) {
		pr_err("SysV segment got id %d, not %d\n", id, e->shmid);
		return -EEXIST;
	}
	if (shmctl(id, IPC_STAT, &ds) == 0) {
		ds.shm_perm.uid = e->uid;
		ds.shm_perm.gid = e->gid;
		ds.shm_perm.mode = e->mode & 0777;
		if (shmctl(id, IPC_SET, &ds))
			pr_warn("SysV segment %d: cannot set owner and mode: %s\n", id,
				strerror(errno));
	}
	return 0;
}

int rsysv_get(struct rst_image *img, struct rst_shmem *s)
{
	struct shmid_ds ds;
	int ret;

	if (shmctl(s->sysv->shmid, IPC_STAT, &ds) == 0)
		ret = sysv_take_existing(s, &ds);
	else
		ret = sysv_create(img, s);
	if (ret)
		return ret;
	s->ours = shmat(s->shmid, NULL, s->verify ? SHM_RDONLY : 0);
	if (s->ours == (void *)-1) {
		s->ours = NULL;
		pr_perror("SysV segment %d: shmat", s->shmid);
		return -errno;
	}
	return 0;
}

int rsysv_compare(struct rst_shmem *s, uint64_t off, const void *data, uint64_t len)
{
	uint64_t p;

	if (memcmp((const char *)s->ours + off, data, len)) {
		pr_err("SysV segment id %d exists with other contents than the image's: "
		       "not restoring into it\n",
		       s->shmid);
		return -EEXIST;
	}
	for (p = off / RST_PAGE; p * RST_PAGE < off + len; p++)
		s->covered[p / 8] |= 1u << (p % 8);
	return 0;
}

int rsysv_check_rest(const struct rst_shmem *s)
{
	const uint8_t *b = s->ours;
	uint64_t p, i, end;

	for (p = 0; p * RST_PAGE < s->size; p++) {
		if (s->covered[p / 8] & (1u << (p % 8)))
			continue;
		end = (p + 1) * RST_PAGE < s->size ? (p + 1) * RST_PAGE : s->size;
		for (i = p * RST_PAGE; i < end; i++) {
			if (b[i]) {
				pr_err("SysV segment id %d exists with other contents than the "
				       "image's: not restoring into it\n",
				       s->shmid);
				return -EEXIST;
			}
		}
	}
	return 0;
}
