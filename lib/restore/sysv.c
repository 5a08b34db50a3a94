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
 * A SIGKILLed vxrestore cannot remove what it created, so before the first
 * segment is created a janitor is forked: it waits for the end of a pipe
 * only we hold, and unless we said "committed" first, it removes every
 * segment whose creator is our pid and that nobody has attached (the
 * half-built tree died with us).  /proc/sysvipc/shm gives the creator, so
 * no id has to reach the janitor before we die.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "log.h"
#include "proc/proc.h"
#include "restore/restore.h"

#define JANITOR_COMMIT 'c'
#define JANITOR_WAIT_MS 5000

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

/*
 * Janitor: removes the segments creator made, once nobody has them
 * attached (the half-built tree dies with its tracer, a moment after us);
 * gives up on a segment still attached after JANITOR_WAIT_MS.  Returns how
 * many are still attached.
 */
static size_t janitor_pass(pid_t creator)
{
	struct proc_sysv_shm *segs = NULL;
	size_t n = 0, i, busy = 0;
	char *text;

	if (proc_read_path("/proc/sysvipc/shm", &text, NULL))
		return 0;
	if (!proc_parse_sysv_shm(text, &segs, &n)) {
		for (i = 0; i < n; i++) {
			if (segs[i].cpid != creator)
				continue;
			if (segs[i].nattch)
				busy++;
			else
				shmctl(segs[i].shmid, IPC_RMID, NULL);
		}
	}
	free(text);
	free(segs);
	return busy;
}

static void janitor_sweep(pid_t creator)
{
	struct timespec ts = { 0, 10 * 1000000 };
	int waited;

	for (waited = 0; janitor_pass(creator) && waited < JANITOR_WAIT_MS; waited += 10)
		nanosleep(&ts, NULL);
	_exit(0);
}

/* Janitor: waits for the end of our pipe (see the head comment). */
static void janitor_main(int rd, pid_t creator)
{
	char c = 0;
	ssize_t r;

	syscall(SYS_close_range, 0, rd - 1, 0);
	syscall(SYS_close_range, rd + 1, ~0u, 0);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	do {
		r = read(rd, &c, 1);
	} while (r < 0 && errno == EINTR);
	if (r == 1 && c == JANITOR_COMMIT)
		_exit(0);
	janitor_sweep(creator);
}

/* Starts root's janitor once.  0 or -errno (logged). */
static int janitor_start(struct restore_ctx *root)
{
	pid_t self = getpid(), pid;
	int p[2];

	if (root->janitor_fd >= 0)
		return 0;
	if (pipe2(p, O_CLOEXEC)) {
		pr_perror("janitor pipe");
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		pr_perror("cannot start the SysV janitor");
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0)
		janitor_main(p[0], self);
	close(p[0]);
	root->janitor_fd = p[1];
	root->janitor_pid = pid;
	return 0;
}

void rsysv_commit(struct restore_ctx *root, bool committed)
{
	char c = JANITOR_COMMIT;

	if (root->janitor_fd < 0)
		return;
	if (committed && write(root->janitor_fd, &c, 1) != 1)
		pr_warn("SysV janitor: %s\n", strerror(errno));
	close(root->janitor_fd);
	root->janitor_fd = -1;
	waitpid(root->janitor_pid, NULL, 0);
}

/* Is existing segment ds the image's own left-over (metadata)? */
static bool sysv_same(const SysvShmEntry *e, const struct shmid_ds *ds)
{
	return (int)ds->shm_perm.__key == e->key && ds->shm_segsz == e->size &&
	       !ds->shm_nattch && ds->shm_perm.uid == e->uid && ds->shm_perm.gid == e->gid &&
	       ds->shm_perm.cuid == e->cuid && ds->shm_perm.cgid == e->cgid &&
	       (ds->shm_perm.mode & 0777) == (e->mode & 0777);
}

/* An existing segment: taken read-only for comparison, or refused. */
static int sysv_take_existing(struct rst_shmem *s, const struct shmid_ds *ds)
{
	const SysvShmEntry *e = s->sysv;

	if (!sysv_same(e, ds)) {
		pr_err("SysV segment id %d exists and is not this image's (key, size, owner, mode "
		       "or attachments differ): not restoring into it\n", e->shmid);
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
static int sysv_create(struct restore_ctx *root, struct rst_shmem *s)
{
	const SysvShmEntry *e = s->sysv;
	struct shmid_ds ds;
	int id, ret;

	ret = janitor_start(root);
	ret = ret ? : write_sysctl("/proc/sys/kernel/shm_next_id", e->shmid);
	if (ret) {
		pr_err("cannot set kernel.shm_next_id (needed for SysV segment %d): %s\n",
		       e->shmid, strerror(-ret));
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

int rsysv_get(struct restore_ctx *root, struct rst_shmem *s)
{
	struct shmid_ds ds;
	int ret;

	if (shmctl(s->sysv->shmid, IPC_STAT, &ds) == 0)
		ret = sysv_take_existing(s, &ds);
	else
		ret = sysv_create(root, s);
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
		       "not restoring into it\n", s->shmid);
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
				       "image's: not restoring into it\n", s->shmid);
				return -EEXIST;
			}
		}
	}
	return 0;
}
