/*
 * The network lock through libnftables (netlock.h): owner tables held by
 * a libnftables context, tables kept for an image, and the probe of
 * `vxcr check`.
 *
 * libnftables facts this code depends on (1.0.6, Debian): nft_ctx_new()
 * opens its netlink socket at once, in the network namespace of the
 * calling thread, and keeps it until nft_ctx_free(); a failure to open it
 * exits the process, so we open one ourselves first and fail cleanly.  The
 * socket is opened without close-on-exec; we set it (the fd number is the
 * one our probe socket had, checked to be a netfilter netlink socket).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <net/if.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <sys/wait.h>
#include "net/nft.h"

#define LOG_PREFIX "net/netlock: "
#include "log.h"
#include "net/netlock.h"
#include "net/sockopt.h"
#include "vxcr/vxcr.h"

#define LOCK_TABLE_PREFIX "vxcr_lock_"
#define IMG_TABLE_PREFIX "vxcr_img_"

struct net_lock {
	struct nft_ctx *nft; /* its netlink socket owns table; NULL: no table */
	char table[NET_LOCK_TABLE_MAX];
	int nsfd;		       /* our handle on its namespace, -1: the caller's */
	bool all;		       /* the whole namespace */
	char kept[NET_LOCK_TABLE_MAX]; /* the table net_lock_keep made, or "" */
	struct net_conn *conns;
	size_t n;
};

static atomic_uint lock_seq;

/* Sets close-on-exec on libnftables' socket, which took number fd. */
static void cloexec_nft_socket(int fd)
{
	int dom, proto;

	if (net_get_int(fd, SOL_SOCKET, SO_DOMAIN, &dom) ||
	    net_get_int(fd, SOL_SOCKET, SO_PROTOCOL, &proto) || dom != AF_NETLINK ||
	    proto != NETLINK_NETFILTER) {
		pr_debug("fd %d is not libnftables' socket: left as it is\n", fd);
		return;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* A libnftables context whose socket is ours (see the head comment). */
static int nft_new(struct nft_ctx **out)
{
	int fd, ret;

	ret = nftl_load(); /* before the probe: dlopen's own fds come and go */
	if (ret)
		return ret;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0) {
		pr_perror("nftables cannot be used here (netfilter netlink socket)");
		return -errno;
	}
	close(fd);
	*out = nftl_ctx_new(NFT_CTX_DEFAULT);
	if (!*out)
		return -errno;
	cloexec_nft_socket(fd);
	nftl_ctx_buffer_output(*out);
	nftl_ctx_buffer_error(*out);
	return 0;
}

/*
 * A libnftables context whose socket lives in namespace nsfd (-1: ours):
 * made after entering it, then we come back.  0 or -errno (logged).
 */
static int nft_open(int nsfd, struct nft_ctx **out)
{
	int self, ret;

	*out = NULL;
	if (nsfd < 0)
		return nft_new(out);
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0) {
		pr_perror("cannot open our network namespace");
		return -errno;
	}
	if (setns(nsfd, CLONE_NEWNET)) {
		ret = -errno;
		pr_perror("cannot enter the network namespace to lock");
		close(self);
		return ret;
	}
	ret = nft_new(out);
	if (setns(self, CLONE_NEWNET)) {
		ret = -errno;
		pr_perror("cannot go back to our network namespace");
		if (*out)
			nftl_ctx_free(*out);
		*out = NULL;
	}
	close(self);
	return ret;
}

/*
 * Runs cmd; on failure logs the first line of nftables' error with what.
 * 0 or -errno (-EIO when nftables gave no errno).
 */
static int nft_run(struct nft_ctx *nft, const char *cmd, const char *what, bool quiet_enoent)
{
	const char *err;
	int ret, len;

	errno = 0;
	if (!nftl_run_cmd_from_buffer(nft, cmd)) {
		nftl_ctx_get_error_buffer(nft); /* warnings, if any: dropped */
		return 0;
	}
	ret = errno > 0 ? -errno : -EIO;
	err = nftl_ctx_get_error_buffer(nft);
	len = (int)strcspn(err, "\n");
	if (ret == -ENOENT && quiet_enoent)
		return ret;
	pr_err("%s: nftables refused it: %.*s\n", what, len, len ? err : "(no reason given)");
	return ret;
}

/* Makes l's owner table with its rules.  0 or -errno (logged). */
static int lock_make(struct net_lock *l)
{
	uint32_t rnd = 0;
	char *text;
	int ret;

	/* the pid alone may repeat across pid namespaces sharing this one */
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint32_t)time(NULL);
	snprintf(l->table, sizeof(l->table), LOCK_TABLE_PREFIX "%d_%u_%08x", getpid(),
		 atomic_fetch_add(&lock_seq, 1), rnd);
	ret = net_lock_text(l->table, true, l->all, l->conns, l->n, &text);
	if (ret) {
		pr_err("cannot write the rules of the network lock: %s\n", strerror(-ret));
		return ret;
	}
	ret = nft_open(l->nsfd, &l->nft);
	ret = ret ?: nft_run(l->nft, text, "network lock", false);
	free(text);
	if (!ret)
		pr_debug("locked: table inet %s (%zu connections%s)\n", l->table, l->n,
			 l->all ? ", the whole namespace" : "");
	return ret;
}

/* A lock of c[0..n) or of all in nsfd; *lk on success.  0 or -errno. */
static int lock_new(const struct net_conn *c, size_t n, bool all, int nsfd, struct net_lock **lk)
{
	struct net_lock *l;
	int ret;

	*lk = NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->nsfd = -1;
	l->all = all;
	if (n) {
		l->conns = malloc(n * sizeof(*c));
		if (!l->conns) {
			free(l);
			return -ENOMEM;
		}
		memcpy(l->conns, c, n * sizeof(*c));
		l->n = n;
	}
	if (nsfd >= 0) {
		l->nsfd = fcntl(nsfd, F_DUPFD_CLOEXEC, 0);
		if (l->nsfd < 0) {
			ret = -errno;
			pr_perror("cannot keep the network namespace to lock");
			net_unlock(l);
			return ret;
		}
	}
	ret = all || n ? lock_make(l) : 0;
	if (ret) {
		net_unlock(l);
		return ret;
	}
	*lk = l;
	return 0;
}

int net_lock_conns(const struct net_conn *c, size_t n, int nsfd, struct net_lock **lk)
{
	return lock_new(c, n, false, nsfd, lk);
}

/* Is nsfd the network namespace we are in?  Unreadable: taken as yes. */
static bool own_netns(int nsfd)
{
	struct stat a, b;

	if (fstat(nsfd, &a) || stat("/proc/thread-self/ns/net", &b))
		return true;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int net_lock_netns(int nsfd, struct net_lock **lk)
{
	*lk = NULL;
	if (nsfd < 0 || own_netns(nsfd)) {
		pr_err("refusing to lock all traffic of vxcr's own network namespace\n");
		return -EINVAL;
	}
	return lock_new(NULL, 0, true, nsfd, lk);
}

void net_lock_quiesce(struct net_lock *lk)
{
	struct if_nameindex *ifs, *i;
	struct ifreq ifr;
	int self, sk;

	if (!lk || !lk->all || lk->nsfd < 0)
		return;
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0 || setns(lk->nsfd, CLONE_NEWNET)) {
		pr_warn("cannot enter the dead tree's network namespace: %s\n", strerror(errno));
		if (self >= 0)
			close(self);
		return;
	}
	sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ifs = if_nameindex(); /* a netlink socket of this namespace */
	for (i = ifs; sk >= 0 && i && i->if_index; i++) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", i->if_name);
		if (ioctl(sk, SIOCGIFFLAGS, &ifr) || (ifr.ifr_flags & IFF_LOOPBACK) ||
		    !(ifr.ifr_flags & IFF_UP))
			continue;
		ifr.ifr_flags &= ~IFF_UP;
		if (ioctl(sk, SIOCSIFFLAGS, &ifr))
			pr_warn("cannot set %s down in the dead tree's namespace: %s\n", i->if_name,
				strerror(errno));
	}
	if (ifs)
		if_freenameindex(ifs);
	if (sk >= 0)
		close(sk);
	if (setns(self, CLONE_NEWNET))
		pr_warn("cannot go back to our network namespace: %s\n", strerror(errno));
	close(self);
}

void net_unlock(struct net_lock *lk)
{
	char cmd[NET_LOCK_TABLE_MAX + 32];

	if (!lk)
		return;
	if (lk->nft) {
		/* closing the socket would remove it too; this says so if it cannot */
		snprintf(cmd, sizeof(cmd), "delete table inet %s", lk->table);
		if (nft_run(lk->nft, cmd, "network unlock", false))
			pr_warn("table inet %s goes with our netlink socket\n", lk->table);
		nftl_ctx_free(lk->nft);
		pr_debug("unlocked: table inet %s\n", lk->table);
	}
	if (lk->nsfd >= 0)
		close(lk->nsfd);
	free(lk->conns);
	free(lk);
}

int net_lock_keep(struct net_lock *lk, const uint8_t *id, size_t len)
{
	char name[NET_LOCK_TABLE_MAX], *text, *cmd;
	struct nft_ctx *nft;
	int ret;

	if (!lk->all && !lk->n)
		return 0; /* nothing locked, nothing to keep */
	ret = net_lock_image_table(id, len, name);
	if (ret) {
		pr_err("cannot name the kept network lock: bad image id\n");
		return ret;
	}
	ret = net_lock_text(name, false, lk->all, lk->conns, lk->n, &text);
	if (ret)
		return ret;
	/* "create" fails on an existing table instead of adding to it */
	if (asprintf(&cmd, "create table inet %s\n%s", name, text) < 0)
		cmd = NULL;
	free(text);
	if (!cmd)
		return -ENOMEM;
	ret = nft_open(lk->nsfd, &nft);
	ret = ret ?: nft_run(nft, cmd, "keeping the network lock", false);
	if (nft)
		nftl_ctx_free(nft);
	free(cmd);
	if (!ret) {
		snprintf(lk->kept, sizeof(lk->kept), "%s", name);
		pr_info("network lock kept as table inet %s\n", name);
	}
	return ret;
}

void net_lock_unkeep(struct net_lock *lk)
{
	char cmd[NET_LOCK_TABLE_MAX + 32];
	struct nft_ctx *nft;

	if (!lk || !lk->kept[0])
		return;
	snprintf(cmd, sizeof(cmd), "delete table inet %s", lk->kept);
	if (!nft_open(lk->nsfd, &nft) &&
	    !nft_run(nft, cmd, "removing the kept network lock", false))
		pr_debug("kept table inet %s removed\n", lk->kept);
	if (nft)
		nftl_ctx_free(nft);
	lk->kept[0] = '\0';
}

/* Calls fn with every table name of family inet in nft's namespace. */
static int list_tables(struct nft_ctx *nft, void (*fn)(const char *name, void *arg), void *arg)
{
	char *out, *line, *save = NULL;
	int ret;

	ret = nft_run(nft, "list tables", "listing the tables", false);
	if (ret)
		return ret;
	out = strdup(nftl_ctx_get_output_buffer(nft));
	if (!out)
		return -ENOMEM;
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, "table inet ", 11))
			fn(line + 11, arg);
	free(out);
	return 0;
}

struct table_find {
	const char *name;
	bool found;
};

static void find_one(const char *name, void *arg)
{
	struct table_find *tf = arg;

	if (!strcmp(name, tf->name))
		tf->found = true;
}

/* Deletes kept table name in our namespace.  0, -ENOENT or -errno. */
static int drop_table(const char *name, bool quiet)
{
	struct table_find tf = { name, false };
	char cmd[NET_LOCK_TABLE_MAX + 32];
	struct nft_ctx *nft;
	int ret;

	ret = nft_open(-1, &nft);
	ret = ret ?: list_tables(nft, find_one, &tf);
	if (!ret && !tf.found) {
		if (!quiet)
			pr_err("no network lock table inet %s here\n", name);
		ret = -ENOENT;
	}
	if (!ret) {
		snprintf(cmd, sizeof(cmd), "delete table inet %s", name);
		ret = nft_run(nft, cmd, "removing the network lock", quiet);
	}
	if (nft)
		nftl_ctx_free(nft);
	if (!ret)
		pr_info("network lock table inet %s removed\n", name);
	return ret;
}

int net_unlock_image(const uint8_t *id, size_t len)
{
	char name[NET_LOCK_TABLE_MAX];

	if (net_lock_image_table(id, len, name))
		return -ENOENT; /* no id, no table of it */
	/* the common case, no kept table: one nfnetlink request, no libnftables */
	if (!nft_inet_table_exists(name))
		return -ENOENT;
	return drop_table(name, true);
}

int net_lock_drop(const char *hex)
{
	char name[NET_LOCK_TABLE_MAX];

	if (net_lock_hex_table(hex, name)) {
		pr_err("'%.40s' is not an image id (1 to %d hex digits)\n", hex,
		       NET_LOCK_ID_HEX_MAX);
		return -EINVAL;
	}
	return drop_table(name, false);
}

struct list_arg {
	void (*fn)(const char *hex, void *arg);
	void *arg;
};

static void list_one(const char *name, void *arg)
{
	const struct list_arg *la = arg;
	const char *hex = name + strlen(IMG_TABLE_PREFIX);
	char check[NET_LOCK_TABLE_MAX];

	if (strncmp(name, IMG_TABLE_PREFIX, strlen(IMG_TABLE_PREFIX)))
		return;
	if (net_lock_hex_table(hex, check) || strcmp(check, name))
		return; /* not one of ours */
	la->fn(hex, la->arg);
}

int net_lock_list(void (*fn)(const char *hex, void *arg), void *arg)
{
	struct list_arg la = { fn, arg };
	struct nft_ctx *nft;
	int ret;

	ret = nft_open(-1, &nft);
	ret = ret ?: list_tables(nft, list_one, &la);
	if (nft)
		nftl_ctx_free(nft);
	return ret;
}

/* Is table name listed in nft's namespace?  -errno, 0 (no) or 1. */
static int table_listed(struct nft_ctx *nft, const char *name)
{
	struct table_find tf = { name, false };
	int ret = list_tables(nft, find_one, &tf);

	return ret ?: tf.found;
}

/* A lock of c made by a child that exits without unlocking: its table's
 * name in name.  0 or a step number of probe_child. */
static int probe_orphan(const struct net_conn *c, char *name)
{
	struct net_lock *lk;
	int p[2], st = -1;
	pid_t pid;

	if (pipe(p))
		return 5;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (net_lock_conns(c, 1, -1, &lk) ||
		    write(p[1], lk->table, NET_LOCK_TABLE_MAX) != NET_LOCK_TABLE_MAX)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	if (pid < 0 || read(p[0], name, NET_LOCK_TABLE_MAX) != NET_LOCK_TABLE_MAX)
		st = -1;
	else if (waitpid(pid, &st, 0) != pid)
		st = -1;
	close(p[0]);
	name[NET_LOCK_TABLE_MAX - 1] = '\0';
	return st ? 5 : 0;
}

/* The probe's child, in a throw-away namespace: 0 or a step number. */
static int probe_child(void)
{
	struct net_conn c = { .local = { .family = AF_INET, .port = 1 },
			      .peer = { .family = AF_INET, .port = 2 } };
	char name[NET_LOCK_TABLE_MAX];
	struct nft_ctx *nft;
	struct net_lock *lk;
	int ret;

	c.local.ip[0] = c.peer.ip[0] = 127;
	c.local.ip[3] = c.peer.ip[3] = 1;
	if (unshare(CLONE_NEWNET))
		return 1;
	if (net_lock_conns(&c, 1, -1, &lk))
		return 2;
	if (nft_open(-1, &nft))
		return 3;
	snprintf(name, sizeof(name), "%s", lk->table);
	if (table_listed(nft, name) != 1)
		return 4;
	net_unlock(lk);
	if (table_listed(nft, name) != 0)
		return 6;
	ret = probe_orphan(&c, name);
	if (!ret && table_listed(nft, name) != 0)
		ret = 7;
	nftl_ctx_free(nft);
	return ret;
}

bool net_lock_probe(char *detail, size_t len)
{
	static const char *const why[] = {
		"",
		"cannot make a network namespace to try it in",
		"cannot make an owner table (nftables through libnftables)",
		"cannot open libnftables",
		"the owner table made is not listed",
		"a process that made an owner table did not exit cleanly",
		"a table deleted is still listed",
		"an owner table outlived the process that made it",
	};
	struct timespec t0, t1;
	int st = -1;
	pid_t pid;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid == 0)
		_exit(probe_child());
	if (pid < 0 || waitpid(pid, &st, 0) != pid) {
		snprintf(detail, len, "cannot fork the probe");
		return false;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (WIFEXITED(st) && !WEXITSTATUS(st)) {
		snprintf(detail, len,
			 "owner tables of libnftables: made, dropped with their maker (%.1f ms)",
			 (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
		return true;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) < sizeof(why) / sizeof(why[0]))
		snprintf(detail, len, "%s", why[WEXITSTATUS(st)]);
	else
		snprintf(detail, len, "the probe died (status %#x)", st);
	return false;
}

int vxcr_netlock_list(void (*fn)(const char *id, void *arg), void *arg)
{
	err_op_begin();
	return err_op_end(net_lock_list(fn, arg));
}

int vxcr_netlock_drop(const char *id)
{
	err_op_begin();
	return err_op_end(net_lock_drop(id));
}
