/*
 * Post-copy, the destination's side (vxcr serve, a --lazy migration;
 * proto.h).  The restore hands us each process's userfaultfd with its
 * IMG_PAGES_LAZY areas registered (MISSING; restore/uffd.c, made without
 * UFFD_USER_MODE_ONLY so the kernel's own accesses wait too).  Once the
 * tree runs, a fault thread turns faults into LAZY_REQ messages and the
 * caller's thread copies every PAGES message in with UFFDIO_COPY, until
 * LAZY_DONE: then every non-zero page is in, and closing the uffds lets
 * the untouched rest read zeros (the faults still waiting retry and get a
 * zero page).
 *
 * Pages are tracked per page of the original areas: settled once copied
 * or once the process dropped them (MADV_DONTNEED: a REMOVE event; munmap:
 * UNMAP), so a late copy never puts old bytes where the process expects
 * zeros; a fault on a settled page is zero-filled.  mremap (REMAP) is
 * followed with a list of moves: a fault at a moved address asks for the
 * original one, and a page copied later goes where it is now.  The copier
 * and the event reader share a mutex; a copy racing an event the reader
 * has not read yet gets EAGAIN from the kernel (mmap_changing) and retries
 * after it.  A fork (FORK: a new uffd for the child) is followed: the
 * child is served like its parent, from the same source pages, with the
 * parent's settled pages; every PAGES message goes into each process of
 * its key.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <poll.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>

#define LOG_PREFIX "mig/lazy-dst: "
#include "log.h"
#include "error.h"
#include "img/chan.h"
#include "img/pstore.h"
#include "mig/proto.h"

#define PG MIG_PAGE_SZ
#define REQ_PAGES 16 /* a fault asks for this many pages (fewer at an area's end) */
#define MAX_MSGS 32

struct lazy_move {
	uint64_t from, to, len;
};

struct lazy_proc {
	uint32_t key;
	pid_t pid; /* as the restore saw it (in its pid namespace) */
	int uffd;
	int pidfd;   /* to kill it if the pages cannot come */
	uint64_t *r; /* start, end pairs (original addresses) */
	size_t n;
	uint8_t **settled; /* per area, per page */
	struct lazy_move *mv;
	size_t n_mv;
	bool gone; /* exited (a forked child's copies fail with ESRCH) */
};

struct lazy_dst {
	struct lazy_proc *p;
	size_t n;
	pid_t owner;
	int sk[2]; /* a restore in a pid namespace's init sends its takes here */
	pthread_mutex_t mu;
	int stop[2];
	struct chan *ch;
	const struct vxcr_pstore *ps; /* pre-copy: the pages are here (local) */
	int req[2];		      /* local: the fault thread's asks, to the copier */
	uint64_t dropped;	      /* local: asks the full pipe lost (filled anyway) */
	int fault_err;
	unsigned forks; /* processes added by fork events */
	struct lazy_dst_stats st;
};

int lazy_dst_new(struct lazy_dst **out)
{
	struct lazy_dst *ld = calloc(1, sizeof(*ld));

	if (!ld)
		return -ENOMEM;
	ld->owner = getpid();
	ld->stop[0] = ld->stop[1] = -1;
	ld->req[0] = ld->req[1] = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ld->sk)) {
		free(ld);
		pr_perror("post-copy: cannot make a socket pair");
		return -errno;
	}
	pthread_mutex_init(&ld->mu, NULL);
	*out = ld;
	return 0;
}

#define SEND_MAX_RANGES 512

struct take_msg {
	uint32_t key, n;
	int32_t pid;
	uint64_t r[SEND_MAX_RANGES];
};

/* From the restore in a pid namespace's init: over ld->sk with the fds. */
static int send_take(struct lazy_dst *ld, uint32_t key, pid_t pid, int uffd, int pidfd,
		     const uint64_t *ranges, size_t n)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct take_msg m = { key, (uint32_t)n, pid, { 0 } };
	struct iovec iov = { &m, offsetof(struct take_msg, r) + n * sizeof(*ranges) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	int fds[2] = { uffd, pidfd };

	if (n > SEND_MAX_RANGES) {
		pr_err("post-copy: pid %d has %zu lazy areas (at most %d)\n", pid, n / 2,
		       SEND_MAX_RANGES / 2);
		return -E2BIG;
	}
	memcpy(m.r, ranges, n * sizeof(*ranges));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	if (sendmsg(ld->sk[1], &mh, MSG_NOSIGNAL) < 0) {
		pr_perror("post-copy: cannot hand pid %d's userfaultfd over", pid);
		return -errno;
	}
	return 0;
}

static int add_proc(struct lazy_dst *ld, uint32_t key, pid_t pid, int uffd, int pidfd,
		    const uint64_t *ranges, size_t n)
{
	struct lazy_proc *p;
	size_t i;

	p = realloc(ld->p, (ld->n + 1) * sizeof(*p));
	if (!p) {
		close(uffd);
		close(pidfd);
		return -ENOMEM;
	}
	ld->p = p;
	p = &ld->p[ld->n++];
	memset(p, 0, sizeof(*p));
	p->key = key;
	p->pid = pid;
	p->uffd = uffd;
	p->pidfd = pidfd;
	p->r = malloc(n * sizeof(*p->r));
	p->settled = calloc(n / 2 + 1, sizeof(*p->settled));
	if (!p->r || !p->settled)
		return -ENOMEM;
	memcpy(p->r, ranges, n * sizeof(*p->r));
	p->n = n;
	for (i = 0; i < n; i += 2) {
		p->settled[i / 2] = calloc((ranges[i + 1] - ranges[i]) / PG, 1);
		if (!p->settled[i / 2])
			return -ENOMEM;
	}
	return 0;
}

int lazy_dst_take(void *arg, uint32_t key, pid_t pid, int uffd, const uint64_t *ranges, size_t n)
{
	struct lazy_dst *ld = arg;
	int pidfd, ret;

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		ret = -errno;
		close(uffd);
		pr_perror("post-copy: pid %d", pid);
		return ret;
	}
	if (getpid() == ld->owner)
		return add_proc(ld, key, pid, uffd, pidfd, ranges, n);
	ret = send_take(ld, key, pid, uffd, pidfd, ranges, n);
	close(uffd);
	close(pidfd);
	return ret;
}

/* The takes a restore in a pid namespace's init sent (all there by now). */
static int recv_takes(struct lazy_dst *ld)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct take_msg m;
	struct iovec iov = { &m, sizeof(m) };
	struct msghdr mh;
	struct cmsghdr *cm;
	int fds[2], ret;
	ssize_t r;

	for (;;) {
		mh = (struct msghdr){ .msg_iov = &iov,
				      .msg_iovlen = 1,
				      .msg_control = cbuf,
				      .msg_controllen = sizeof(cbuf) };
		r = recvmsg(ld->sk[0], &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (r < 0)
			return errno == EAGAIN ? 0 : -errno;
		cm = CMSG_FIRSTHDR(&mh);
		if (!cm || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(fds)))
			return -EPROTO;
		memcpy(fds, CMSG_DATA(cm), sizeof(fds));
		if ((size_t)r < offsetof(struct take_msg, r) || m.n % 2 || m.n > SEND_MAX_RANGES ||
		    (size_t)r != offsetof(struct take_msg, r) + m.n * sizeof(m.r[0])) {
			close(fds[0]);
			close(fds[1]);
			return -EPROTO;
		}
		ret = add_proc(ld, m.key, m.pid, fds[0], fds[1], m.r, m.n);
		if (ret)
			return ret;
	}
}

void lazy_dst_free(struct lazy_dst *ld)
{
	size_t i, j;

	if (!ld)
		return;
	for (i = 0; i < ld->n; i++) {
		if (ld->p[i].uffd >= 0)
			close(ld->p[i].uffd);
		if (ld->p[i].pidfd >= 0)
			close(ld->p[i].pidfd);
		for (j = 0; ld->p[i].settled && j < ld->p[i].n / 2; j++)
			free(ld->p[i].settled[j]);
		free(ld->p[i].settled);
		free(ld->p[i].r);
		free(ld->p[i].mv);
	}
	free(ld->p);
	close(ld->sk[0]);
	close(ld->sk[1]);
	if (ld->stop[0] >= 0)
		close(ld->stop[0]);
	if (ld->stop[1] >= 0)
		close(ld->stop[1]);
	if (ld->req[0] >= 0)
		close(ld->req[0]);
	if (ld->req[1] >= 0)
		close(ld->req[1]);
	pthread_mutex_destroy(&ld->mu);
	free(ld);
}

/* The settled byte of original address a, or NULL (in no lazy area). */
static uint8_t *settled_at(struct lazy_proc *p, uint64_t a)
{
	size_t i;

	for (i = 0; i < p->n; i += 2)
		if (a >= p->r[i] && a < p->r[i + 1])
			return &p->settled[i / 2][(a - p->r[i]) / PG];
	return NULL;
}

/* Where original address a is now (moves replayed in order). */
static uint64_t to_now(const struct lazy_proc *p, uint64_t a)
{
	size_t i;

	for (i = 0; i < p->n_mv; i++)
		if (a >= p->mv[i].from && a < p->mv[i].from + p->mv[i].len)
			a = p->mv[i].to + (a - p->mv[i].from);
	return a;
}

/*
 * The original address of what is now at a (moves undone, last first), or
 * 0: a move took what was there away (the kernel's UNMAP of a moved
 * area's old place comes after its REMAP).
 */
static uint64_t to_orig(const struct lazy_proc *p, uint64_t a)
{
	size_t i;

	for (i = p->n_mv; i-- > 0;) {
		if (a >= p->mv[i].to && a < p->mv[i].to + p->mv[i].len)
			a = p->mv[i].from + (a - p->mv[i].to);
		else if (a >= p->mv[i].from && a < p->mv[i].from + p->mv[i].len)
			return 0;
	}
	return a;
}

/* [s, e) as the process sees it now is dropped: settled. */
static void settle_now(struct lazy_proc *p, uint64_t s, uint64_t e)
{
	uint8_t *b;

	for (s &= ~(uint64_t)(PG - 1); s < e; s += PG) {
		b = to_orig(p, s) ? settled_at(p, to_orig(p, s)) : NULL;
		if (b)
			*b = 1;
	}
}

/* ---- the fault thread ---- */

static void zero_page(struct lazy_dst *ld, struct lazy_proc *p, uint64_t now)
{
	struct uffdio_zeropage z = { .range = { now, PG } };

	if (ioctl(p->uffd, UFFDIO_ZEROPAGE, &z) && errno != EEXIST && errno != ENOENT)
		pr_warn("pid %d: cannot zero-fill %#llx: %s\n", p->pid, (unsigned long long)now,
			strerror(errno));
	ld->st.zeroed++;
}

/* One event of p (under the mutex); a fault to ask for goes into *q. */
/*
 * A fork of p (its areas registered in the child with a new uffd, fd our
 * own): the child is served like p, from the same source pages, with p's
 * settled pages (present in the child, or dropped there too) and moves.
 * Its pid is not known; kill_all() finds it among p's descendants.
 */
static void forked(struct lazy_dst *ld, size_t pi, int ufd)
{
	struct lazy_proc *p, *c;
	size_t i, n;

	p = realloc(ld->p, (ld->n + 1) * sizeof(*p));
	if (!p) {
		pr_warn("out of memory following a fork: its child reads zeros for missing pages\n");
		close(ufd);
		return;
	}
	ld->p = p;
	p = &ld->p[pi];
	c = &ld->p[ld->n];
	memset(c, 0, sizeof(*c));
	c->key = p->key;
	c->uffd = ufd;
	c->pidfd = -1;
	c->r = malloc(p->n * sizeof(*c->r));
	c->settled = calloc(p->n / 2 + 1, sizeof(*c->settled));
	c->mv = p->n_mv ? malloc(p->n_mv * sizeof(*c->mv)) : NULL;
	ld->n++; /* freed with the others whatever follows */
	if (!c->r || !c->settled || (p->n_mv && !c->mv)) {
		pr_warn("out of memory following a fork\n");
		return;
	}
	memcpy(c->r, p->r, p->n * sizeof(*c->r));
	c->n = p->n;
	if (p->n_mv)
		memcpy(c->mv, p->mv, p->n_mv * sizeof(*c->mv));
	c->n_mv = p->n_mv;
	for (i = 0; i < p->n; i += 2) {
		n = (p->r[i + 1] - p->r[i]) / PG;
		c->settled[i / 2] = malloc(n);
		if (c->settled[i / 2])
			memcpy(c->settled[i / 2], p->settled[i / 2], n);
		else
			c->n = i; /* the rest untracked: its faults read zeros */
	}
	ld->forks++;
}

static bool event(struct lazy_dst *ld, size_t pi, const struct uffd_msg *m, struct mig_lazy_req *q)
{
	struct lazy_proc *p = &ld->p[pi];
	uint64_t now, orig, n;
	struct lazy_move *mv;
	uint8_t *b;

	switch (m->event) {
	case UFFD_EVENT_PAGEFAULT:
		now = m->arg.pagefault.address & ~(uint64_t)(PG - 1);
		orig = to_orig(p, now);
		b = settled_at(p, orig);
		if (!b || *b) { /* dropped since, or grown by mremap: zeros */
			zero_page(ld, p, now);
			return false;
		}
		for (n = 1; n < REQ_PAGES && settled_at(p, orig + n * PG) &&
			    !*settled_at(p, orig + n * PG);
		     n++)
			;
		*q = (struct mig_lazy_req){ htole64(orig), htole64(n * PG), htole32(p->key), 0 };
		ld->st.faults++;
		return true;
	case UFFD_EVENT_REMOVE:
	case UFFD_EVENT_UNMAP:
		settle_now(p, m->arg.remove.start, m->arg.remove.end);
		return false;
	case UFFD_EVENT_FORK:
		forked(ld, pi, (int)m->arg.fork.ufd);
		return false;
	case UFFD_EVENT_REMAP:
		mv = realloc(p->mv, (p->n_mv + 1) * sizeof(*mv));
		if (!mv) {
			pr_warn("pid %d: out of memory following an mremap\n", p->pid);
			return false;
		}
		p->mv = mv;
		p->mv[p->n_mv++] =
			(struct lazy_move){ m->arg.remap.from, m->arg.remap.to, m->arg.remap.len };
		return false;
	default:
		return false;
	}
}

/*
 * Local: an ask goes to the copier through a pipe; when it is full the ask
 * is dropped (the background fill reaches the page all the same), so the
 * fault thread never waits on a copier that waits on it (mmap_changing).
 */
static int ask_local(struct lazy_dst *ld, const struct mig_lazy_req *q)
{
	if (write(ld->req[1], q, sizeof(*q)) == (ssize_t)sizeof(*q))
		return 0;
	if (errno == EAGAIN) {
		ld->dropped++;
		return 0;
	}
	pr_perror("pre-copy: cannot pass a fault on");
	return -errno;
}

static void *fault_thread(void *arg)
{
	struct lazy_dst *ld = arg;
	struct pollfd *pf = NULL, *npf;
	struct mig_lazy_req q[MAX_MSGS];
	struct uffd_msg m[MAX_MSGS];
	size_t i, nq, k, npoll = 0;
	ssize_t r;
	int ret = 0;

	while (!ret) {
		if (!pf || npoll != ld->n) { /* a fork added a process (only we add them) */
			npf = realloc(pf, (ld->n + 1) * sizeof(*pf));
			if (!npf) {
				ret = -ENOMEM;
				break;
			}
			pf = npf;
			npoll = ld->n;
			for (i = 0; i < npoll; i++)
				pf[i] = (struct pollfd){ .fd = ld->p[i].uffd, .events = POLLIN };
			pf[npoll] = (struct pollfd){ .fd = ld->stop[0], .events = POLLIN };
		}
		if (poll(pf, npoll + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		if (pf[npoll].revents)
			break;
		for (i = 0; !ret && i < npoll; i++) {
			if (!pf[i].revents)
				continue;
			nq = 0;
			pthread_mutex_lock(&ld->mu);
			r = read(ld->p[i].uffd, m, sizeof(m));
			for (k = 0; r > 0 && k < (size_t)r / sizeof(m[0]); k++)
				nq += event(ld, i, &m[k], &q[nq]);
			pthread_mutex_unlock(&ld->mu);
			if (r < 0 && errno != EAGAIN && errno != EINTR) {
				pr_perror("pid %d: cannot read its userfaultfd", ld->p[i].pid);
				ret = -errno;
			}
			for (k = 0; !ret && k < nq; k++)
				ret = ld->ps ? ask_local(ld, &q[k]) :
					       chan_send(ld->ch, MIG_LAZY_REQ, &q[k], sizeof(q[k]));
		}
	}
	free(pf);
	ld->fault_err = ret;
	return NULL;
}

/* ---- the copier ---- */

static struct lazy_proc *proc_of(struct lazy_dst *ld, uint32_t key)
{
	size_t i;

	for (i = 0; i < ld->n; i++)
		if (ld->p[i].key == key)
			return &ld->p[i];
	return NULL;
}

/* UFFDIO_COPY of len bytes to now; bytes done, or -errno (-EAGAIN: retry). */
static long copy_run(struct lazy_proc *p, uint64_t now, const uint8_t *src, uint64_t len)
{
	struct uffdio_copy c = { .dst = now, .src = (uintptr_t)src, .len = len };

	if (!ioctl(p->uffd, UFFDIO_COPY, &c))
		return (long)c.copy;
	if (c.copy > 0)
		return (long)c.copy;
	return -errno;
}

/*
 * The pages of a PAGES message into process pi (under the mutex, which a
 * retry drops: the array may grow meanwhile, so pi, not a pointer).
 */
static int copy_proc(struct lazy_dst *ld, size_t pi, uint64_t addr, const uint8_t *data, uint64_t n)
{
	struct lazy_proc *p = &ld->p[pi];
	uint64_t off = 0, run;
	uint8_t *b;
	long r;

	while (off < n && p->uffd >= 0) {
		b = settled_at(p, addr + off);
		if (!b || *b) {
			off += PG;
			continue;
		}
		/* a run of pages not settled, contiguous where they are now */
		for (run = PG; off + run < n && (b = settled_at(p, addr + off + run)) && !*b &&
			       to_now(p, addr + off + run) == to_now(p, addr + off) + run;
		     run += PG)
			;
		r = copy_run(p, to_now(p, addr + off), data + off, run);
		if (r == -EAGAIN) { /* an event first: let the fault thread read it */
			pthread_mutex_unlock(&ld->mu);
			usleep(50);
			pthread_mutex_lock(&ld->mu);
			p = &ld->p[pi];
			continue;
		}
		if (r == -ESRCH) { /* it exited (a forked child): nothing more to copy */
			p->gone = true;
			return 0;
		}
		if (r != -EEXIST && r < 0)
			pr_debug("pid %d: copy to %#llx: %s\n", p->pid,
				 (unsigned long long)to_now(p, addr + off), strerror((int)-r));
		if (r == -EEXIST || r == -ENOENT || r == -EFAULT) {
			r = PG; /* there already, or not mapped any more: skip the page */
		} else if (r < 0) {
			pr_err("pid %d: cannot copy its pages at %#llx: %s\n", p->pid,
			       (unsigned long long)(addr + off), strerror((int)-r));
			return (int)r;
		} else {
			ld->st.pages += (uint64_t)r / PG;
		}
		for (run = 0; run < (uint64_t)r; run += PG)
			*settled_at(p, addr + off + run) = 1;
		off += (uint64_t)r;
	}
	return 0;
}

static int copy_key(struct lazy_dst *ld, uint32_t key, uint64_t addr, const uint8_t *data,
		    uint64_t n);

/* One PAGES message: into every process of its key (a fork made more). */
static int copy_in(struct lazy_dst *ld, const void *buf, size_t len)
{
	const struct mig_pages *h = buf;
	const uint8_t *data = (const uint8_t *)buf + sizeof(*h);
	uint32_t key = le32toh(h->key);

	if (len <= sizeof(*h) || (len - sizeof(*h)) % PG) {
		pr_err("post-copy: a PAGES message of %zu bytes\n", len);
		return -EPROTO;
	}
	return copy_key(ld, key, le64toh(h->addr), data, len - sizeof(*h));
}

/* n bytes of pages of original address addr into every process of key. */
static int copy_key(struct lazy_dst *ld, uint32_t key, uint64_t addr, const uint8_t *data,
		    uint64_t n)
{
	struct lazy_proc *p;
	size_t i;
	int ret = 0;

	pthread_mutex_lock(&ld->mu);
	p = proc_of(ld, key);
	if (!p || addr % PG || !settled_at(p, addr) || !settled_at(p, addr + n - PG)) {
		pthread_mutex_unlock(&ld->mu);
		pr_err("post-copy: pages %#llx+%#llx of process %u are not lazy here\n",
		       (unsigned long long)addr, (unsigned long long)n, key);
		return -EPROTO;
	}
	for (i = 0; !ret && i < ld->n; i++)
		if (ld->p[i].key == key && !ld->p[i].gone)
			ret = copy_proc(ld, i, addr, data, n);
	pthread_mutex_unlock(&ld->mu);
	return ret;
}

/* The pid pidfd refers to, as we see it (fdinfo), or 0. */
static pid_t host_pid(int pidfd)
{
	char path[64], line[128];
	pid_t pid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pid: %d", &pid) == 1)
			break;
	fclose(f);
	return pid > 0 ? pid : 0;
}

static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512], *p;
	pid_t pp = 0;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return 0;
	buf[r] = '\0';
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %d", &pp) != 1)
		return 0;
	return pp;
}

#define KILL_MAX 4096

/*
 * Kills every process that had lazy pages, and their descendants (a
 * child forked during post-copy is known only by its uffd): collected
 * first, while the parents still hold them.
 */
static void kill_all(struct lazy_dst *ld)
{
	pid_t *set = calloc(KILL_MAX, sizeof(*set));
	size_t n = 0, before, i, k;
	struct dirent *de;
	DIR *d;

	for (i = 0; set && i < ld->n && n < KILL_MAX; i++)
		if (ld->p[i].pidfd >= 0 && (set[n] = host_pid(ld->p[i].pidfd)))
			n++;
	do {
		before = n;
		d = set ? opendir("/proc") : NULL;
		while (d && (de = readdir(d)) && n < KILL_MAX) {
			pid_t pid = (pid_t)strtol(de->d_name, NULL, 10), pp;

			if (pid <= 0 || !(pp = parent_of(pid)))
				continue;
			for (k = 0; k < n && set[k] != pid; k++)
				;
			if (k < n)
				continue;
			for (k = 0; k < n && set[k] != pp; k++)
				;
			if (k < n)
				set[n++] = pid;
		}
		if (d)
			closedir(d);
	} while (n != before);
	for (i = 0; i < ld->n; i++)
		if (ld->p[i].pidfd >= 0 &&
		    syscall(SYS_pidfd_send_signal, ld->p[i].pidfd, SIGKILL, NULL, 0))
			pr_warn("cannot kill pid %d: %s\n", ld->p[i].pid, strerror(errno));
	for (i = 0; i < n; i++)
		kill(set[i], SIGKILL);
	free(set);
}

int lazy_dst_run(struct lazy_dst *ld, struct chan *c, struct lazy_dst_stats *st)
{
	static const uint8_t want[] = { MIG_PAGES, MIG_LAZY_DONE, 0 };
	const void *buf;
	pthread_t th;
	uint8_t type;
	size_t len, i;
	char x = 'x';
	int ret;

	ld->ch = c;
	ret = recv_takes(ld);
	if (ret) {
		pr_err("post-copy: the restore's userfaultfds did not come over: %s\n",
		       strerror(-ret));
		kill_all(ld);
		return ret;
	}
	if (pipe2(ld->stop, O_CLOEXEC)) {
		ret = -errno;
		pr_perror("post-copy: cannot make a pipe");
		kill_all(ld);
		return ret;
	}
	ret = -pthread_create(&th, NULL, fault_thread, ld);
	if (ret) {
		pr_err("post-copy: cannot start the fault thread: %s\n", strerror(-ret));
		kill_all(ld);
		return ret;
	}
	for (;;) {
		ret = mig_expect(c, "post-copy", want, &type, &buf, &len);
		if (ret || type == MIG_LAZY_DONE)
			break;
		ret = copy_in(ld, buf, len);
		if (ret)
			break;
	}
	if (write(ld->stop[1], &x, 1) != 1)
		pr_warn("cannot stop the fault thread: %s\n", strerror(errno));
	pthread_join(th, NULL);
	if (!ret && ld->fault_err) {
		ret = ld->fault_err;
		pr_err("post-copy: asking for a page failed: %s\n", strerror(-ret));
	}
	if (ret) {
		pr_err("post-copy failed: the restored process cannot get its pages, it is "
		       "killed (lost)\n");
		kill_all(ld);
	}
	for (i = 0; i < ld->n; i++) { /* the faults waiting get zero pages, or die */
		close(ld->p[i].uffd);
		ld->p[i].uffd = -1;
	}
	*st = ld->st;
	return ret;
}

#define LOCAL_CHUNK 256 /* pages the background fill copies at a time */

/*
 * Local: npages pages of key at original address addr from the store (a
 * page it lacks reads zeros; restore checked they are all there), straight
 * when they sit side by side in it.
 */
static int copy_local(struct lazy_dst *ld, uint32_t key, uint64_t addr, uint64_t npages,
		      uint8_t *buf)
{
	const uint8_t *first = pstore_get(ld->ps, key, addr), *pg;
	bool direct = first != NULL;
	uint64_t i;

	for (i = 1; direct && i < npages; i++)
		direct = pstore_get(ld->ps, key, addr + i * PG) == first + i * PG;
	if (direct)
		return copy_key(ld, key, addr, first, npages * PG);
	for (i = 0; i < npages; i++) {
		pg = pstore_get(ld->ps, key, addr + i * PG);
		if (pg)
			memcpy(buf + i * PG, pg, PG);
		else
			memset(buf + i * PG, 0, PG);
	}
	return copy_key(ld, key, addr, buf, npages * PG);
}

/* Local: the faults the fault thread passed on, first. */
static int serve_asks(struct lazy_dst *ld, uint8_t *buf)
{
	struct mig_lazy_req q;
	uint64_t n;
	int ret = 0;

	while (!ret && read(ld->req[0], &q, sizeof(q)) == (ssize_t)sizeof(q)) {
		n = le64toh(q.len) / PG;
		ret = n && n <= REQ_PAGES ?
			      copy_local(ld, le32toh(q.key), le64toh(q.addr), n, buf) :
			      -EPROTO;
	}
	return ret;
}

int lazy_dst_run_local(struct lazy_dst *ld, const struct vxcr_pstore *ps, struct lazy_dst_stats *st)
{
	uint8_t *buf = malloc(LOCAL_CHUNK * PG);
	size_t i, k, n0;
	uint64_t a, s, e, n, nr;
	uint32_t key;
	pthread_t th;
	char x = 'x';
	int ret;

	ld->ps = ps;
	ret = buf ? recv_takes(ld) : -ENOMEM;
	if (!ret && (pipe2(ld->stop, O_CLOEXEC) || pipe2(ld->req, O_CLOEXEC | O_NONBLOCK)))
		ret = -errno;
	if (!ret)
		ret = -pthread_create(&th, NULL, fault_thread, ld);
	if (ret) {
		pr_err("pre-copy: cannot serve the pages from the store: %s\n", strerror(-ret));
		free(buf);
		kill_all(ld);
		return ret;
	}
	pthread_mutex_lock(&ld->mu);
	n0 = ld->n; /* a fork adds processes of the same keys */
	pthread_mutex_unlock(&ld->mu);
	for (i = 0; !ret && i < n0; i++) {
		for (k = 0;; k += 2) {
			pthread_mutex_lock(&ld->mu); /* the array may move (a fork) */
			nr = ld->p[i].n;
			key = ld->p[i].key;
			s = k < nr ? ld->p[i].r[k] : 0;
			e = k < nr ? ld->p[i].r[k + 1] : 0;
			pthread_mutex_unlock(&ld->mu);
			if (k >= nr)
				break;
			for (a = s; !ret && a < e; a += n * PG) {
				n = (e - a) / PG < LOCAL_CHUNK ? (e - a) / PG : LOCAL_CHUNK;
				ret = serve_asks(ld, buf) ?: copy_local(ld, key, a, n, buf);
			}
			if (ret)
				break;
		}
	}
	if (write(ld->stop[1], &x, 1) != 1)
		pr_warn("cannot stop the fault thread: %s\n", strerror(errno));
	pthread_join(th, NULL);
	if (!ret)
		ret = ld->fault_err;
	if (ret) {
		pr_err("pre-copy: filling the pages from the store failed (%s): the restored "
		       "process is killed (lost)\n",
		       strerror(-ret));
		kill_all(ld);
	}
	for (i = 0; i < ld->n; i++) {
		close(ld->p[i].uffd);
		ld->p[i].uffd = -1;
	}
	free(buf);
	*st = ld->st;
	return ret;
}
