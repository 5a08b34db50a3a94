/*
 * Socket options read and set the same way by every socket kind: the int
 * and timeval getters and setters with read-back, buffer sizes (forced
 * past the sysctl maxima), the classic BPF filter, a table of options
 * refused unless at their default, and the SOL_SOCKET options of the
 * socket kinds other than AF_UNIX and netlink as one message (sk_opts,
 * images/sockopt.proto).  Every function logs what it refuses, naming
 * the socket by the caller's "who" ("pid 12 fd 4: tcp socket").
 */
#ifndef VXCR_NET_SOCKOPT_H
#define VXCR_NET_SOCKOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sockopt.pb-c.h"

/* getsockopt of one int (level, name) into *v.  0 or -errno (not logged). */
int net_get_int(int fd, int level, int name, int *v);

/* A SOL_SOCKET struct timeval option (SO_RCVTIMEO/SO_SNDTIMEO) in
 * microseconds.  0, -errno, or -EINVAL for a negative time. */
int net_get_us(int fd, int name, uint64_t *us);

/* setsockopt of one int, read back as want.  0 or -EOPNOTSUPP (logged:
 * "WHO: cannot set WHAT to WANT on this host (reason)"). */
int net_set_int(int fd, int level, int name, const char *what, int v, int want, const char *who);

/* One int option of a table, set only when on (the image holds it). */
struct net_int_set {
	int level, name;
	const char *what;
	bool on;
	int v;
};

/* Sets every option of opts[0 .. n) that is on, each read back as v.
 * 0 or -EOPNOTSUPP (logged, naming the first that failed). */
int net_set_ints(int fd, const struct net_int_set *opts, size_t n, const char *who);

/* A timeval option from microseconds (0: left alone), read back.  0 or
 * -EOPNOTSUPP (logged). */
int net_set_us(int fd, int name, const char *what, uint64_t us, const char *who);

/* SO_RCVBUF or SO_SNDBUF (name) to the size getsockopt read at dump
 * (want, doubled by the kernel); past the rmem/wmem_max sysctl through
 * its FORCE twin (CAP_NET_ADMIN).  0 or -EOPNOTSUPP (logged). */
int net_set_buf(int fd, int name, uint32_t want, const char *who);

/* An option refused by a kind unless it reads dflt. */
struct net_fixed_opt {
	int level, name;
	const char *what;
	int dflt;
};

/* Every option of the table at its default (an option this kernel does
 * not know counts as default).  0, -EOPNOTSUPP naming the first one that
 * is not (logged), or -errno. */
int net_check_fixed(int fd, const struct net_fixed_opt *opts, size_t n, const char *who);

/* Classic BPF filter: the number of instructions of fd's filter (0 none),
 * or -errno (-EACCES: an eBPF program, which cannot be read back). */
int net_filter_len(int fd);
/* Reads its n instructions into buf (n * 8 bytes).  0 or -errno. */
int net_filter_read(int fd, void *buf, int n);
/* Attaches len bytes of instructions (a multiple of 8, 8 .. 32768), then
 * locks the filter if asked.  0 or -EOPNOTSUPP (logged). */
int net_filter_attach(int fd, const void *insns, size_t len, bool lock, const char *who);

/* The SOL_SOCKET options of an inet (or packet) socket into o; fields at
 * a new socket's default stay absent; a buffer size is kept only when
 * the program set it (bufs_set: the caller knows, e.g. SOCK_SNDBUF_LOCK
 * from its kind's diag).  Options outside sk_opts that are not at their
 * default are refused.  0 or -errno (logged).  net_skopts_free frees what
 * the read allocated. */
int net_skopts_read(int fd, SkOpts *o, bool sndbuf_set, bool rcvbuf_set, const char *who);
void net_skopts_free(SkOpts *o);

/* The options of o checked as hostile image input.  0 or -EBADMSG
 * (logged, naming who). */
int net_skopts_check(const SkOpts *o, const char *who);

/* Sets the options of o on a new socket fd, each read back; the filter
 * last (then its lock).  0 or -errno (logged). */
int net_skopts_apply(int fd, const SkOpts *o, const char *who);

#endif
