/*
 * The network lock: nftables rules (through libnftables) that drop every
 * packet of some TCP connections, or of a whole network namespace, while
 * their state is read (dump) or rebuilt (restore), so that no segment is
 * acknowledged in between.
 *
 * A lock is a table "inet vxcr_lock_PID_N_RANDOM" made with the owner flag
 * (NFT_TABLE_F_OWNER): it belongs to the netlink socket of the libnftables
 * context that made it, which struct net_lock keeps open, and the kernel
 * removes it when that socket is closed, so a killed vxdump or vxrestore
 * leaves no rule behind.  A lock that must outlive the process
 * (vxdump --keep-net-lock) is copied into a plain table named after the
 * image, "inet vxcr_img_<32 hex digits of the image id>", which the restore
 * of that image removes (net_unlock_image) and `vxcr netlock drop` can.
 */
#ifndef VXCR_NET_NETLOCK_H
#define VXCR_NET_NETLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/inet.h"

/*
 * One TCP connection, the family in the addresses (both the same; an
 * IPv4-mapped IPv6 address is locked as the IPv4 one it is on the wire).
 * peer.family == 0: a listening socket, every connection to local (its
 * accept queue and new SYNs); local's address may be the wildcard.
 */
struct net_conn {
	struct net_addr local, peer;
	bool queued; /* a listener with connections in its accept queue */
};

struct net_lock;

/*
 * Drop every packet of these connections (both directions) in the network
 * namespace nsfd (-1: the caller's) until net_unlock, except those
 * carrying NET_LOCK_PASS_MARK (below).  n == 0 makes no
 * table and gives a lock that holds nothing.  0 or -errno (logged).
 */
int net_lock_conns(const struct net_conn *c, size_t n, int nsfd, struct net_lock **lk);
/*
 * The whole namespace nsfd (a context's own: every packet in and out of
 * it, its loopback included, which never touches another namespace's, the
 * host's loopback included), except packets carrying NET_LOCK_PASS_MARK:
 * restore's own, queueing datagrams again on loopback while the tree is
 * not running (lib/net/forge.c).  The caller's own namespace is refused.
 * 0 or -errno (logged).
 */
int net_lock_netns(int nsfd, struct net_lock **lk);
/* SO_MARK of restore's own packets inside a locked namespace ("VXCR"). */
#define NET_LOCK_PASS_MARK 0x56584352u
/* Removes the lock's table and frees lk (NULL: nothing). */
void net_unlock(struct net_lock *lk);
/*
 * A whole-namespace lock whose tree is dead (killed after its dump): sets
 * every link of the namespace but lo down, so that between the lock's
 * removal and the namespace's end (the kernel tears it down later) a
 * segment from a peer is dropped, never answered with a reset by a
 * namespace without the sockets (the peer's connection lives on where
 * the tree was restored).  Nothing for a lock of connections.
 */
void net_lock_quiesce(struct net_lock *lk);

/*
 * Copies the rules of lk into the plain table named after the image id
 * (len 1..16 bytes), in lk's namespace, so that they outlive the process;
 * lk itself stays until net_unlock.  0 or -errno (logged); -EEXIST when
 * that table exists already.
 */
int net_lock_keep(struct net_lock *lk, const uint8_t *id, size_t len);
/* Removes the table net_lock_keep made of lk, if any (logged if it cannot). */
void net_lock_unkeep(struct net_lock *lk);
/* Removes a table made by net_lock_keep for image id in the caller's
 * namespace.  0, -ENOENT (none: not logged) or -errno (logged). */
int net_unlock_image(const uint8_t *id, size_t len);

/* The kept tables of the caller's namespace: fn is called with each image
 * id as hex digits.  0 or -errno (logged). */
int net_lock_list(void (*fn)(const char *hex, void *arg), void *arg);
/* Removes the kept table of image hex (hex digits only, 1..32 of them,
 * else -EINVAL).  0, -ENOENT (logged) or -errno (logged). */
int net_lock_drop(const char *hex);

/*
 * The TCP connection of socket fd (ESTABLISHED or another state with a
 * peer: SYN_SENT, FIN_WAIT*, CLOSE_WAIT, CLOSING, LAST_ACK), or a
 * listening socket (peer.family 0).  0; -ENOTCONN for a TCP socket that is
 * neither (closed, bound only); -EAFNOSUPPORT for anything but an inet
 * TCP socket; or -errno.  Nothing is logged.
 */
int net_tcp_conn_of(int fd, struct net_conn *c);

/* Probe for vxcr check: makes and removes an owner table in a throw-away
 * namespace (in a forked child).  true if it works; why in detail. */
bool net_lock_probe(char *detail, size_t len);

/* Pieces exposed for the unit tests (netlock-rules.c). */
#define NET_LOCK_TABLE_MAX 64
#define NET_LOCK_ID_HEX_MAX 32
/*
 * The nft text making table (the whole namespace if all, else the
 * connections c[0..n)), with the owner flag if owner.  *out malloc'ed.
 * 0, -EINVAL (a name or address that cannot be put in a rule) or -ENOMEM.
 */
int net_lock_text(const char *table, bool owner, bool all, const struct net_conn *c, size_t n,
		  char **out);
/* "vxcr_img_" and the hex of id (1..16 bytes) into buf (NET_LOCK_TABLE_MAX). */
int net_lock_image_table(const uint8_t *id, size_t len, char *buf);
/* The same for an id already in hex: digits only, 1..32, lower-cased.
 * 0 or -EINVAL. */
int net_lock_hex_table(const char *hex, char *buf);

#endif
