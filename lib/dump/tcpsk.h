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
 * Puts df's socket (our copy df->local_fd) in repair mode (reuse: its
 * SO_REUSEADDR, read before, which repair mode hides) and reads its
 * connection into c, its queues into df->skq ([u32 len][bytes], the
 * receive queue then the send queue).  0 or -errno (logged; -EOPNOTSUPP
 * a refusal).
 */
int tcpsk_repair_read(struct dump_op *op, struct dump_file *df, TcpskConn *c,
		      const struct tcp_info *ti, bool reuse, const char *who);

/*
 * The end of the dump: killed true if the tree was killed (its sockets
 * are left in repair mode and close silently), else every socket is taken
 * out of repair mode (a window probe restarts the peer's wait).  The
 * keeper is dismissed.  Idempotent.
 */
void tcpsk_end(struct dump_op *op, bool killed);

#endif
