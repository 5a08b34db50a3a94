/*
 * The migration channel (img/chan.h): the handshake, the frames, the image
 * sink over them, and the fault hook of the test build.
 *
 * Wire, client first:
 *   C -> S  hello    struct chan_hello (76 bytes)
 *   S -> C  hello    (only if the client's identity is trusted)
 *   C -> S  auth     struct chan_auth: signature, secretstream header
 *   S -> C  auth     (only if the client's signature verifies)
 *   then each way frames [__le32 n][n bytes: one secretstream chunk of
 *   (type byte, payload)], a chunk tagged FINAL ending a direction.
 * A signature covers "vxcr-chan-sig-1", the signer's role and BLAKE2b-256
 * of both hellos (client's first), so neither a hello nor an auth of one
 * side or one session passes for another.
 */
#define LOG_PREFIX "img/chan: "

#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "log.h"
#include "img/chan.h"
#include "util/testhook.h"

#define CHAN_MAGIC "vxcr-chan"
#define CHAN_MAGIC_LEN 9
#define CHAN_VERSION 1
#define ROLE_CLIENT 1
#define ROLE_SERVER 2

#define SS_ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
#define SS_HEADERBYTES crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define TAG_MESSAGE crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
#define TAG_FINAL crypto_secretstream_xchacha20poly1305_TAG_FINAL
#define FRAME_HDR 4u
/* A chunk: the type byte and the payload, and SS_ABYTES of the encrypted
 * tag byte (first) and the MAC (last). */
#define CHUNK_MIN (1u + SS_ABYTES)
#define CHUNK_MAX (1u + CHAN_MSG_MAX + SS_ABYTES)
#define FRAME_MAX (FRAME_HDR + CHUNK_MAX)

#define SIG_CONTEXT "vxcr-chan-sig-1"
#define TRANSCRIPT_CONTEXT "vxcr-chan-transcript-1"
#define TRANSCRIPT_LEN 32

/* The first bytes each side sends. */
struct chan_hello {
	char magic[CHAN_MAGIC_LEN]; /* "vxcr-chan", no NUL */
	uint8_t version;	    /* CHAN_VERSION */
	uint8_t role;		    /* ROLE_CLIENT or ROLE_SERVER */
	uint8_t zero;		    /* reserved: 0 */
	uint8_t id_pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t kx_pk[crypto_kx_PUBLICKEYBYTES];
};
_Static_assert(sizeof(struct chan_hello) == 76, "hello has no padding");

/* The second: the signature of the transcript, the start of our stream. */
struct chan_auth {
	uint8_t sig[crypto_sign_BYTES];
	uint8_t header[SS_HEADERBYTES];
};
_Static_assert(sizeof(struct chan_auth) == 88, "auth has no padding");

#ifdef VXCR_TEST_HOOKS
#define CHAN_FAULTS_MAX 8
enum chan_fault_what { FAULT_CUT, FAULT_STALL, FAULT_FLIP };
#define FAULT_STALL_SECONDS 60

/* One fault of VXCR_TEST_CHAN for this side. */
struct chan_fault {
	enum chan_fault_what what;
	bool at_msg;  /* before the first message of type */
	uint8_t type; /* at_msg */
	bool done;
	uint64_t off; /* !at_msg: wire byte after the handshake */
};
#endif

struct chan {
	int fd;
	bool server;
	int timeout_ms;
	struct vxcr_key peer; /* public only */
	char peer_desc[IMG_KEY_NAME_MAX + 32];

	/* The sending direction: only the sending thread touches these. */
	crypto_secretstream_xchacha20poly1305_state tx;
	uint8_t *tbuf; /* one frame */
	int tx_err;
	uint64_t wire_sent, sent, msgs_sent, tx_ns;
	uint64_t tx_base; /* wire_sent at the end of the handshake */
#ifdef VXCR_TEST_HOOKS
	struct chan_fault faults[CHAN_FAULTS_MAX];
	int nfaults;
#endif

	/* The receiving direction: only the receiving thread. */
	crypto_secretstream_xchacha20poly1305_state rx __attribute__((aligned(64)));
	uint8_t *rbuf; /* one frame */
	int rx_err;
	uint64_t wire_received, received, msgs_received, rx_ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* The deadline of an operation that may take ms from now (0: none). */
static uint64_t deadline_in(int ms)
{
	return ms > 0 ? now_ns() + (uint64_t)ms * 1000000ull : 0;
}

/*
 * Waits until fd has events or the deadline passes (0: never).  0,
 * -ETIMEDOUT or -errno.
 */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	uint64_t now;
	int ms, n;

	for (;;) {
		ms = -1;
		if (deadline) {
			now = now_ns();
			if (now >= deadline)
				return -ETIMEDOUT;
			ms = (deadline - now + 999999) / 1000000 > INT_MAX ?
				     INT_MAX :
				     (int)((deadline - now + 999999) / 1000000);
		}
		n = poll(&p, 1, ms);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/*
 * Reads exactly n bytes into buf.  0, -ECONNRESET (the stream ended; *got
 * says after how many bytes), -ETIMEDOUT or -errno.
 */
static int read_exact(struct chan *c, void *buf, size_t n, uint64_t deadline, size_t *got)
{
	size_t done = 0;
	ssize_t r;
	int ret;

	while (done < n) {
		r = recv(c->fd, (char *)buf + done, n - done, MSG_DONTWAIT);
		if (r > 0) {
			done += r;
			c->wire_received += r;
			continue;
		}
		if (!r) {
			*got = done;
			return -ECONNRESET;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			*got = done;
			return -errno;
		}
		ret = wait_fd(c->fd, POLLIN, deadline);
		if (ret) {
			*got = done;
			return ret;
		}
	}
	*got = done;
	return 0;
}

/* Writes all n bytes of buf.  0, -EPIPE, -ECONNRESET, -ETIMEDOUT, -errno. */
static int write_all(struct chan *c, const void *buf, size_t n, uint64_t deadline)
{
	size_t done = 0;
	ssize_t w;
	int ret;

	while (done < n) {
		w = send(c->fd, (const char *)buf + done, n - done, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w > 0) {
			done += w;
			c->wire_sent += w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN)
			return -errno;
		ret = wait_fd(c->fd, POLLOUT, deadline);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- the fault hook (test build only) ---- */

#ifdef VXCR_TEST_HOOKS
/* Parses "WHAT@WHERE" into f: 0 or -EINVAL. */
static int fault_parse(const char *s, size_t len, struct chan_fault *f)
{
	static const char *const whats[] = { "cut", "stall", "flip" };
	char buf[64], *at, *end;
	unsigned long long v;
	unsigned i;

	if (len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	at = strchr(buf, '@');
	if (!at)
		return -EINVAL;
	*at++ = '\0';
	for (i = 0; i < 3 && strcmp(buf, whats[i]); i++)
		;
	if (i == 3)
		return -EINVAL;
	memset(f, 0, sizeof(*f));
	f->what = (enum chan_fault_what)i;
	f->at_msg = !strncmp(at, "msg:", 4);
	if (f->at_msg)
		at += 4;
	errno = 0;
	v = strtoull(at, &end, 10);
	if (errno || end == at || *end || (f->at_msg && (v < 1 || v > 255)))
		return -EINVAL;
	f->type = f->at_msg ? (uint8_t)v : 0;
	f->off = f->at_msg ? 0 : v;
	return 0;
}

/* Takes this side's faults from VXCR_TEST_CHAN: 0 or -EINVAL (logged). */
static int hook_setup(struct chan *c)
{
	const char *env = getenv("VXCR_TEST_CHAN"), *p, *colon;
	const char *me = c->server ? "server" : "client";
	size_t n;

	for (p = env; p && *p; p += n + (p[n] == ',')) {
		n = strcspn(p, ",");
		colon = memchr(p, ':', n);
		if (!colon || c->nfaults == CHAN_FAULTS_MAX ||
		    fault_parse(colon + 1, n - (colon + 1 - p), &c->faults[c->nfaults])) {
			pr_err("VXCR_TEST_CHAN: cannot parse '%.*s' (ROLE:WHAT@WHERE)\n", (int)n,
			       p);
			return -EINVAL;
		}
		if ((size_t)(colon - p) == strlen(me) && !strncmp(p, me, colon - p))
			c->nfaults++;
	}
	return 0;
}

/* Does fault f now: flips *byte, stalls, or cuts (-EPIPE). */
static int hook_act(struct chan *c, struct chan_fault *f, uint8_t *byte)
{
	f->done = true;
	switch (f->what) {
	case FAULT_FLIP:
		pr_info("VXCR_TEST_CHAN: flipping a bit of byte %llu\n",
			(unsigned long long)(c->wire_sent - c->tx_base));
		*byte ^= 0x01;
		return 0;
	case FAULT_STALL:
		pr_info("VXCR_TEST_CHAN: stalling at byte %llu\n",
			(unsigned long long)(c->wire_sent - c->tx_base));
		sleep(FAULT_STALL_SECONDS);
		return 0;
	case FAULT_CUT:
		break;
	}
	pr_info("VXCR_TEST_CHAN: cutting at byte %llu\n",
		(unsigned long long)(c->wire_sent - c->tx_base));
	shutdown(c->fd, SHUT_RDWR);
	return -EPIPE;
}

/* The faults of a message of type, before it is sent (frame in c->tbuf). */
static int hook_msg(struct chan *c, uint8_t type)
{
	int i, ret;

	for (i = 0; i < c->nfaults; i++) {
		if (c->faults[i].done || !c->faults[i].at_msg || c->faults[i].type != type)
			continue;
		ret = hook_act(c, &c->faults[i], c->tbuf + FRAME_HDR);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The first pending byte fault in the next n bytes to send, and its place
 * in them (*at); NULL if none.
 */
static struct chan_fault *hook_next(struct chan *c, size_t n, size_t *at)
{
	uint64_t pos = c->wire_sent - c->tx_base;
	struct chan_fault *best = NULL;
	int i;

	for (i = 0; i < c->nfaults; i++) {
		struct chan_fault *f = &c->faults[i];

		if (f->done || f->at_msg || f->off < pos || f->off >= pos + n)
			continue;
		if (!best || f->off < best->off)
			best = f;
	}
	if (best)
		*at = best->off - pos;
	return best;
}
#else
static int hook_setup(struct chan *c)
{
	return 0;
}
static int hook_msg(struct chan *c, uint8_t type)
{
	return 0;
}
#endif

/*
 * Sends the first n bytes of c->tbuf (a frame), with the faults of the
 * test build at their bytes.  0 or -errno.
 */
static int send_frame(struct chan *c, size_t n, uint64_t deadline)
{
#ifdef VXCR_TEST_HOOKS
	struct chan_fault *f;
	size_t done = 0, at;
	int ret;

	while ((f = hook_next(c, n - done, &at))) {
		ret = write_all(c, c->tbuf + done, at, deadline);
		if (ret)
			return ret;
		done += at;
		ret = hook_act(c, f, c->tbuf + done);
		if (ret)
			return ret;
	}
	return write_all(c, c->tbuf + done, n - done, deadline);
#else
	return write_all(c, c->tbuf, n, deadline);
#endif
}

/* ---- the handshake ---- */

static const char *role_name(uint8_t role)
{
	return role == ROLE_SERVER ? "server" : "client";
}

/* Describes the peer for messages: "peer NAME (key ID)". */
static void set_peer(struct chan *c, const struct vxcr_key *k)
{
	char hex[2 * IMG_KEY_ID_LEN + 1];

	memcpy(c->peer.pk, k->pk, sizeof(c->peer.pk));
	memcpy(c->peer.id, k->id, sizeof(c->peer.id));
	memcpy(c->peer.name, k->name, sizeof(c->peer.name));
	c->peer.has_sk = false;
	snprintf(c->peer_desc, sizeof(c->peer_desc), "peer %s (key %s)", k->name,
		 img_key_id_hex(k->id, hex));
}

/*
 * Checks the peer's hello h: a vxcr channel of our version, the other
 * role, an identity in trusted.  0, -EPROTO or -EACCES (logged).
 */
static int check_hello(struct chan *c, const struct chan_hello *h,
		       const struct vxcr_keyring *trusted)
{
	uint8_t want = c->server ? ROLE_CLIENT : ROLE_SERVER, id[IMG_KEY_ID_LEN];
	char hex[2 * IMG_KEY_ID_LEN + 1];
	const struct vxcr_key *k;

	if (memcmp(h->magic, CHAN_MAGIC, CHAN_MAGIC_LEN)) {
		pr_err("channel fd %d: the peer is not a vxcr channel (bad magic)\n", c->fd);
		return -EPROTO;
	}
	if (h->version != CHAN_VERSION) {
		pr_err("channel fd %d: the peer speaks channel version %u, this vxcr %u\n", c->fd,
		       h->version, CHAN_VERSION);
		return -EPROTO;
	}
	if (h->zero) {
		pr_err("channel fd %d: the peer's hello has a reserved byte set\n", c->fd);
		return -EPROTO;
	}
	if (h->role != want) {
		pr_err("channel fd %d: the peer's hello says %s, we are the %s (reflected?)\n",
		       c->fd,
		       h->role == ROLE_CLIENT || h->role == ROLE_SERVER ? role_name(h->role) :
									  "no role",
		       role_name(c->server ? ROLE_SERVER : ROLE_CLIENT));
		return -EPROTO;
	}
	img_key_id(id, h->id_pk);
	k = trusted ? img_keyring_find(trusted, id) : NULL;
	if (!k || sodium_memcmp(k->pk, h->id_pk, sizeof(k->pk))) {
		pr_err("channel fd %d: the %s's key %s is not trusted (not in %s)\n", c->fd,
		       role_name(want), img_key_id_hex(id, hex),
		       trusted && trusted->dir[0] ? trusted->dir : "the trusted keys");
		return -EACCES;
	}
	set_peer(c, k);
	return 0;
}

/* BLAKE2b-256 of the context, the client's hello and the server's. */
static void transcript(uint8_t out[TRANSCRIPT_LEN], const struct chan_hello *client,
		       const struct chan_hello *server)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, TRANSCRIPT_LEN);
	crypto_generichash_update(&st, (const uint8_t *)TRANSCRIPT_CONTEXT,
				  strlen(TRANSCRIPT_CONTEXT));
	crypto_generichash_update(&st, (const uint8_t *)client, sizeof(*client));
	crypto_generichash_update(&st, (const uint8_t *)server, sizeof(*server));
	crypto_generichash_final(&st, out, TRANSCRIPT_LEN);
}

/* What role signs: the context, the role byte, the transcript. */
static size_t sig_message(uint8_t *m, const uint8_t t[TRANSCRIPT_LEN], uint8_t role)
{
	size_t n = strlen(SIG_CONTEXT);

	memcpy(m, SIG_CONTEXT, n);
	m[n++] = role;
	memcpy(m + n, t, TRANSCRIPT_LEN);
	return n + TRANSCRIPT_LEN;
}

/* Handshake bytes: the error of a short read, named; 0 or -errno. */
static int hs_read(struct chan *c, void *buf, size_t n, uint64_t deadline, const char *what)
{
	size_t got;
	int ret = read_exact(c, buf, n, deadline, &got);

	if (ret == -ECONNRESET && !got && !c->server && !strcmp(what, "hello"))
		pr_err("channel fd %d: the server closed the connection after our hello "
		       "(does it trust our key?)\n",
		       c->fd);
	else if (ret == -ECONNRESET)
		pr_err("channel fd %d: the peer closed the connection in its %s (%zu of %zu "
		       "bytes)\n",
		       c->fd, what, got, n);
	else if (ret)
		pr_err("channel fd %d: cannot read the peer's %s: %s\n", c->fd, what,
		       strerror(-ret));
	return ret;
}

static int hs_write(struct chan *c, const void *buf, size_t n, uint64_t deadline, const char *what)
{
	int ret = write_all(c, buf, n, deadline);

	if (ret)
		pr_err("channel fd %d: cannot send our %s: %s\n", c->fd, what, strerror(-ret));
	return ret;
}

/*
 * Exchanges hellos (the client's first; the server answers only a
 * trusted client) and derives the session keys.  0 or -errno (logged).
 */
static int hs_hellos(struct chan *c, const struct vxcr_key *me, const struct vxcr_keyring *trusted,
		     uint64_t deadline, struct chan_hello h[2], uint8_t rx_key[], uint8_t tx_key[])
{
	struct chan_hello *mine = &h[c->server], *theirs = &h[!c->server];
	uint8_t kx_sk[crypto_kx_SECRETKEYBYTES];
	int ret, kx;

	memset(mine, 0, sizeof(*mine));
	memcpy(mine->magic, CHAN_MAGIC, CHAN_MAGIC_LEN);
	mine->version = CHAN_VERSION;
	mine->role = c->server ? ROLE_SERVER : ROLE_CLIENT;
	memcpy(mine->id_pk, me->pk, sizeof(mine->id_pk));
	crypto_kx_keypair(mine->kx_pk, kx_sk);

	ret = c->server ? 0 : hs_write(c, mine, sizeof(*mine), deadline, "hello");
	if (!ret)
		ret = hs_read(c, theirs, sizeof(*theirs), deadline, "hello");
	if (!ret)
		ret = check_hello(c, theirs, trusted);
	if (!ret && c->server)
		ret = hs_write(c, mine, sizeof(*mine), deadline, "hello");
	if (ret)
		goto out;
	if (c->server)
		kx = crypto_kx_server_session_keys(rx_key, tx_key, mine->kx_pk, kx_sk,
						   theirs->kx_pk);
	else
		kx = crypto_kx_client_session_keys(rx_key, tx_key, mine->kx_pk, kx_sk,
						   theirs->kx_pk);
	if (kx) {
		pr_err("channel fd %d: %s: unusable key exchange key\n", c->fd, c->peer_desc);
		ret = -EPROTO;
	}
out:
	sodium_memzero(kx_sk, sizeof(kx_sk));
	return ret;
}

/*
 * Exchanges signatures of the transcript of h and the stream headers
 * (the client's first; the server answers only a valid one).  0, -EACCES
 * (a bad signature) or -errno (logged).
 */
static int hs_auth(struct chan *c, const struct vxcr_key *me, const struct chan_hello h[2],
		   uint64_t deadline, const uint8_t rx_key[], const uint8_t tx_key[])
{
	uint8_t t[TRANSCRIPT_LEN], m[64];
	struct chan_auth mine, theirs;
	uint8_t role = c->server ? ROLE_SERVER : ROLE_CLIENT;
	size_t n;
	int ret;

	transcript(t, &h[0], &h[1]);
	crypto_secretstream_xchacha20poly1305_init_push(&c->tx, mine.header, tx_key);
	n = sig_message(m, t, role);
	crypto_sign_detached(mine.sig, NULL, m, n, me->sk);

	ret = c->server ? 0 : hs_write(c, &mine, sizeof(mine), deadline, "signature");
	if (!ret)
		ret = hs_read(c, &theirs, sizeof(theirs), deadline, "signature");
	if (ret)
		return ret;
	n = sig_message(m, t, c->server ? ROLE_CLIENT : ROLE_SERVER);
	if (crypto_sign_verify_detached(theirs.sig, m, n, c->peer.pk)) {
		pr_err("channel fd %d: %s: bad handshake signature\n", c->fd, c->peer_desc);
		return -EACCES;
	}
	if (c->server) {
		ret = hs_write(c, &mine, sizeof(mine), deadline, "signature");
		if (ret)
			return ret;
	}
	if (crypto_secretstream_xchacha20poly1305_init_pull(&c->rx, theirs.header, rx_key)) {
		pr_err("channel fd %d: %s: bad stream header\n", c->fd, c->peer_desc);
		return -EPROTO;
	}
	return 0;
}

/* Frame buffers: mapped, so a closed channel gives the pages back. */
static uint8_t *frame_alloc(void)
{
	void *p = mmap(NULL, FRAME_MAX, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int chan_open(int fd, bool server, const struct vxcr_key *me, const struct vxcr_keyring *trusted,
	      int timeout_ms, struct chan **out)
{
	uint8_t rx_key[crypto_kx_SESSIONKEYBYTES], tx_key[crypto_kx_SESSIONKEYBYTES];
	uint64_t deadline = deadline_in(timeout_ms);
	struct chan_hello h[2];
	struct chan *c;
	int ret;

	img_crypto_init();
	if (!me || !me->has_sk) {
		pr_err("channel fd %d: no secret key to authenticate with\n", fd);
		close(fd);
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	c->server = server;
	c->timeout_ms = timeout_ms;
	snprintf(c->peer_desc, sizeof(c->peer_desc), "peer on fd %d", fd);
	c->tbuf = frame_alloc();
	c->rbuf = frame_alloc();
	ret = c->tbuf && c->rbuf ? hook_setup(c) : -ENOMEM;
	if (!ret)
		ret = hs_hellos(c, me, trusted, deadline, h, rx_key, tx_key);
	if (!ret)
		ret = hs_auth(c, me, h, deadline, rx_key, tx_key);
	sodium_memzero(rx_key, sizeof(rx_key));
	sodium_memzero(tx_key, sizeof(tx_key));
	if (ret) {
		chan_free(c);
		return ret;
	}
	c->tx_base = c->wire_sent;
	*out = c;
	return 0;
}

const struct vxcr_key *chan_peer(const struct chan *c)
{
	return &c->peer;
}

void chan_set_timeout(struct chan *c, int ms)
{
	c->timeout_ms = ms;
}

int chan_fd(const struct chan *c)
{
	return c->fd;
}

/* ---- messages ---- */

/*
 * Encrypts the plaintext at c->tbuf + FRAME_HDR + 1 (mlen bytes) in place
 * with tag and writes the frame's length; returns the frame's length.
 * In place: secretstream's push writes the encrypted tag byte at out[0]
 * and XORs the message into out + 1, so m == out + 1 is safe (libsodium's
 * AEADs allow it; test_chan's every message checks it).
 */
static size_t seal(struct chan *c, size_t mlen, uint8_t tag)
{
	uint8_t *out = c->tbuf + FRAME_HDR;
	unsigned long long clen;
	uint64_t t0 = now_ns();
	uint32_t le;

	crypto_secretstream_xchacha20poly1305_push(&c->tx, out, &clen, out + 1, mlen, NULL, 0, tag);
	c->tx_ns += now_ns() - t0;
	le = htole32((uint32_t)clen);
	memcpy(c->tbuf, &le, sizeof(le));
	return FRAME_HDR + clen;
}

/* A send's failure: sticks, logged once. */
static int send_fail(struct chan *c, int err)
{
	if (err == -ETIMEDOUT)
		pr_err("channel to %s: no room to send for %d ms\n", c->peer_desc, c->timeout_ms);
	else
		pr_err("channel to %s: %s\n", c->peer_desc, strerror(-err));
	c->tx_err = err;
	return err;
}

int chan_sendv(struct chan *c, uint8_t type, const struct iovec *iov, int cnt)
{
	uint8_t *p = c->tbuf + FRAME_HDR + 1;
	size_t len = 0, frame;
	int i, ret;

	if (!type || cnt < 0)
		return -EINVAL;
	for (i = 0; i < cnt; i++) {
		if (iov[i].iov_len > CHAN_MSG_MAX - len)
			return -EMSGSIZE;
		len += iov[i].iov_len;
	}
	if (c->tx_err)
		return c->tx_err;
	*p++ = type;
	for (i = 0; i < cnt; i++) {
		if (iov[i].iov_len)
			memcpy(p, iov[i].iov_base, iov[i].iov_len);
		p += iov[i].iov_len;
	}
	frame = seal(c, 1 + len, TAG_MESSAGE);
	ret = hook_msg(c, type);
	if (!ret)
		ret = send_frame(c, frame, deadline_in(c->timeout_ms));
	if (ret)
		return send_fail(c, ret);
	c->sent += len;
	c->msgs_sent++;
	return 0;
}

int chan_send(struct chan *c, uint8_t type, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return chan_sendv(c, type, &iov, 1);
}

int chan_close(struct chan *c)
{
	size_t frame;
	int ret;

	if (c->tx_err)
		return c->tx_err;
	c->tbuf[FRAME_HDR + 1] = 0;
	frame = seal(c, 1, TAG_FINAL);
	ret = send_frame(c, frame, deadline_in(c->timeout_ms));
	if (ret)
		return send_fail(c, ret);
	c->tx_err = -EPIPE;
	if (shutdown(c->fd, SHUT_WR)) {
		ret = -errno;
		pr_err("channel to %s: shutdown: %s\n", c->peer_desc, strerror(errno));
		return ret;
	}
	return 0;
}

/* A receive's failure: sticks; logged once unless the peer ended. */
static int recv_fail(struct chan *c, int err, const char *why)
{
	if (err != -ENODATA)
		pr_err("channel from %s: %s\n", c->peer_desc, why);
	c->rx_err = err;
	return err;
}

/* Reads n bytes of a frame at c->rbuf + at: 0 or the failure (sticks). */
static int recv_bytes(struct chan *c, size_t at, size_t n, uint64_t deadline)
{
	char why[128];
	size_t got;
	int ret = read_exact(c, c->rbuf + at, n, deadline, &got);

	if (!ret)
		return 0;
	if (ret == -ECONNRESET && !at && !got)
		snprintf(why, sizeof(why), "cut (the stream ended without its final message)");
	else if (ret == -ECONNRESET)
		snprintf(why, sizeof(why), "cut inside a message (%zu bytes of it read)", at + got);
	else if (ret == -ETIMEDOUT)
		snprintf(why, sizeof(why), "no message for %d ms", c->timeout_ms);
	else
		snprintf(why, sizeof(why), "%s", strerror(-ret));
	return recv_fail(c, ret, why);
}

int chan_recv(struct chan *c, uint8_t *type, const void **buf, size_t *len)
{
	uint64_t deadline = deadline_in(c->timeout_ms), t0;
	uint8_t *in = c->rbuf + FRAME_HDR, tag;
	unsigned long long mlen;
	char why[96];
	uint32_t clen;
	int ret;

	if (c->rx_err)
		return c->rx_err;
	ret = recv_bytes(c, 0, FRAME_HDR, deadline);
	if (ret)
		return ret;
	memcpy(&clen, c->rbuf, sizeof(clen));
	clen = le32toh(clen);
	if (clen < CHUNK_MIN || clen > CHUNK_MAX) {
		snprintf(why, sizeof(why), "a frame of %u bytes (%u..%u): corrupted or forged",
			 clen, CHUNK_MIN, CHUNK_MAX);
		return recv_fail(c, -EBADMSG, why);
	}
	ret = recv_bytes(c, FRAME_HDR, clen, deadline);
	if (ret)
		return ret;
	t0 = now_ns();
	ret = crypto_secretstream_xchacha20poly1305_pull(&c->rx, in + 1, &mlen, &tag, in, clen,
							 NULL, 0);
	c->rx_ns += now_ns() - t0;
	if (ret || !mlen || (tag != TAG_MESSAGE && tag != TAG_FINAL) ||
	    (tag == TAG_MESSAGE && !in[1])) {
		snprintf(why, sizeof(why),
			 "message %llu fails authentication (corrupted or forged)",
			 (unsigned long long)c->msgs_received + 1);
		return recv_fail(c, -EBADMSG, why);
	}
	if (tag == TAG_FINAL)
		return recv_fail(c, -ENODATA, NULL);
	*type = in[1];
	*buf = in + 2;
	*len = mlen - 1;
	c->received += mlen - 1;
	c->msgs_received++;
	return 0;
}

void chan_get_stats(const struct chan *c, struct chan_stats *st)
{
	st->wire_sent = c->wire_sent;
	st->wire_received = c->wire_received;
	st->sent = c->sent;
	st->received = c->received;
	st->msgs_sent = c->msgs_sent;
	st->msgs_received = c->msgs_received;
	st->crypt_ns = c->tx_ns + c->rx_ns;
}

void chan_free(struct chan *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	if (c->tbuf)
		munmap(c->tbuf, FRAME_MAX);
	if (c->rbuf)
		munmap(c->rbuf, FRAME_MAX);
	sodium_memzero(c, sizeof(*c));
	free(c);
}
