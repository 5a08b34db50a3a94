/*
 * The network lock of a dump (lib/net/netlock.h): taken once the tree is
 * frozen and before any socket state is read, dropped once the tree is
 * killed (default) or released (--leave-running, or a failure).
 *
 * A tree in vxdump's network namespace: the TCP connections (and
 * listening sockets) held by its fds are locked one by one, read from our
 * pidfd_getfd copies (getsockname, getpeername, TCP_INFO's state): no
 * packet of another connection of the host is touched.  A tree whose root
 * is in another namespace (a context's own): the whole namespace.
 * --keep-net-lock copies the lock into a table named after the image,
 * left in place once the dump succeeded for vxrestore to remove.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define LOG_PREFIX "dump/netlock: "
#include "log.h"
#include "header.pb-c.h"
#include "dump/dump.h"
#include "img/img.h"
#include "net/netlock.h"
#include "util/testhook.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

/* The connections found, growing. */
struct conn_list {
	struct net_conn *v;
	size_t n, cap;
	struct stat ns; /* the namespace they must be in (ours) */
};

static int conn_add(struct conn_list *l, const struct net_conn *c)
{
	struct net_conn *nv;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		nv = realloc(l->v, l->cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		l->v = nv;
	}
	l->v[l->n++] = *c;
	return 0;
}

/* Is socket sk (ours) in namespace ns?  Unknown (old kernel): yes. */
static bool sock_in_ns(int sk, const struct stat *ns)
{
	struct stat st;
	int nsfd = ioctl(sk, SIOCGSKNS);
	bool in;

	if (nsfd < 0)
		return true;
	in = !fstat(nsfd, &st) && st.st_dev == ns->st_dev && st.st_ino == ns->st_ino;
	close(nsfd);
	return in;
}

/*
 * fd of tid (pidfd: its handle) if it is a TCP socket with a connection or
 * a listener: added to l.  One in another namespace is refused.  0 or
 * -errno (logged; -EOPNOTSUPP a refusal).
 */
static int scan_fd(struct conn_list *l, pid_t tid, int pidfd, int fd)
{
	char path[64], link[32], a[NET_ADDR_STRLEN], b[NET_ADDR_STRLEN];
	struct net_conn c;
	ssize_t n;
	int sk, ret;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", tid, fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 8 || memcmp(link, "socket:[", 8))
		return 0; /* closed meanwhile, or not a socket */
	sk = syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	if (sk < 0) {
		pr_perror("pid %d fd %d: cannot get a handle on the socket", tid, fd);
		return -errno;
	}
	ret = net_tcp_conn_of(sk, &c);
	if (ret) {
		close(sk);
		return ret == -ENOTCONN || ret == -EAFNOSUPPORT ? 0 : ret;
	}
	if (!sock_in_ns(sk, &l->ns)) {
		pr_err("pid %d fd %d: tcp socket %s%s%s is in another network namespace than the "
		       "tree's root: it cannot be locked\n",
		       tid, fd, net_addr_str(&c.local, a), c.peer.family ? " -> " : "",
		       c.peer.family ? net_addr_str(&c.peer, b) : "");
		close(sk);
		return -EOPNOTSUPP;
	}
	close(sk);
	return conn_add(l, &c);
}

/* Every fd of the table of tid (pidfd its handle).  Refusals go to op. */
static int scan_table(struct dump_op *op, struct dump_task *t, struct conn_list *l, pid_t tid,
		      int pidfd)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", tid);
	d = opendir(path);
	if (!d) {
		pr_perror("pid %d: cannot list its fds", tid);
		return -errno;
	}
	while (!ret && (de = readdir(d)))
		if (de->d_name[0] >= '0' && de->d_name[0] <= '9')
			ret = dump_refusal(op, t, scan_fd(l, tid, pidfd, atoi(de->d_name)));
	closedir(d);
	return ret;
}

/* The fd tables of frozen t: its own (unless its parent's) and its
 * threads' own ones. */
static int scan_task(struct dump_op *op, struct dump_task *t, struct conn_list *l)
{
	size_t i;
	int pidfd, ret = 0;

	if (t->files_id == t->index)
		ret = scan_table(op, t, l, t->pid, t->pidfd);
	for (i = 1; !ret && i < t->n_threads; i++) {
		if (!t->threads[i].files_id)
			continue;
		pidfd = syscall(SYS_pidfd_open, t->threads[i].tid, PIDFD_THREAD);
		if (pidfd < 0) {
			pr_perror("pid %d (thread %d): pidfd_open", t->pid, t->threads[i].tid);
			return -errno;
		}
		ret = scan_table(op, t, l, t->threads[i].tid, pidfd);
		close(pidfd);
	}
	return ret;
}

/* The network namespace of the tree's root: an fd (its stat in *st), or
 * -errno (logged). */
static int root_netns(struct dump_op *op, struct stat *st)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", op->root->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, st)) {
		pr_perror("pid %d: cannot open its network namespace", op->root->pid);
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	return fd;
}

/* The TCP sockets of the tree, which must be in namespace ns. */
static int scan_conns(struct dump_op *op, const struct stat *ns, struct net_conn **out, size_t *n)
{
	struct conn_list l = { .ns = *ns };
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < op->n_tasks; i++)
		if (!op->tasks[i]->zombie)
			ret = scan_task(op, op->tasks[i], &l);
	if (ret) {
		free(l.v);
		return ret;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}

int dump_tcp_conns(struct dump_op *op, struct net_conn **out, size_t *n)
{
	struct stat ns;
	int fd, ret;

	*out = NULL;
	*n = 0;
	fd = root_netns(op, &ns);
	if (fd < 0)
		return fd;
	close(fd);
	ret = scan_conns(op, &ns, out, n);
	return ret;
}

/*
 * The listeners of c[0..n) left out (the rest moved down); the number
 * left.  With --leave-running a listener's lock would only delay its new
 * clients (their SYN is retried after a second): the tree answers them
 * itself once released, and a copy restored elsewhere never had them.
 * One with connections in its accept queue stays: they are taken out and
 * put back (tcpsk-acceptq.c), and a segment of theirs meeting no socket
 * meanwhile would be answered by a reset.
 */
static size_t drop_listeners(struct net_conn *c, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (c[i].peer.family || c[i].queued)
			c[k++] = c[i];
	return k;
}

/*
 * Takes the lock of dump_net_lock: in the root's namespace nsfd, the
 * whole of it if it is not the one we are in (other), else the n
 * connections c.  Without nftables, a namespace whose tree holds no TCP
 * socket goes unlocked (nothing the lock is for).  0 or -errno (logged).
 */
static int take_lock(struct dump_op *op, int nsfd, bool other, const struct net_conn *c, size_t n)
{
	int ret = test_fail("netlock");

	if (!ret && test_skip("nftables")) { /* as where nf_tables is missing */
		pr_err("nftables cannot be used here (VXCR_TEST_SKIP)\n");
		ret = -EPROTONOSUPPORT;
	} else if (!ret) {
		ret = other ? net_lock_netns(nsfd, &op->net_lock) :
			      net_lock_conns(c, n, -1, &op->net_lock);
	}
	if (ret && other && !n && (ret == -EPROTONOSUPPORT || ret == -EAFNOSUPPORT)) {
		pr_warn("no nftables here: the tree's network namespace is not locked (the tree "
			"holds no TCP socket)\n");
		err_clear();
		return 0;
	}
	if (ret)
		err_wrap("cannot lock the network of the tree");
	return ret;
}

int dump_net_lock(struct dump_op *op)
{
	struct net_conn *c = NULL;
	struct stat root, self;
	bool other;
	size_t n = 0;
	int nsfd, ret;

	nsfd = root_netns(op, &root);
	if (nsfd < 0)
		return nsfd;
	if (stat("/proc/thread-self/ns/net", &self)) {
		ret = -errno;
		pr_perror("cannot stat our network namespace");
		goto out;
	}
	other = root.st_dev != self.st_dev || root.st_ino != self.st_ino;
	ret = scan_conns(op, &root, &c, &n);
	if (!ret && op->opts->leave_running)
		n = drop_listeners(c, n);
	if (ret || op->n_refused || (!other && !n)) /* refused: nothing is read */
		goto out;
	ret = take_lock(op, nsfd, other, c, n);
	if (ret || !op->net_lock)
		goto out;
	pr_info("network locked: %s\n",
		other ? "the tree's own namespace" : "the tree's TCP connections");
	test_pause("netlocked");
out:
	close(nsfd);
	free(c);
	return ret;
}

void dump_net_keep(struct dump_op *op)
{
	const ImgHeader *h = op->w ? img_writer_header(op->w) : NULL;
	int ret;

	if (!op->opts->keep_net_lock || !op->net_lock)
		return;
	ret = !h || !h->has_image_id || !h->image_id.len ? -EINVAL : test_fail("netlock-keep");
	ret = ret ?: net_lock_keep(op->net_lock, h->image_id.data, h->image_id.len);
	if (!ret)
		return;
	/* the image is complete and its tree is gone: the dump stands */
	pr_warn("the network lock could not be kept: peers that send before the restore "
		"get a reset\n");
	err_clear();
}

void dump_net_unlock(struct dump_op *op, int ret)
{
	if (ret && op->net_lock) /* a failed dump keeps nothing */
		net_lock_unkeep(op->net_lock);
	if (!ret) /* killed: its namespace drops, never resets, until it ends */
		net_lock_quiesce(op->net_lock);
	net_unlock(op->net_lock);
	op->net_lock = NULL;
}
