/*
 * TCP sockets of the dump (tcpsk.c, tcpsk-repair.c): an established
 * connection is read under TCP_REPAIR, and the target's socket stays in
 * repair mode until the dump ends.  Then tcpsk_end() takes it out again
 * when the tree runs on (--leave-running, a failed dump), or leaves it in
 * repair when the tree was killed: a socket closed in repair mode goes
 * away silently (no FIN, no RST to the peer), as the restored one takes
 * over.  A keeper process holds a copy of every such socket meanwhile and
 * takes it out of repair mode if vxdump dies before tcpsk_end().
 */
#ifndef VXCR_DUMP_TCPSK_H
#define VXCR_DUMP_TCPSK_H

#include <stdbool.h>
#include <sys/stat.h>
#include <netinet/tcp.h>

#include "tcpsk.pb-c.h"

struct dump_op;
struct dump_file;

/* The state names of TCP_INFO's tcpi_state, for messages. */
const char *tcpsk_state_name(int state);

/* States of a connection the dump takes (with --tcp-established):
 * established and the half-closed and closing ones. */
#define TCPSK_CONN_STATES                                                                       \
	(1 << TCP_ESTABLISHED | 1 << TCP_FIN_WAIT1 | 1 << TCP_FIN_WAIT2 | 1 << TCP_CLOSE_WAIT | \
	 1 << TCP_LAST_ACK | 1 << TCP_CLOSING)
/* ... of them, those where we sent a FIN, and where the peer's came. */
#define TCPSK_FIN_SENT \
	(1 << TCP_FIN_WAIT1 | 1 << TCP_FIN_WAIT2 | 1 << TCP_LAST_ACK | 1 << TCP_CLOSING)
#define TCPSK_FIN_RECEIVED (1 << TCP_CLOSE_WAIT | 1 << TCP_LAST_ACK | 1 << TCP_CLOSING)

/*
 * What a new TCP socket of one family reads in our network namespace (the
 * sysctl defaults an option is compared with), asked once per dump: the
 * options as they are first asked for, and TCP_CONGESTION.
 */
#define TCPSK_DFLT_MAX 32
struct tcpsk_dflt {
	int fd; /* the new socket, -1 until made */
	size_t n;
	struct {
		int level, name, v;
	} o[TCPSK_DFLT_MAX];
	char cc[16];
	bool have_cc;
};
/* The defaults of family (AF_INET, AF_INET6), NULL on failure (logged). */
struct tcpsk_dflt *tcpsk_defaults(struct dump_op *op, int family);
/* Our network namespace's fstat, NULL if unreadable (logged). */
const struct stat *tcpsk_netns(struct dump_op *op);

/*
 * Puts df's socket (our copy df->local_fd) in repair mode (reuse: its
 * SO_REUSEADDR, read before, which repair mode hides) and reads its
 * connection into c, its queues into df->skq ([u32 len][bytes], the
 * receive queue then the send queue).  0 or -errno (logged; -EOPNOTSUPP
 * a refusal).
 */
int tcpsk_repair_read(struct dump_op *op, struct dump_file *df, TcpskConn *c,
		      const struct tcp_info *ti, bool reuse, const char *who);

/* Under TCP_REPAIR: selects queue q (TCP_RECV_QUEUE ...) and reads its
 * TCP_QUEUE_SEQ into *seq (not for TCP_NO_QUEUE); peeks len bytes of the
 * selected queue into buf (what: its name for messages); reads the queue
 * sizes, MSS, timestamp clock, window and options into c.  0 or -errno
 * (logged). */
int tcpsk_queue_seq(int fd, int q, uint32_t *seq, const char *who);
int tcpsk_peek_queue(int fd, uint8_t *buf, uint32_t len, const char *who, const char *what);
int tcpsk_conn_read(int fd, TcpskConn *c, const struct tcp_info *ti, const char *who);

/*
 * A listener's accept queue (tcpsk-acceptq.c), its n connections: each
 * taken out, read under TCP_REPAIR into e->accept_queue and its bytes
 * into df->skq (one [u32 len][bytes] message per connection), and put
 * back at once (lib/net/tcpq.h), in order, by a forked process that
 * finishes even if vxdump dies.  The listener is locked (dump/netlock.c).
 * 0 or -errno (logged; -EOPNOTSUPP a refusal).
 */
int tcpsk_acceptq_read(struct dump_op *op, struct dump_file *df, TcpskEntry *e, unsigned int n,
		       const char *who);

/*
 * The end of the dump: killed true if the tree was killed (its sockets
 * are left in repair mode and close silently), else every socket is taken
 * out of repair mode (a window probe restarts the peer's wait).  The
 * keeper is dismissed.  Idempotent.
 */
void tcpsk_end(struct dump_op *op, bool killed);

#endif
