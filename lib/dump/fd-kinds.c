/*
 * The fd kinds of the dump, in match order: an fd is described by the
 * first kind whose match() takes it, so narrow kinds come before broad
 * ones ("anon" after every anon-inode kind, "other" last).  One row per
 * kind; each kind is a struct dump_fd_kind named dump_fd_<row> in its own
 * stem (files.c, pipes.c, memfd.c, ...).  A row without dump() is a
 * refusal: its reason names what the image cannot hold yet.
 */
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "dump/dump.h"

#define DUMP_FD_KINDS(K) \
	K(nsfile)        \
	K(procfile)      \
	K(opath)         \
	K(unixsk)        \
	K(netlinksk)     \
	K(tcpsk)         \
	K(inetdg)        \
	K(packetsk)      \
	K(socket)        \
	K(eventfd)       \
	K(signalfd)      \
	K(timerfd)       \
	K(pidfd)         \
	K(io_uring)      \
	K(epoll)         \
	K(inotify)       \
	K(fanotify)      \
	K(anon)          \
	K(memfd)         \
	K(mqueue)        \
	K(pipe)          \
	K(fifo)          \
	K(ptmx)          \
	K(pts)           \
	K(tty)           \
	K(tun)           \
	K(chr)           \
	K(blk)           \
	K(dir)           \
	K(reg)           \
	K(other)         \
	/* one row per kind, each ending in a backslash */

#define DECLARE(k) extern const struct dump_fd_kind dump_fd_##k;
#define ROW(k) &dump_fd_##k,

DUMP_FD_KINDS(DECLARE)

static bool is_sock(const struct fd_probe *p)
{
	return S_ISSOCK(p->st.st_mode);
}
static bool is_anon(const struct fd_probe *p)
{
	return fd_link_starts(p, "anon_inode:");
}
static bool is_any(const struct fd_probe *p)
{
	return true;
}

const struct dump_fd_kind dump_fd_socket = { "socket", is_sock, NULL,
					     "sockets are not supported yet" };
const struct dump_fd_kind dump_fd_anon = { "anon", is_anon, NULL, "not supported yet" };
const struct dump_fd_kind dump_fd_other = { "other", is_any, NULL,
					    "this kind of file is not supported" };

static const struct dump_fd_kind *const dump_fd_kinds[] = { DUMP_FD_KINDS(ROW) };

int fd_probe_sock_opt(const struct fd_probe *p, int name)
{
	int v = 0;
	socklen_t len = sizeof(v);

	if (!S_ISSOCK(p->st.st_mode) || p->local < 0 ||
	    getsockopt(p->local, SOL_SOCKET, name, &v, &len))
		return -1;
	return v;
}

/* The first kind that takes p; "other" takes anything. */
const struct dump_fd_kind *dump_fd_kind_of(const struct fd_probe *p)
{
	size_t i;

	for (i = 0; i < sizeof(dump_fd_kinds) / sizeof(dump_fd_kinds[0]) - 1; i++)
		if (dump_fd_kinds[i]->match(p))
			return dump_fd_kinds[i];
	return dump_fd_kinds[i];
}
