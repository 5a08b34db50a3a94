/*
 * Connections waiting in a listener's accept queue, put there again
 * (tcpq.c).  Such a connection has no fd: the only way into a queue is a
 * handshake, and the listener chooses its own initial sequence number,
 * except when the SYN meets a TIME_WAIT socket of the same four-tuple:
 * then the new connection's ISN is that socket's snd_nxt + 65537.  So a
 * socket made under TCP_REPAIR with the sequence numbers we need is
 * driven into TIME_WAIT (its FIN queued in repair mode, the peer's FIN
 * and ACK forged), and a forged SYN with the peer's options, the ACK,
 * the queued bytes and the peer's FIN follow; the listener's answers go
 * nowhere (the network lock drops them; the forged segments carry
 * NET_LOCK_PASS_MARK).  The SYN's timestamp is 0 and the other segments
 * have none: a connection whose last timestamp seen is 0 takes the
 * peer's next one, whatever it is (no PAWS drop), and the ts_off the
 * listener picks depends only on the two addresses (the same on this
 * host).  A connection comes back only if the forged ACK acknowledges
 * the ISN the listener chose: the queue growing by one proves it.
 */
#ifndef VXCR_NET_TCPQ_H
#define VXCR_NET_TCPQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/dgram.h"
#include "net/inet.h"

/* One connection of an accept queue, as read under TCP_REPAIR from the
 * accepted socket: it has sent nothing but its SYN-ACK. */
struct net_tcp_child {
	struct net_addr local, peer; /* local: an address of this host, the listener's port */
	uint32_t iss;		     /* the listener side's initial sequence number */
	uint32_t irs;		     /* the peer's */
	uint32_t snd_wnd;	     /* the peer's window (bytes) */
	uint16_t mss;		     /* the peer's MSS option (the clamp) */
	uint8_t snd_wscale;	     /* the peer's window scale */
	bool wscale, sack, ts, ecn;
	bool fin;	     /* the peer's FIN came (CLOSE_WAIT) */
	const uint8_t *data; /* the receive queue */
	uint32_t len;
};

/* One forged TCP segment (net_tcp_forge). */
struct net_tcp_seg {
	uint32_t seq, ack;
	uint8_t flags; /* TH_FIN, TH_SYN, TH_ACK ... */
	uint16_t win;
	const uint8_t *opt; /* options, optlen a multiple of 4, at most 40 */
	size_t optlen;
	const void *data;
	size_t len;
};

/*
 * Sends segment s from src to dst on fg's raw socket (marked
 * NET_LOCK_PASS_MARK), dst an address of this host.  An AF_INET6 pair of
 * IPv4-mapped addresses goes as IPv4.  0 or -errno (logged).
 */
int net_tcp_forge(struct net_forge *fg, const struct net_addr *src, const struct net_addr *dst,
		  const struct net_tcp_seg *s, const char *who);

/*
 * Puts connection c into the accept queue of listener (an fd of it, in
 * the caller's network namespace), at its tail.  The four-tuple must be
 * free (no socket of it).  0, -EAGAIN (the listener did not take it:
 * logged) or -errno (logged).
 */
int net_tcp_requeue(struct net_forge *fg, int listener, const struct net_tcp_child *c,
		    const char *who);

/*
 * Are the n connections c of a listener of family there, each waiting in
 * a queue with its bytes, its state and the options it had?  Asked of
 * inet_diag once.  0, -EIO (logged, naming the first one that is not) or
 * -errno.
 */
int net_tcp_requeue_check(int family, const struct net_tcp_child *c, size_t n, const char *who);

#endif
