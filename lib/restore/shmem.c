/*
 * Shared memory objects of the tree (vma_entry.shmem_id).
 *
 * - An object only ever mapped once, or inherited at the same address by
 *   forked children, is a plain MAP_SHARED|MAP_ANONYMOUS area of its first
 *   mapper; fork shares it, its SHMEM_PAGES go in through that mapping.
 * - A memfd (an fd of kind FILE_MEMFD, or a /memfd: mapping, shared or
 *   private: a private one maps the pooled memfd MAP_PRIVATE and gets its
 *   own copies as PAGES records on top) and any other
 *   object mapped independently more than once gets a pooled memfd: the
 *   root creates it on fd pool_fd (next to the file pool), every mapping
 *   maps that fd, every memfd fd is a reopen of it, and we write its
 *   SHMEM_PAGES through our own reopen of it.  Seals are added at the end.
 * - A SysV segment is created by us with its old id (shm_next_id) unless
 *   an unattached segment with that id, key and size still exists (the
 *   dumped one, not removed), filled through our own attach, attached by
 *   each task with shmat at its address, and IPC_RMID'ed again at the end
 *   if it was.  A failed restore removes the segments it created.
 */
#define LOG_PREFIX "restore/shmem: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>

#include "log.h"
#include "restore/restore.h"

#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#endif

/* The object with this id, or NULL. */
struct rst_shmem *rshm_find(const struct rst_image *img, uint32_t id)
{
	size_t i;

	for (i = 0; i < img->nr_shm; i++)
		if (img->shm[i].id == id)
			return &img->shm[i];
	return NULL;
}

static struct rst_shmem *rshm_get(struct rst_image *img, uint32_t id)
{
	struct rst_shmem *s = rshm_find(img, id), *n;

	if (s)
		return s;
	n = realloc(img->shm, (img->nr_shm + 1) * sizeof(*n));
	if (!n)
		return NULL;
	img->shm = n;
	s = &n[img->nr_shm++];
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->pool_fd = s->our_fd = -1;
	s->shmid = -1;
	return s;
}

static bool is_memfd_name(const char *name)
{
	return name && !strncmp(name, "/memfd:", 7);
}

/*
 * Builds the object table from every process's areas, the memfd files and
 * the SysV records, and decides how each is rebuilt.  Pool fds are numbered
 * from base.  Returns 0/-errno.
 */
int rshm_plan(struct rst_image *img, int base)
{
	struct rst_shmem *s;
	size_t p, i;

	for (p = 0; p < img->nr_procs; p++) {
		const struct rst_proc *c = img->procs[p];

		for (i = 0; i < c->nr_vmas; i++) {
			const VmaEntry *v = c->vmas[i], *pv;

			if (v->kind != VMA_KIND__VMA_SHMEM || !v->has_shmem_id)
				continue;
			s = rshm_get(img, v->shmem_id);
			if (!s)
				return -ENOMEM;
			if (v->pgoff + (v->end - v->start) > s->size)
				s->size = v->pgoff + (v->end - v->start);
			if (is_memfd_name(v->name)) {
				s->memfd = true;
				if (!s->map_name)
					s->map_name = v->name;
			}
			if (v->has_sysv_shmid)
				s->sysv_mapped = true;
			if (!(v->flags & MAP_SHARED))
				s->private_mapped = true;
			pv = c->parent ? plan_vma_at(c->parent, v->start) : NULL;
			if (!pv || !img_vma_inherits(pv, v))
				s->mappers++;
		}
	}
	for (i = 0; i < img->nr_files; i++) {
		const FileEntry *fe = img->files[i].fe;

		if (fe->kind != FILE_KIND__FILE_MEMFD)
			continue;
		s = rshm_get(img, fe->shmem_id);
		if (!s)
			return -ENOMEM;
		/* i_size as recorded, not the mappings' extent (they may run past it) */
		if (!s->file || fe->size > s->size)
			s->size = fe->size;
		s->memfd = true;
		s->file = fe;
	}
	for (i = 0; i < img->recs.n_sysv; i++) {
		s = rshm_get(img, img->recs.sysv[i]->shmem_id);
		if (!s)
			return -ENOMEM;
		s->sysv = img->recs.sysv[i];
		s->size = s->sysv->size;
	}
	for (i = 0; i < img->nr_shm; i++) {
		s = &img->shm[i];
		if (s->sysv_mapped && !s->sysv) {
			pr_err("image: SysV segment of object %u has no SYSV_SHM record\n", s->id);
			return -EBADMSG;
		}
		if (s->private_mapped && (s->sysv || !s->memfd)) {
			pr_err("image: object %u mapped privately is no memfd\n", s->id);
			return -EBADMSG;
		}
		s->pooled = !s->sysv && (s->memfd || s->mappers > 1);
		if (s->pooled)
			s->pool_fd = base++;
	}
	return 0;
}

/* Number of pool fds the objects need. */
int rshm_pool_count(const struct rst_image *img)
{
	size_t i;
	int n = 0;

	for (i = 0; i < img->nr_shm; i++)
		n += img->shm[i].pooled;
	return n;
}

/* "memfd:NAME (deleted)" -> NAME */
static void memfd_name(const struct rst_shmem *s, char *buf, size_t len)
{
	const char *p = s->file && s->file->path ? s->file->path : "";
	size_t n;

	if (!*p && s->map_name) /* mapped only: the name its areas show */
		p = s->map_name;

	if (!strncmp(p, "/memfd:", 7))
		p += 7;
	else if (!strncmp(p, "memfd:", 6))
		p += 6;
	snprintf(buf, len, "%s", *p ? p : "vxcr-shmem");
	n = strlen(buf);
	if (n > 10 && !strcmp(buf + n - 10, " (deleted)"))
		buf[n - 10] = '\0';
}

/* Child (root, in C): creates every pooled object on its pool fd. */
int rshm_create_pool(const struct rst_image *img)
{
	size_t i;

	for (i = 0; i < img->nr_shm; i++) {
		struct rst_shmem *s = &img->shm[i];
		char name[250];
		int fd;

		if (!s->pooled)
			continue;
		memfd_name(s, name, sizeof(name));
		fd = syscall(SYS_memfd_create, name, MFD_ALLOW_SEALING);
		if (fd < 0 || ftruncate(fd, s->size)) {
			pr_perror("shared memory object %u: memfd of %llu bytes", s->id,
				  (unsigned long long)s->size);
			return -errno;
		}
		if (dup2(fd, s->pool_fd) < 0) {
			pr_perror("dup2 to fd %d", s->pool_fd);
			return -errno;
		}
		close(fd);
	}
	return 0;
}

/* Child: a memfd fd, as a new description of its pooled object. */
int rshm_open_file(const struct rst_image *img, const FileEntry *fe)
{
	const struct rst_shmem *s = rshm_find(img, fe->shmem_id);
	char path[64];
	int fd;

	if (!s || !s->pooled) {
		pr_err("image: memfd file %u has no shared memory object\n", fe->id);
		return -EBADMSG;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", s->pool_fd);
	fd = open(path, (fe->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC)) | O_NOCTTY);
	if (fd < 0) {
		pr_perror("cannot reopen memfd %s", fe->path ? fe->path : "");
		return -errno;
	}
	if (fe->pos && lseek(fd, fe->pos, SEEK_SET) < 0)
		pr_warn("memfd %s: cannot seek to %llu\n", fe->path ? fe->path : "",
			(unsigned long long)fe->pos);
	return fd;
}

/*
 * Parent, once the root is stopped: our handles on every object whose pages
 * we write ourselves (pooled memfds through the root's fd, SysV segments
 * through our own attach).  Returns 0/-errno.
 */
int rshm_open_ours(struct rst_image *img)
{
	char path[64];
	size_t i;
	int ret;

	for (i = 0; i < img->nr_shm; i++) {
		struct rst_shmem *s = &img->shm[i];

		if (s->pooled) {
			snprintf(path, sizeof(path), "/proc/%d/fd/%d", rst_root(img)->pid,
				 s->pool_fd);
			s->our_fd = open(path, O_RDWR | O_CLOEXEC);
			if (s->our_fd < 0) {
				pr_perror("cannot open shared memory object %u", s->id);
				return -errno;
			}
		} else if (s->sysv) {
			ret = rsysv_get(img, s);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* Is this object's content written by us, not through a mapping? */
bool rshm_written_by_us(const struct rst_shmem *s)
{
	return s && (s->our_fd >= 0 || s->ours);
}

/*
 * The same, decided by the plan: the objects rshm_open_ours() opens, so
 * both agree once it succeeded (the pages stage), and the dump's vet,
 * which never opens anything, gets restore's answer.
 */
bool rshm_filled_by_us(const struct rst_shmem *s)
{
	return s && (s->pooled || s->sysv);
}

/*
 * How many of len bytes at off lie inside object s.  Pages are stored
 * whole, so the last page of an object whose size is not a multiple of
 * the page size runs past it (dump reads there zeros, as the kernel shows
 * them): that tail is accepted if it is all zero and not written, since a
 * write would grow the object.  -EBADMSG (logged) for anything else past
 * the size.
 */
static int64_t rshm_inside(const struct rst_shmem *s, uint64_t off, const void *data, uint64_t len)
{
	uint64_t end = (s->size + RST_PAGE - 1) / RST_PAGE * RST_PAGE, in, i;
	const uint8_t *b = data;

	if (off <= s->size && len <= s->size - off)
		return len;
	if (off > s->size || len > end - off)
		goto out_beyond;
	in = s->size - off;
	for (i = in; i < len; i++)
		if (b[i])
			goto out_beyond;
	return in;

out_beyond:
	pr_err("image: shared memory object %u: pages beyond its %llu bytes\n", s->id,
	       (unsigned long long)s->size);
	return -EBADMSG;
}

/* Whether rshm_write() would take these bytes: 0 or -EBADMSG (logged). */
int rshm_check(const struct rst_shmem *s, uint64_t off, const void *data, uint64_t len)
{
	int64_t in = rshm_inside(s, off, data, len);

	return in < 0 ? (int)in : 0;
}

/* Writes len bytes at offset off of the object (see rshm_inside).  0/-errno. */
int rshm_write(struct rst_shmem *s, uint64_t off, const void *data, uint64_t len)
{
	int64_t in = rshm_inside(s, off, data, len);
	ssize_t w;
	uint64_t done;

	if (in < 0)
		return (int)in;
	len = in;
	if (s->verify)
		return rsysv_compare(s, off, data, len);
	if (s->ours) {
		memcpy((char *)s->ours + off, data, len);
		return 0;
	}
	for (done = 0; done < len; done += w) {
		w = pwrite(s->our_fd, (const char *)data + done, len - done, off + done);
		if (w <= 0) {
			pr_perror("shared memory object %u: write", s->id);
			return w < 0 ? -errno : -EIO;
		}
	}
	return 0;
}

/* Maps area v of proc from its object; 1 if the object is not ours to map. */
int rshm_map(struct rst_proc *proc, const VmaEntry *v)
{
	const struct rst_shmem *s = v->has_shmem_id ? rshm_find(proc->img, v->shmem_id) : NULL;
	long r;

	if (!s || (!s->pooled && !s->sysv))
		return 1;
	if (s->sysv)
		r = rst_inject(proc, NULL, SYS_shmat, s->shmid, v->start,
			       (v->prot & PROT_WRITE) ? 0 : SHM_RDONLY, 0, 0, 0);
	else
		r = rst_inject(proc, NULL, SYS_mmap, v->start, v->end - v->start, v->prot,
			       (v->flags & MAP_SHARED ? MAP_SHARED : MAP_PRIVATE) |
				       MAP_FIXED_NOREPLACE,
			       s->pool_fd, v->pgoff);
	if (r != (long)v->start) {
		pr_err("pid %d: cannot map shared memory object %u at %#llx: %s\n", proc->pid,
		       s->id, (unsigned long long)v->start,
		       r < 0 ? strerror(-r) : "mapped elsewhere");
		return r < 0 ? (int)r : -EFAULT;
	}
	return 0;
}

/* Parent, before the tree runs: seals, removed segments, our handles. */
int rshm_finish(struct rst_image *img)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < img->nr_shm; i++) {
		struct rst_shmem *s = &img->shm[i];

		if (s->our_fd >= 0 && s->file && s->file->seals &&
		    fcntl(s->our_fd, F_ADD_SEALS, s->file->seals) && !ret) {
			pr_perror("memfd %s: seals %#x", s->file->path, s->file->seals);
			ret = -errno;
		}
		if (s->verify && !ret)
			ret = rsysv_check_rest(s);
		if (s->ours) {
			shmdt(s->ours);
			s->ours = NULL;
		}
		if (s->sysv && s->sysv->removed && s->shmid >= 0)
			shmctl(s->shmid, IPC_RMID, NULL);
		s->created = false; /* the tree owns it now */
	}
	return ret;
}

/* Our handles closed; segments we created removed unless the tree has them. */
void rshm_free(struct rst_image *img)
{
	size_t i;

	for (i = 0; i < img->nr_shm; i++) {
		struct rst_shmem *s = &img->shm[i];

		if (s->our_fd >= 0)
			close(s->our_fd);
		if (s->ours)
			shmdt(s->ours);
		if (s->created && s->shmid >= 0)
			shmctl(s->shmid, IPC_RMID, NULL);
		free(s->covered);
	}
	free(img->shm);
	img->shm = NULL;
	img->nr_shm = 0;
}
