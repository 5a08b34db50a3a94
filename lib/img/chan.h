/*
 * The migration channel: an authenticated, encrypted, ordered stream of
 * typed messages over a connected stream socket (TCP), between two hosts
 * that each hold an Ed25519 key pair (vxcr key) and trust the other's
 * public key.  NOTES: "The migration channel (issue 15)".
 *
 * Handshake: each side sends its identity (Ed25519 public key) and a fresh
 * X25519 key (crypto_kx); the peer's identity must be in the trusted ring
 * or the channel is refused (-EACCES, naming the peer's key id) before
 * anything else is read or sent; each side signs the transcript (both
 * hellos, its role) with its identity, the other verifies; crypto_kx
 * session keys start one crypto_secretstream per direction.  A message is
 * one secretstream chunk: a type byte and up to CHAN_MSG_MAX payload
 * bytes.  chan_close() sends the FINAL tag, so a cut stream is told from
 * an ended one.
 *
 * Threads: one thread may send while another receives (the two directions
 * share nothing); two senders or two receivers need a lock of their own.
 *
 * Test hook (test build only): VXCR_TEST_CHAN="ROLE:WHAT@WHERE", ROLE
 * client or server (the side that acts), WHAT cut (shut the socket down
 * both ways: the peer reads the end of the stream, this side's send
 * fails with -EPIPE; the fd itself is closed by chan_free), stall (stop
 * sending, sleep 60 s, then go on) or flip (invert the lowest bit of that
 * byte on the wire), WHERE a byte offset of what this side sends (after
 * the handshake: 0 is the first byte of the first frame's length) or
 * "msg:TYPE" (before this side sends its first message of TYPE, a decimal
 * number; flip changes the first byte after that frame's length).
 * Several, comma-separated; one that does not parse fails chan_open with
 * -EINVAL.  Read by chan_open.
 */
#ifndef VXCR_IMG_CHAN_H
#define VXCR_IMG_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "img/sign.h"
#include "img/stream.h"

#define CHAN_MSG_MAX (256u << 10) /* payload bytes of one message */

struct chan;

struct chan_stats {
	uint64_t wire_sent, wire_received; /* bytes on the socket, both ways,
					    * the handshake's included */
	uint64_t sent, received;	   /* payload bytes */
	uint64_t msgs_sent, msgs_received;
	uint64_t crypt_ns; /* time spent encrypting and decrypting */
};

/*
 * Runs the handshake on connected socket fd (the channel owns fd from the
 * call on: closed by chan_free, also on failure) as client or server, with
 * our key pair me (has_sk) and the peers we accept.  timeout_ms bounds the
 * handshake (and is the default of chan_set_timeout()).  Returns 0 or
 * -errno with one line as the operation's error: -EACCES (peer not
 * trusted, naming its key id; or a bad signature), -EPROTO (not a vxcr
 * channel, or another version, or the peer's hello claims our role),
 * -ETIMEDOUT, -ECONNRESET (the peer hung up: a server that does not trust
 * us closes without a word), -EINVAL (me has no secret key), -ENOMEM.
 * trusted must hold at least the peer's key; it is not kept.
 */
int chan_open(int fd, bool server, const struct vxcr_key *me, const struct vxcr_keyring *trusted,
	      int timeout_ms, struct chan **out);
/* The peer's public key (a copy: its name as in the trusted ring). */
const struct vxcr_key *chan_peer(const struct chan *c);
/* Receive timeout in ms (0: wait forever): how long chan_recv waits for a
 * whole message, and chan_sendv for room to send one (-ETIMEDOUT). */
void chan_set_timeout(struct chan *c, int ms);
/* The socket, for poll (readable: a message may be waiting). */
int chan_fd(const struct chan *c);

/*
 * Sends one message of type (1..255) with payload iov[0..cnt) (at most
 * CHAN_MSG_MAX bytes in all).  0 or -errno (-EPIPE, -ECONNRESET: the
 * link is gone, -ETIMEDOUT; an error sticks, except -EMSGSIZE for too
 * big a message and -EINVAL for type 0, which send nothing).  One copy:
 * the pieces are gathered into the frame buffer and encrypted there.
 */
int chan_sendv(struct chan *c, uint8_t type, const struct iovec *iov, int cnt);
int chan_send(struct chan *c, uint8_t type, const void *buf, size_t len);
/*
 * Receives the next message: *type and its payload (*buf, *len: valid
 * until the next chan_recv or chan_free).  0, or -errno: -ECONNRESET (cut:
 * the stream ended without chan_close), -ENODATA (the peer closed it
 * with chan_close), -EBADMSG (a message failed authentication: corrupted
 * or forged), -ETIMEDOUT.  An error sticks.
 */
int chan_recv(struct chan *c, uint8_t *type, const void **buf, size_t *len);
/* Ends our direction: a FINAL message, then shutdown(SHUT_WR).  0 or -errno. */
int chan_close(struct chan *c);
void chan_get_stats(const struct chan *c, struct chan_stats *st);
void chan_free(struct chan *c);

/*
 * An image sink on c: each write goes out as messages of type, each at
 * most CHAN_MSG_MAX bytes; sync does nothing (the protocol above says
 * when the peer has it all).  The sink borrows c.  0 or -ENOMEM.
 */
int chan_sink(struct chan *c, uint8_t type, struct img_sink **out);
/*
 * An image source on c: the payloads of messages of type, in order, up to
 * a message of end_type (its payload ignored; reads return 0 from then
 * on).  A message of another type fails the read with -EPROTO; a failed
 * channel with chan_recv's error.  IMG_SOURCE_LIVE | IMG_SOURCE_BLOCKS;
 * cancel_fd is polled while no message has begun to arrive; no peek
 * (-ESPIPE).  The source borrows c and is its only receiver while in use.
 * 0, -EINVAL (a type 0, or type == end_type) or -ENOMEM.
 */
int chan_source(struct chan *c, uint8_t type, uint8_t end_type, struct img_source **out);

#endif
