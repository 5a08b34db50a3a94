/*
 * Open files: every fd of /proc/PID/fd with its fdinfo, a handle obtained
 * with pidfd_getfd, descriptions shared by several fds folded with kcmp;
 * the image-wide file table (also FILE_MAPONLY entries for mappings and the
 * exe link), FILE/FDTABLE records and FILE_DATA of deleted files.  A memfd
 * is a FILE_MEMFD entry naming its shmem object (memfd.c).  Each fd kind
 * plugs in through one row of fd-kinds.c; the kinds reopened by path
 * (regular files, directories, devices) live here; terminals in tty.c.
 *
 * fd tables: a process's own (not when it shares its parent's, share.c)
 * and those of threads that have one of their own (/proc/TID/fd, handles
 * through a PIDFD_THREAD pidfd).  Finding the description an fd shares
 * with an earlier one: the descriptions of each inode (dev, ino) are kept
 * in kcmp(KCMP_FILE) order, so a binary search needs about log2(n) kcmp
 * calls instead of one per earlier description of that inode.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <linux/kcmp.h>

#define LOG_PREFIX "dump/files: "
#include "log.h"
#include "dump/dump.h"
#include "img/img.h"
#include "img/records.h"
#include "util/cleanup.h"

#define HASH_MIN 256

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

/* The file descriptions and the MAPONLY entry of one inode. */
struct inode_files {
	struct inode_files *next; /* hash chain */
	uint64_t dev, ino;
	uint32_t maponly_id; /* its FILE_MAPONLY entry, 0 if none */
	bool unsorted;	     /* kcmp failed once: linear search */
	uint32_t *ids;	     /* descriptions, in kcmp order */
	size_t n, cap;
};

static bool is_chr(const struct fd_probe *p)
{
	return S_ISCHR(p->st.st_mode);
}
static bool is_blk(const struct fd_probe *p)
{
	return S_ISBLK(p->st.st_mode);
}
static bool is_dir(const struct fd_probe *p)
{
	return S_ISDIR(p->st.st_mode);
}
static bool is_reg(const struct fd_probe *p)
{
	return S_ISREG(p->st.st_mode);
}

/* Does p's /proc/PID/fd link start with prefix? */
bool fd_link_starts(const struct fd_probe *p, const char *prefix)
{
	return !strncmp(p->link, prefix, strlen(prefix));
}

/* df's path (and e.path) becomes a copy of path.  0 or -ENOMEM. */
int fd_set_path(struct dump_file *df, const char *path)
{
	df->path = strdup(path);
	if (!df->path)
		return -ENOMEM;
	df->e.path = df->path;
	return 0;
}

/*
 * Opens our own read-only handle on fd (also works for unlinked files).
 * O_NOATIME where allowed: reading through it must not change the file.
 */
int fd_reopen_ro(const struct fd_probe *p, int extra)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", p->pid, p->fd);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOATIME | extra);
	return fd < 0 && errno == EPERM ? open(path, O_RDONLY | O_CLOEXEC | extra) : fd;
}

/*
 * A regular file: its path, or (deleted) its ghost's fields and data
 * extents for FILE_DATA (deleted.c), read through our own description.
 */
static int dump_reg(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	bool deleted = proc_strip_deleted(p->link) || p->st.st_nlink == 0;
	char who[48];
	int ret;

	df->e.kind = FILE_KIND__FILE_REG;
	ret = fd_set_path(df, p->link);
	if (ret || !deleted)
		return ret;
	snprintf(who, sizeof(who), "pid %d fd %d", p->pid, p->fd);
	if (df->local_fd >= 0)
		close(df->local_fd);
	df->local_fd = fd_reopen_ro(p, 0);
	if (df->local_fd < 0) {
		pr_perror("pid %d fd %d: cannot open deleted file %s", p->pid, p->fd, p->link);
		return -errno;
	}
	return deleted_probe(&op->files, df, who, &p->st);
}

/* A directory: by path; a removed one is rebuilt as a ghost (deleted.c). */
static int dump_dir(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	bool deleted = proc_strip_deleted(p->link);
	char who[48];
	int ret;

	df->e.kind = FILE_KIND__FILE_DIR;
	ret = fd_set_path(df, p->link);
	if (ret || !deleted)
		return ret;
	snprintf(who, sizeof(who), "pid %d fd %d", p->pid, p->fd);
	return deleted_probe(&op->files, df, who, &p->st);
}

/* A character device: by path; a removed node as a ghost (deleted.c). */
static int dump_chr(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	bool deleted = proc_strip_deleted(p->link);
	char who[48];
	int ret;

	df->e.kind = FILE_KIND__FILE_CHR;
	ret = fd_set_path(df, p->link);
	if (ret || !deleted)
		return ret;
	snprintf(who, sizeof(who), "pid %d fd %d", p->pid, p->fd);
	return deleted_probe(&op->files, df, who, &p->st);
}

/* A block device: by path; a removed node as a ghost (deleted.c). */
static int dump_blk(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	bool deleted = proc_strip_deleted(p->link);
	char who[48];
	int ret;

	df->e.kind = FILE_KIND__FILE_BLK;
	ret = fd_set_path(df, p->link);
	if (ret || !deleted)
		return ret;
	snprintf(who, sizeof(who), "pid %d fd %d", p->pid, p->fd);
	return deleted_probe(&op->files, df, who, &p->st);
}

const struct dump_fd_kind dump_fd_chr = { "chr", is_chr, dump_chr, NULL };
const struct dump_fd_kind dump_fd_blk = { "blk", is_blk, dump_blk, NULL };
const struct dump_fd_kind dump_fd_dir = { "dir", is_dir, dump_dir, NULL };
const struct dump_fd_kind dump_fd_reg = { "reg", is_reg, dump_reg, NULL };

struct dump_file *files_new(struct dump_files *f)
{
	struct dump_file *nv, *df;

	if (f->n == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 32;

		nv = realloc(f->v, ncap * sizeof(*nv));
		if (!nv)
			return NULL;
		f->v = nv;
		f->cap = ncap;
	}
	df = &f->v[f->n++];
	memset(df, 0, sizeof(*df));
	file_entry__init(&df->e);
	PB_SET(&df->e, id, f->n);
	df->local_fd = -1;
	df->first_fd = -1;
	return df;
}

static void fill_stat(FileEntry *e, const struct stat *st)
{
	PB_SET(e, mode, st->st_mode);
	PB_SET(e, dev, st->st_dev);
	PB_SET(e, ino, st->st_ino);
	PB_SET(e, size, st->st_size);
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		PB_SET(e, rdev, st->st_rdev);
	PB_SET(e, mtime_ns, (uint64_t)st->st_mtim.tv_sec * 1000000000ull + st->st_mtim.tv_nsec);
}

static size_t inode_hash(uint64_t dev, uint64_t ino, size_t n_hash)
{
	uint64_t h = (ino ^ (dev << 32) ^ (dev >> 32)) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 32) & (n_hash - 1);
}

/* Doubles the hash table when it gets full.  0 or -ENOMEM. */
static int inode_grow(struct dump_files *f)
{
	size_t n = f->n_hash ? f->n_hash * 2 : HASH_MIN, i, b;
	struct inode_files **nh, *in, *next;

	nh = calloc(n, sizeof(*nh));
	if (!nh)
		return -ENOMEM;
	for (i = 0; i < f->n_hash; i++) {
		for (in = f->hash[i]; in; in = next) {
			next = in->next;
			b = inode_hash(in->dev, in->ino, n);
			in->next = nh[b];
			nh[b] = in;
		}
	}
	free(f->hash);
	f->hash = nh;
	f->n_hash = n;
	return 0;
}

/* The entry of inode (dev, ino), made if new; NULL without memory. */
static struct inode_files *inode_get(struct dump_files *f, uint64_t dev, uint64_t ino)
{
	struct inode_files *in;
	size_t b;

	if (f->n_hash) {
		for (in = f->hash[inode_hash(dev, ino, f->n_hash)]; in; in = in->next)
			if (in->dev == dev && in->ino == ino)
				return in;
	}
	if (f->n_inodes >= f->n_hash && inode_grow(f))
		return NULL;
	in = calloc(1, sizeof(*in));
	if (!in)
		return NULL;
	in->dev = dev;
	in->ino = ino;
	b = inode_hash(dev, ino, f->n_hash);
	in->next = f->hash[b];
	f->hash[b] = in;
	f->n_inodes++;
	return in;
}

/* Puts description id at position pos of in's list.  0 or -ENOMEM. */
static int inode_insert(struct inode_files *in, size_t pos, uint32_t id)
{
	uint32_t *nv;

	if (in->n == in->cap) {
		in->cap = in->cap ? in->cap * 2 : 4;
		nv = realloc(in->ids, in->cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		in->ids = nv;
	}
	memmove(in->ids + pos + 1, in->ids + pos, (in->n - pos) * sizeof(*in->ids));
	in->ids[pos] = id;
	in->n++;
	return 0;
}

/*
 * Deleted file behind a mapping or the exe link: its contents go to
 * FILE_DATA records, read through src (/proc/PID/map_files/... or
 * /proc/PID/exe, which open the unlinked inode).  0 or -errno (logged).
 */
static int maponly_deleted(struct dump_files *f, struct dump_file *df, const char *src,
			   const struct stat *st)
{
	df->local_fd = open(src, O_RDONLY | O_CLOEXEC | O_NOATIME);
	if (df->local_fd < 0 && errno == EPERM)
		df->local_fd = open(src, O_RDONLY | O_CLOEXEC);
	if (df->local_fd < 0) {
		pr_perror("%s: cannot open deleted file %s", src, df->path);
		return -errno;
	}
	return deleted_probe(f, df, src, st);
}

/*
 * One FILE_MAPONLY entry per distinct file (dev, ino); *id gets its id.
 * deleted_src: NULL, or where to read the contents of a deleted file.
 */
int files_add_maponly(struct dump_files *f, const char *path, const struct stat *st,
		      const char *deleted_src, uint32_t *id)
{
	struct inode_files *in;
	struct dump_file *df;
	int ret;

	in = inode_get(f, st->st_dev, st->st_ino);
	if (!in)
		return -ENOMEM;
	if (in->maponly_id) {
		*id = in->maponly_id;
		return 0;
	}
	df = files_new(f);
	if (!df)
		return -ENOMEM;
	in->maponly_id = df->e.id;
	PB_SET(&df->e, kind, FILE_KIND__FILE_MAPONLY);
	fill_stat(&df->e, st);
	*id = df->e.id;
	ret = fd_set_path(df, path);
	if (!ret && deleted_src)
		ret = maponly_deleted(f, df, deleted_src, st);
	return ret;
}

/* Without kcmp: same holder, inode, offset and flags is the best guess. */
static struct dump_file *find_linear(struct dump_files *f, const struct inode_files *in,
				     const struct fd_probe *p)
{
	size_t i;

	for (i = 0; i < in->n; i++) {
		struct dump_file *df = &f->v[in->ids[i] - 1];

		if (syscall(SYS_kcmp, df->first_pid, p->pid, KCMP_FILE, df->first_fd, p->fd) == 0)
			return df;
		if (df->first_pid == p->pid && df->e.pos == p->fi.pos &&
		    df->e.flags == (p->fi.flags & ~(uint32_t)O_CLOEXEC))
			return df;
	}
	return NULL;
}

/*
 * The description p shares with an fd seen before in any task of the tree
 * (dup, inherited over fork, SCM_RIGHTS), or NULL and in *pos where a new
 * one goes in in's kcmp order.  Binary search: kcmp orders descriptions.
 */
static struct dump_file *find_shared(struct dump_files *f, struct inode_files *in,
				     const struct fd_probe *p, size_t *pos)
{
	size_t lo = 0, hi = in->n, mid;
	struct dump_file *df;
	long r;

	*pos = in->n;
	if (in->unsorted)
		return find_linear(f, in, p);
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		df = &f->v[in->ids[mid] - 1];
		r = syscall(SYS_kcmp, p->pid, df->first_pid, KCMP_FILE, p->fd, df->first_fd);
		if (r == 0)
			return df;
		if (r < 0) {
			in->unsorted = true;
			return find_linear(f, in, p);
		}
		if (r == 1) /* p's description orders before df's */
			hi = mid;
		else
			lo = mid + 1;
	}
	*pos = lo;
	return NULL;
}

static int probe_fd(int pidfd, struct fd_probe *p)
{
	char name[48], *text;
	int ret;

	snprintf(name, sizeof(name), "fd/%d", p->fd);
	ret = proc_readlink(p->pid, name, p->link, sizeof(p->link));
	snprintf(name, sizeof(name), "fdinfo/%d", p->fd);
	ret = ret ?: proc_read_file(p->pid, name, &text, NULL);
	if (ret) {
		pr_err("pid %d fd %d: cannot read its /proc entries: %s\n", p->pid, p->fd,
		       strerror(-ret));
		return ret;
	}
	ret = proc_parse_fdinfo(text, &p->fi);
	p->fdinfo = text;
	if (ret) {
		pr_err("pid %d fd %d: malformed fdinfo\n", p->pid, p->fd);
		return ret;
	}
	p->local = syscall(SYS_pidfd_getfd, pidfd, p->fd, 0);
	snprintf(name, sizeof(name), "/proc/%d/fd/%d", p->pid, p->fd);
	if (p->local >= 0 ? fstat(p->local, &p->st) : stat(name, &p->st)) {
		pr_perror("pid %d fd %d: cannot stat %s", p->pid, p->fd, p->link);
		return -errno;
	}
	return 0;
}

static int add_fd_entry(struct dump_fdtable *fdt, const struct fd_probe *p, uint32_t id)
{
	struct dump_fd *nv;

	nv = realloc(fdt->fds, (fdt->n_fds + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	fdt->fds = nv;
	nv[fdt->n_fds].fd = p->fd;
	nv[fdt->n_fds].file_id = id;
	nv[fdt->n_fds].cloexec = p->fi.flags & O_CLOEXEC;
	fdt->n_fds++;
	return 0;
}

/*
 * The file description of fd p: the one it shares with an fd seen before
 * (kcmp), else a new one filled by its kind.  *out gets it (valid until
 * the next files_new).  0 or -errno (logged; -EOPNOTSUPP a refusal).
 */
static int collect_desc(struct dump_op *op, struct fd_probe *p, struct dump_file **out)
{
	const struct dump_fd_kind *k;
	struct inode_files *in;
	struct dump_file *df;
	size_t pos;
	int ret;

	in = inode_get(&op->files, p->st.st_dev, p->st.st_ino);
	if (!in)
		return -ENOMEM;
	*out = find_shared(&op->files, in, p, &pos);
	if (*out)
		return 0;
	k = dump_fd_kind_of(p);
	if (!k->dump) {
		pr_err("pid %d fd %d: %s: %s\n", p->pid, p->fd, p->link, k->refuse);
		return -EOPNOTSUPP;
	}
	df = files_new(&op->files);
	if (!df || inode_insert(in, pos, df->e.id))
		return -ENOMEM;
	*out = df;
	df->first_pid = p->pid;
	df->first_fd = p->fd;
	fill_stat(&df->e, &p->st);
	PB_SET(&df->e, flags, p->fi.flags & ~(uint32_t)O_CLOEXEC);
	PB_SET(&df->e, pos, p->fi.pos);
	ret = fown_dump(op, p, df);
	df->local_fd = steal_fd(&p->local);
	ret = ret ?: k->dump(op, p, df);
	PB_SET(&df->e, kind, df->e.kind);
	return ret;
}

/* Turns one fd into a (new or shared) file description and an entry of fdt. */
static int collect_fd(struct dump_op *op, struct dump_fdtable *fdt, struct fd_probe *p)
{
	struct dump_file *df;
	int ret;

	ret = collect_desc(op, p, &df);
	if (ret)
		return ret;
	ret = procfile_check_holder(op, df, p);
	ret = ret ?: locks_note_fd(op, p->pid, p->fd, fdt->files_id, df, p->fdinfo);
	return ret ?: add_fd_entry(fdt, p, df->e.id);
}

/* Kinds whose descriptions may be collected from the dumper's own fd. */
static const char *const inflight_kinds[] = { "reg",  "dir",	 "chr",	  "pipe",
					      "fifo", "eventfd", "unixsk" };

/*
 * A file description in flight (SCM_RIGHTS of a queued message), which
 * MSG_PEEK installed in us as fd (kept open until the files are freed:
 * kcmp compares later fds with it).  It becomes the description the tree
 * holds too, or one of its own; *id gets its file id, *kind its kind's
 * name.  who names the socket.  0 or -errno (logged; -EOPNOTSUPP a
 * refusal).
 */
int files_collect_inflight(struct dump_op *op, int fd, const char *who, uint32_t *id,
			   const char **kind)
{
	_cleanup_close_ int self = -1;
	const struct dump_fd_kind *k;
	struct dump_file *df;
	struct fd_probe *p;
	size_t i;
	int ret;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->pid = getpid();
	p->fd = fd;
	p->local = -1;
	self = syscall(SYS_pidfd_open, p->pid, 0);
	ret = self < 0 ? -errno : probe_fd(self, p);
	k = ret ? NULL : dump_fd_kind_of(p);
	for (i = 0; k && i < sizeof(inflight_kinds) / sizeof(inflight_kinds[0]); i++)
		if (!strcmp(k->name, inflight_kinds[i]))
			break;
	if (k && i == sizeof(inflight_kinds) / sizeof(inflight_kinds[0])) {
		pr_err("%s: a queued message carries %s (%s kind) in flight: not supported (only "
		       "regular files, directories, character devices, pipes, FIFOs, eventfds and "
		       "unix sockets)\n",
		       who, p->link, k->name);
		ret = -EOPNOTSUPP;
	}
	ret = ret ?: collect_desc(op, p, &df);
	if (!ret) {
		*id = df->e.id;
		*kind = k->name;
	}
	if (p->local >= 0)
		close(p->local);
	free(p->fdinfo);
	free(p);
	return ret;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* The fd numbers of pid, sorted.  *out is malloc'ed. */
static int list_fds(pid_t pid, int **out, size_t *n)
{
	char path[64];
	struct dirent *de;
	size_t cap = 0;
	int *v = NULL, *nv;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d) {
		pr_perror("pid %d: cannot list its fds", pid);
		return -errno;
	}
	*n = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		v[(*n)++] = atoi(de->d_name);
	}
	closedir(d);
	qsort(v, *n, sizeof(*v), cmp_int);
	*out = v;
	return 0;
}

/* Whether fd of the root's own table is one the caller leaves out. */
static bool skipped_fd(const struct dump_op *op, const struct dump_task *t, pid_t tid, int fd)
{
	size_t i;

	if (t != op->root || tid != t->pid)
		return false;
	for (i = 0; i < op->opts->n_skip_fds; i++)
		if (op->opts->skip_fds[i] == fd)
			return true;
	return false;
}

/*
 * Collects one fd table of frozen t: the process's (tid == t->pid, through
 * pidfd) or the own table of thread tid.  *out gets it.  0 or -errno
 * (logged).
 */
static int collect_table(struct dump_op *op, struct dump_task *t, pid_t tid, int pidfd,
			 uint32_t files_id, struct dump_fdtable **out)
{
	struct fd_probe *p;
	int *fds = NULL;
	size_t n = 0, i;
	int ret;

	*out = calloc(1, sizeof(**out));
	p = malloc(sizeof(*p));
	if (!*out || !p) {
		free(p);
		return -ENOMEM;
	}
	(*out)->files_id = files_id;
	ret = list_fds(tid, &fds, &n);
	for (i = 0; !ret && i < n; i++) {
		if (skipped_fd(op, t, tid, fds[i]))
			continue;
		memset(p, 0, sizeof(*p));
		p->pid = tid;
		p->index = t->index;
		p->fd = fds[i];
		p->local = -1;
		ret = probe_fd(pidfd, p);
		ret = ret ?: dump_refusal(op, t, collect_fd(op, *out, p));
		if (p->local >= 0)
			close(p->local);
		free(p->fdinfo);
	}
	free(fds);
	free(p);
	return ret;
}

/* The own fd table of thread th of t, through a pidfd of that thread. */
static int collect_thread_table(struct dump_op *op, struct dump_task *t, struct dump_thread *th)
{
	int pidfd, ret;

	pidfd = syscall(SYS_pidfd_open, th->tid, PIDFD_THREAD);
	if (pidfd < 0) {
		pr_perror("pid %d (thread %d): pidfd_open", t->pid, th->tid);
		return -errno;
	}
	ret = collect_table(op, t, th->tid, pidfd, th->files_id, &th->fdt);
	close(pidfd);
	return ret;
}

/*
 * Collects the fd tables of frozen t: its own unless it shares its
 * parent's (collected there), and every thread's own one.  0 or -errno
 * (logged).
 */
int collect_fds(struct dump_op *op, struct dump_task *t)
{
	size_t i;
	int ret = 0;

	if (t->files_id == t->index)
		ret = collect_table(op, t, t->pid, t->pidfd, t->files_id, &t->fdt);
	for (i = 1; !ret && i < t->n_threads; i++)
		if (t->threads[i].files_id)
			ret = collect_thread_table(op, t, &t->threads[i]);
	return ret;
}

/* Every file description and MAPONLY file of the image.  0 or -errno. */
int write_files(struct dump_op *op)
{
	size_t i;
	int ret = 0;

	pipes_mark_external(&op->files);
	for (i = 0; !ret && i < op->files.n; i++)
		ret = img_write_msg(op->w, IMG_REC_FILE, &op->files.v[i].e.base);
	if (ret)
		pr_err("cannot write file record %zu: %s\n", i, strerror(-ret));
	return ret;
}

/* One FDTABLE record; tid names the holder.  0 or -errno (logged). */
static int write_fdtable(struct dump_op *op, pid_t tid, const struct dump_fdtable *fdt)
{
	FdtableEntry fe = FDTABLE_ENTRY__INIT;
	FdEntry *ents, **pents;
	size_t i;
	int ret = -ENOMEM;

	ents = calloc(fdt->n_fds + 1, sizeof(*ents));
	pents = calloc(fdt->n_fds + 1, sizeof(*pents));
	if (!ents || !pents)
		goto out_free;
	for (i = 0; i < fdt->n_fds; i++) {
		fd_entry__init(&ents[i]);
		PB_SET(&ents[i], fd, fdt->fds[i].fd);
		PB_SET(&ents[i], file_id, fdt->fds[i].file_id);
		PB_SET(&ents[i], cloexec, fdt->fds[i].cloexec);
		pents[i] = &ents[i];
	}
	PB_SET(&fe, files_id, fdt->files_id);
	fe.fds = pents;
	fe.n_fds = fdt->n_fds;
	ret = img_write_msg(op->w, IMG_REC_FDTABLE, &fe.base);
	if (ret)
		pr_err("pid %d: cannot write the fd table: %s\n", tid, strerror(-ret));
out_free:
	free(ents);
	free(pents);
	return ret;
}

/* The fd tables live t holds: its own (if not its parent's), its threads'. */
int write_fdtables(struct dump_op *op, struct dump_task *t)
{
	size_t i;
	int ret = 0;

	if (t->fdt)
		ret = write_fdtable(op, t->pid, t->fdt);
	for (i = 1; !ret && i < t->n_threads; i++)
		if (t->threads[i].fdt)
			ret = write_fdtable(op, t->threads[i].tid, t->threads[i].fdt);
	return ret;
}

void free_files(struct dump_files *f)
{
	struct inode_files *in, *next;
	size_t i, j, k;

	for (i = 0; i < f->n_hash; i++) {
		for (in = f->hash[i]; in; in = next) {
			next = in->next;
			free(in->ids);
			free(in);
		}
	}
	free(f->hash);
	for (i = 0; i < f->n; i++) {
		free(f->v[i].path);
		free(f->v[i].pipe_data);
		free(f->v[i].skq);
		free(f->v[i].sub);
		free(f->v[i].sub2);
		free(f->v[i].ext);
		free(f->v[i].dev_path);
		for (j = 0; j < f->v[i].n_scm; j++)
			for (k = 0; k < f->v[i].scm[j].n; k++)
				close(f->v[i].scm[j].fds[k]);
		free(f->v[i].scm);
		free(f->v[i].scm_v);
		if (f->v[i].local_fd >= 0)
			close(f->v[i].local_fd);
	}
	free(f->v);
	memset(f, 0, sizeof(*f));
}

void free_fdtable(struct dump_fdtable *fdt)
{
	if (!fdt)
		return;
	free(fdt->fds);
	free(fdt);
}
