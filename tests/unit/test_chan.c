/*
 * The migration channel (lib/img/chan.c): handshakes both ways over
 * socketpairs and loopback TCP; refusals of an untrusted client or server
 * (nothing read beyond its hello), of a reflected and a replayed hello, of
 * a wrong magic or version, of a silent peer; messages of 0, 1 and
 * CHAN_MSG_MAX bytes and one too many; the fault hook (VXCR_TEST_CHAN: this
 * test links the test build of chan.c): a flipped bit is -EBADMSG, a cut
 * -ECONNRESET, a stall -ETIMEDOUT, at byte offsets and before a message
 * type, and at random bytes of a burst (nothing after the fault is
 * taken for a message, nothing for a clean end); chan_close() is -ENODATA; the image sink carries 10 MiB intact;
 * an image written through the sink (compressed, on writer threads) reads
 * back through the source (on the decompression pool's reader thread); a
 * stray message type inside an image; one thread sends while another
 * receives, both ways at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <CUnit/Basic.h>

#include "error.h"
#include "img-test.h"
#include "img/chan.h"

#define HELLO_LEN 76
#define AUTH_LEN 88
#define TMO 5000

static struct vxcr_key alice, bob, carol;
static struct vxcr_keyring ring_all, ring_alice, ring_bob, ring_carol;
static struct vxcr_key all_keys[3];

static void make_key(struct vxcr_key *k, const char *name)
{
	memset(k, 0, sizeof(*k));
	crypto_sign_keypair(k->pk, k->sk);
	k->has_sk = true;
	img_key_id(k->id, k->pk);
	snprintf(k->name, sizeof(k->name), "%s", name);
}

/* A ring of one public key (the key itself, sk and all: a ring ignores it). */
static void one_ring(struct vxcr_keyring *r, struct vxcr_key *k)
{
	r->keys = k;
	r->n = 1;
	snprintf(r->dir, sizeof(r->dir), "/keys/%s-only", k->name);
}

static int setup(void)
{
	img_crypto_init();
	make_key(&alice, "alice");
	make_key(&bob, "bob");
	make_key(&carol, "carol");
	all_keys[0] = alice;
	all_keys[1] = bob;
	all_keys[2] = carol;
	ring_all.keys = all_keys;
	ring_all.n = 3;
	snprintf(ring_all.dir, sizeof(ring_all.dir), "/keys/all");
	one_ring(&ring_alice, &alice);
	one_ring(&ring_bob, &bob);
	one_ring(&ring_carol, &carol);
	return 0;
}

/* One end of a channel being opened (on its own thread or the caller's). */
struct end {
	int fd;
	bool server;
	const struct vxcr_key *me;
	const struct vxcr_keyring *ring;
	int timeout;
	struct chan *c;
	int ret;
	char msg[256];
	pthread_t th;
};

static void *open_end(void *arg)
{
	struct end *e = arg;

	err_clear();
	e->ret = chan_open(e->fd, e->server, e->me, e->ring, e->timeout, &e->c);
	snprintf(e->msg, sizeof(e->msg), "%s", err_current()->msg);
	return NULL;
}

static void end_init(struct end *e, int fd, bool server, const struct vxcr_key *me,
		     const struct vxcr_keyring *ring)
{
	memset(e, 0, sizeof(*e));
	e->fd = fd;
	e->server = server;
	e->me = me;
	e->ring = ring;
	e->timeout = TMO;
}

/* Opens server s on a thread and client c here, over a socketpair. */
static void open_pair(struct end *s, struct end *c, const struct vxcr_keyring *s_ring,
		      const struct vxcr_keyring *c_ring)
{
	int sv[2];

	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	end_init(s, sv[0], true, &alice, s_ring);
	end_init(c, sv[1], false, &bob, c_ring);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&s->th, NULL, open_end, s), 0);
	open_end(c);
	pthread_join(s->th, NULL);
}

/* A connected loopback TCP pair: *a accepted, *b connected. */
static void tcp_pair(int *a, int *b)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int l;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(l >= 0);
	CU_ASSERT_EQUAL_FATAL(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CU_ASSERT_EQUAL_FATAL(listen(l, 1), 0);
	CU_ASSERT_EQUAL_FATAL(getsockname(l, (struct sockaddr *)&sa, &len), 0);
	*b = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_EQUAL_FATAL(connect(*b, (struct sockaddr *)&sa, sizeof(sa)), 0);
	*a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	CU_ASSERT_FATAL(*a >= 0);
	close(l);
}

static void read_n(int fd, void *buf, size_t n)
{
	size_t done = 0;
	ssize_t r;

	while (done < n) {
		r = read(fd, (char *)buf + done, n - done);
		CU_ASSERT_FATAL(r > 0);
		done += r;
	}
}

static void write_n(int fd, const void *buf, size_t n)
{
	CU_ASSERT_EQUAL_FATAL(write(fd, buf, n), (ssize_t)n);
}

/* A hello as the wire has it (the test's own copy of the layout). */
static void make_hello(uint8_t h[HELLO_LEN], const char *magic, uint8_t version, uint8_t role,
		       const struct vxcr_key *k)
{
	uint8_t kx_sk[crypto_kx_SECRETKEYBYTES];

	memcpy(h, magic, 9);
	h[9] = version;
	h[10] = role;
	h[11] = 0;
	memcpy(h + 12, k->pk, 32);
	crypto_kx_keypair(h + 44, kx_sk);
}

static int unread(int fd)
{
	int n = -1;

	CU_ASSERT_EQUAL(ioctl(fd, FIONREAD, &n), 0);
	return n;
}

static void test_handshake(void)
{
	struct end s, c;
	const void *buf;
	uint8_t type;
	size_t len;

	/* both trust each other through one ring of three */
	open_pair(&s, &c, &ring_all, &ring_all);
	CU_ASSERT_EQUAL_FATAL(s.ret, 0);
	CU_ASSERT_EQUAL_FATAL(c.ret, 0);
	CU_ASSERT_STRING_EQUAL(chan_peer(s.c)->name, "bob");
	CU_ASSERT_STRING_EQUAL(chan_peer(c.c)->name, "alice");
	CU_ASSERT(!memcmp(chan_peer(c.c)->pk, alice.pk, 32));
	CU_ASSERT(!chan_peer(c.c)->has_sk);
	CU_ASSERT_EQUAL(chan_send(c.c, 3, "ping", 4), 0);
	CU_ASSERT_EQUAL(chan_recv(s.c, &type, &buf, &len), 0);
	CU_ASSERT(type == 3 && len == 4 && !memcmp(buf, "ping", 4));
	CU_ASSERT_EQUAL(chan_send(s.c, 4, "pong!", 5), 0);
	CU_ASSERT_EQUAL(chan_recv(c.c, &type, &buf, &len), 0);
	CU_ASSERT(type == 4 && len == 5 && !memcmp(buf, "pong!", 5));
	chan_free(s.c);
	chan_free(c.c);

	/* each trusts only the other */
	open_pair(&s, &c, &ring_bob, &ring_alice);
	CU_ASSERT_EQUAL(s.ret, 0);
	CU_ASSERT_EQUAL(c.ret, 0);
	chan_free(s.c);
	chan_free(c.c);
}

static void test_untrusted(void)
{
	char hex[2 * IMG_KEY_ID_LEN + 1];
	uint8_t h[HELLO_LEN], junk[AUTH_LEN] = { 1 };
	struct end s, c;
	int sv[2], keep;

	/* the server trusts only carol: refuses bob, the client hears nothing */
	open_pair(&s, &c, &ring_carol, &ring_alice);
	CU_ASSERT_EQUAL(s.ret, -EACCES);
	CU_ASSERT_PTR_NOT_NULL(strstr(s.msg, img_key_id_hex(bob.id, hex)));
	CU_ASSERT_PTR_NOT_NULL(strstr(s.msg, "not trusted"));
	CU_ASSERT_EQUAL(c.ret, -ECONNRESET);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.msg, "does it trust our key"));

	/* the client trusts only carol: refuses alice */
	open_pair(&s, &c, &ring_bob, &ring_carol);
	CU_ASSERT_EQUAL(c.ret, -EACCES);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.msg, img_key_id_hex(alice.id, hex)));
	CU_ASSERT_EQUAL(s.ret, -ECONNRESET);

	/* nothing after an untrusted client's hello is read */
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	keep = dup(sv[0]);
	make_hello(h, "vxcr-chan", 1, 1, &carol);
	write_n(sv[1], h, HELLO_LEN);
	write_n(sv[1], junk, sizeof(junk));
	end_init(&s, sv[0], true, &alice, &ring_bob);
	open_end(&s);
	CU_ASSERT_EQUAL(s.ret, -EACCES);
	CU_ASSERT_EQUAL(unread(keep), AUTH_LEN);
	close(keep);
	close(sv[1]);

	/* nor after an untrusted server's */
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	keep = dup(sv[1]);
	make_hello(h, "vxcr-chan", 1, 2, &carol);
	write_n(sv[0], h, HELLO_LEN);
	write_n(sv[0], junk, sizeof(junk));
	end_init(&c, sv[1], false, &bob, &ring_alice);
	open_end(&c);
	CU_ASSERT_EQUAL(c.ret, -EACCES);
	CU_ASSERT_EQUAL(unread(keep), AUTH_LEN);
	close(keep);
	close(sv[0]);
}

/* The client opens on a thread against a raw peer on *raw. */
static void raw_server(struct end *c, int *raw, const struct vxcr_keyring *ring)
{
	int sv[2];

	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	end_init(c, sv[1], false, &bob, ring);
	*raw = sv[0];
	CU_ASSERT_EQUAL_FATAL(pthread_create(&c->th, NULL, open_end, c), 0);
}

static void test_reflected(void)
{
	uint8_t h[HELLO_LEN], a[AUTH_LEN];
	struct end c;
	int raw;

	/* our own hello back: a client speaks to a client */
	raw_server(&c, &raw, &ring_all);
	read_n(raw, h, HELLO_LEN);
	write_n(raw, h, HELLO_LEN);
	pthread_join(c.th, NULL);
	CU_ASSERT_EQUAL(c.ret, -EPROTO);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.msg, "reflected"));
	close(raw);

	/* with the role changed, and our signature back: bound to the role */
	raw_server(&c, &raw, &ring_all);
	read_n(raw, h, HELLO_LEN);
	h[10] = 2;
	write_n(raw, h, HELLO_LEN);
	read_n(raw, a, AUTH_LEN);
	write_n(raw, a, AUTH_LEN);
	pthread_join(c.th, NULL);
	CU_ASSERT_EQUAL(c.ret, -EACCES);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.msg, "bad handshake signature"));
	close(raw);
}

/* Copies n bytes from one fd to another, keeping them in rec if given. */
static void relay(int from, int to, size_t n, uint8_t *rec)
{
	uint8_t buf[AUTH_LEN + HELLO_LEN];

	read_n(from, buf, n);
	write_n(to, buf, n);
	if (rec)
		memcpy(rec, buf, n);
}

static void test_replayed(void)
{
	uint8_t hello[HELLO_LEN], auth[AUTH_LEN], sh[HELLO_LEN];
	struct end s, c;
	int a[2], b[2], raw;

	/* a genuine session through us, the client's bytes recorded */
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
	end_init(&c, a[1], false, &bob, &ring_alice);
	end_init(&s, b[1], true, &alice, &ring_bob);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&c.th, NULL, open_end, &c), 0);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&s.th, NULL, open_end, &s), 0);
	relay(a[0], b[0], HELLO_LEN, hello);
	relay(b[0], a[0], HELLO_LEN, NULL);
	relay(a[0], b[0], AUTH_LEN, auth);
	relay(b[0], a[0], AUTH_LEN, NULL);
	pthread_join(c.th, NULL);
	pthread_join(s.th, NULL);
	CU_ASSERT_EQUAL_FATAL(c.ret, 0);
	CU_ASSERT_EQUAL_FATAL(s.ret, 0);
	chan_free(c.c);
	chan_free(s.c);
	close(a[0]);
	close(b[0]);

	/* the same bytes to a new server: its fresh key makes the signature stale */
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	end_init(&s, a[1], true, &alice, &ring_bob);
	raw = a[0];
	CU_ASSERT_EQUAL_FATAL(pthread_create(&s.th, NULL, open_end, &s), 0);
	write_n(raw, hello, HELLO_LEN);
	read_n(raw, sh, HELLO_LEN);
	write_n(raw, auth, AUTH_LEN);
	pthread_join(s.th, NULL);
	CU_ASSERT_EQUAL(s.ret, -EACCES);
	CU_ASSERT_PTR_NOT_NULL(strstr(s.msg, "bad handshake signature"));
	close(raw);
}

/* A server fed one raw hello: its chan_open result. */
static int server_on_hello(const uint8_t h[HELLO_LEN], int timeout)
{
	struct end s;
	int sv[2];

	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	if (h)
		write_n(sv[1], h, HELLO_LEN);
	end_init(&s, sv[0], true, &alice, &ring_all);
	s.timeout = timeout;
	open_end(&s);
	close(sv[1]);
	return s.ret;
}

static void test_bad_hello(void)
{
	uint8_t h[HELLO_LEN];

	make_hello(h, "vxcr-chaX", 1, 1, &bob);
	CU_ASSERT_EQUAL(server_on_hello(h, TMO), -EPROTO);
	make_hello(h, "GET / HTT", 1, 1, &bob);
	CU_ASSERT_EQUAL(server_on_hello(h, TMO), -EPROTO);
	make_hello(h, "vxcr-chan", 2, 1, &bob);
	CU_ASSERT_EQUAL(server_on_hello(h, TMO), -EPROTO);
	make_hello(h, "vxcr-chan", 1, 7, &bob);
	CU_ASSERT_EQUAL(server_on_hello(h, TMO), -EPROTO);
	make_hello(h, "vxcr-chan", 1, 1, &bob);
	h[11] = 1;
	CU_ASSERT_EQUAL(server_on_hello(h, TMO), -EPROTO);
	/* a good hello and then silence, or nothing at all: the timeout */
	make_hello(h, "vxcr-chan", 1, 1, &bob);
	CU_ASSERT_EQUAL(server_on_hello(h, 200), -ETIMEDOUT);
	CU_ASSERT_EQUAL(server_on_hello(NULL, 200), -ETIMEDOUT);
	/* a key without its secret half */
	{
		struct vxcr_key pub = alice;
		struct chan *c;
		int sv[2];

		pub.has_sk = false;
		CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		CU_ASSERT_EQUAL(chan_open(sv[0], true, &pub, &ring_all, TMO, &c), -EINVAL);
		close(sv[1]);
	}
}

/* Opens a pair and fails the test if it does not open. */
static bool opened(struct end *s, struct end *c)
{
	open_pair(s, c, &ring_all, &ring_all);
	CU_ASSERT_EQUAL(s->ret, 0);
	CU_ASSERT_EQUAL(c->ret, 0);
	if (!s->ret && !c->ret)
		return true;
	chan_free(s->c);
	chan_free(c->c);
	return false;
}

struct sender {
	struct chan *c;
	uint8_t type;
	size_t len;
	int n, ret;
	pthread_t th;
};

/* Sends n messages of len bytes, byte i of message k being (k + i) & 0xff. */
static void *send_many(void *arg)
{
	struct sender *sd = arg;
	uint8_t *buf = malloc(sd->len + 256);
	int k;

	for (k = 0; k < sd->n && !sd->ret; k++) {
		for (size_t i = 0; i < sd->len; i++)
			buf[i] = (uint8_t)(k + i);
		sd->ret = chan_send(sd->c, sd->type, buf, sd->len);
	}
	free(buf);
	return NULL;
}

static void start_sender(struct sender *sd, struct chan *c, uint8_t type, size_t len, int n)
{
	memset(sd, 0, sizeof(*sd));
	sd->c = c;
	sd->type = type;
	sd->len = len;
	sd->n = n;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&sd->th, NULL, send_many, sd), 0);
}

static bool pattern_ok(const uint8_t *p, size_t len, int k)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (uint8_t)(k + i))
			return false;
	return true;
}

static void test_sizes(void)
{
	size_t sizes[] = { 0, 1, CHAN_MSG_MAX }, len;
	struct iovec iov[3];
	struct sender sd;
	struct end s, c;
	const uint8_t *buf;
	uint8_t type;
	unsigned i;
	char *big;

	if (!opened(&s, &c))
		return;
	for (i = 0; i < 3; i++) {
		start_sender(&sd, c.c, 9, sizes[i], 1);
		CU_ASSERT_EQUAL(chan_recv(s.c, &type, (const void **)&buf, &len), 0);
		pthread_join(sd.th, NULL);
		CU_ASSERT_EQUAL(sd.ret, 0);
		CU_ASSERT(type == 9 && len == sizes[i] && pattern_ok(buf, len, 0));
	}
	big = calloc(1, CHAN_MSG_MAX + 1);
	CU_ASSERT_EQUAL(chan_send(c.c, 9, big, CHAN_MSG_MAX + 1), -EMSGSIZE);
	iov[0] = (struct iovec){ big, 10 };
	iov[1] = (struct iovec){ big, CHAN_MSG_MAX - 10 };
	iov[2] = (struct iovec){ big, 1 };
	CU_ASSERT_EQUAL(chan_sendv(c.c, 9, iov, 3), -EMSGSIZE);
	CU_ASSERT_EQUAL(chan_send(c.c, 0, "x", 1), -EINVAL);
	/* not sticky: gathered from three pieces, it arrives whole */
	iov[0] = (struct iovec){ "ab", 2 };
	iov[1] = (struct iovec){ big, 0 };
	iov[2] = (struct iovec){ "cde", 3 };
	CU_ASSERT_EQUAL(chan_sendv(c.c, 255, iov, 3), 0);
	CU_ASSERT_EQUAL(chan_recv(s.c, &type, (const void **)&buf, &len), 0);
	CU_ASSERT(type == 255 && len == 5 && !memcmp(buf, "abcde", 5));
	free(big);
	chan_free(s.c);
	chan_free(c.c);
}

static void test_close(void)
{
	struct chan_stats st;
	struct end s, c;
	const void *buf;
	uint8_t type;
	size_t len;

	if (!opened(&s, &c))
		return;
	CU_ASSERT_EQUAL(chan_send(c.c, 1, "last", 4), 0);
	CU_ASSERT_EQUAL(chan_close(c.c), 0);
	CU_ASSERT_EQUAL(chan_send(c.c, 1, "more", 4), -EPIPE);
	CU_ASSERT_EQUAL(chan_recv(s.c, &type, &buf, &len), 0);
	CU_ASSERT_EQUAL(chan_recv(s.c, &type, &buf, &len), -ENODATA);
	CU_ASSERT_EQUAL(chan_recv(s.c, &type, &buf, &len), -ENODATA);
	/* the other direction still works */
	CU_ASSERT_EQUAL(chan_send(s.c, 2, "reply", 5), 0);
	CU_ASSERT_EQUAL(chan_recv(c.c, &type, &buf, &len), 0);
	CU_ASSERT(type == 2 && len == 5);
	chan_get_stats(s.c, &st);
	CU_ASSERT_EQUAL(st.msgs_received, 1);
	CU_ASSERT_EQUAL(st.received, 4);
	CU_ASSERT_EQUAL(st.msgs_sent, 1);
	CU_ASSERT_EQUAL(st.sent, 5);
	CU_ASSERT(st.wire_received > HELLO_LEN + AUTH_LEN + 4);
	/* a cut without chan_close */
	chan_free(s.c);
	CU_ASSERT_EQUAL(chan_recv(c.c, &type, &buf, &len), -ECONNRESET);
	chan_free(c.c);
}

/*
 * With VXCR_TEST_CHAN set to hook, the client sends messages of types 5,
 * 6, 7 (300 bytes each); the server's results in got[] (0 or its error),
 * the client's in *sent.
 */
static void faulty_session(const char *hook, int got[3], int *sent)
{
	const void *buf;
	struct end s, c;
	uint8_t type, msg[300];
	size_t len;
	int i;

	setenv("VXCR_TEST_CHAN", hook, 1);
	open_pair(&s, &c, &ring_all, &ring_all);
	unsetenv("VXCR_TEST_CHAN");
	CU_ASSERT_EQUAL_FATAL(s.ret, 0);
	CU_ASSERT_EQUAL_FATAL(c.ret, 0);
	memset(msg, 0x5a, sizeof(msg));
	*sent = 0;
	for (i = 0; i < 3 && !*sent; i++)
		*sent = chan_send(c.c, 5 + i, msg, sizeof(msg));
	for (i = 0; i < 3; i++) {
		got[i] = chan_recv(s.c, &type, &buf, &len);
		if (!got[i])
			CU_ASSERT(type == 5 + i && len == sizeof(msg));
	}
	chan_free(s.c);
	chan_free(c.c);
}

static void test_faults(void)
{
	int got[3], sent;

	/* a frame is 4 + 1 + 1 + 300 + 16 = 322 bytes: byte 400 is in the second */
	faulty_session("client:flip@400", got, &sent);
	CU_ASSERT(sent == 0 && got[0] == 0 && got[1] == -EBADMSG && got[2] == -EBADMSG);
	/* a flip in the length: the frame too long, or the MAC wrong */
	faulty_session("client:flip@322,server:cut@0", got, &sent);
	CU_ASSERT(sent == 0 && got[0] == 0 && got[1] == -EBADMSG);
	faulty_session("client:flip@325", got, &sent);
	CU_ASSERT(sent == 0 && got[0] == 0 && got[1] == -EBADMSG);
	faulty_session("client:cut@400", got, &sent);
	CU_ASSERT(sent == -EPIPE && got[0] == 0 && got[1] == -ECONNRESET && got[2] == -ECONNRESET);
	faulty_session("client:cut@322", got, &sent);
	CU_ASSERT(sent == -EPIPE && got[0] == 0 && got[1] == -ECONNRESET);
	faulty_session("client:cut@0", got, &sent);
	CU_ASSERT(sent == -EPIPE && got[0] == -ECONNRESET);
	faulty_session("client:flip@msg:7", got, &sent);
	CU_ASSERT(sent == 0 && !got[0] && !got[1] && got[2] == -EBADMSG);
	faulty_session("client:cut@msg:6", got, &sent);
	CU_ASSERT(sent == -EPIPE && !got[0] && got[1] == -ECONNRESET);
	/* the other role's faults are not ours */
	faulty_session("server:cut@msg:6,server:flip@0", got, &sent);
	CU_ASSERT(sent == 0 && !got[0] && !got[1] && !got[2]);
}

struct burst {
	struct chan *c;
	size_t len[20];
	int ret;
	pthread_t th;
};

/* Sends 20 messages of b->len[k] bytes (pattern k), then closes. */
static void *send_burst(void *arg)
{
	struct burst *b = arg;
	uint8_t *buf = malloc(CHAN_MSG_MAX);
	int k;

	for (k = 0; k < 20 && !b->ret; k++) {
		for (size_t i = 0; i < b->len[k]; i++)
			buf[i] = (uint8_t)(k + i);
		b->ret = chan_send(b->c, 1 + k, buf, b->len[k]);
	}
	b->ret = b->ret ?: chan_close(b->c);
	free(buf);
	return NULL;
}

/*
 * A flip or a cut at a random byte of a burst of messages of random
 * sizes: every message before the fault arrives intact, the one it hits
 * never does, and the stream ends in -EBADMSG or -ECONNRESET, never as
 * if closed.
 */
static void test_random_faults(void)
{
	int round, k, ret, ok = 0, bad = 0;
	const uint8_t *buf;
	struct end s, c;
	struct burst b;
	uint64_t wire;
	char hook[64];
	uint8_t type;
	size_t len;

	for (round = 0; round < 60; round++) {
		memset(&b, 0, sizeof(b));
		for (k = 0, wire = 0; k < 20; k++) {
			b.len[k] = randombytes_uniform(k % 3 ? 5000 : CHAN_MSG_MAX + 1);
			wire += 4 + 1 + 1 + b.len[k] + 16;
		}
		snprintf(hook, sizeof(hook), "client:%s@%llu", round % 2 ? "cut" : "flip",
			 (unsigned long long)randombytes_uniform(wire));
		setenv("VXCR_TEST_CHAN", hook, 1);
		open_pair(&s, &c, &ring_all, &ring_all);
		unsetenv("VXCR_TEST_CHAN");
		CU_ASSERT_EQUAL_FATAL(s.ret, 0);
		CU_ASSERT_EQUAL_FATAL(c.ret, 0);
		b.c = c.c;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&b.th, NULL, send_burst, &b), 0);
		for (k = 0; !(ret = chan_recv(s.c, &type, (const void **)&buf, &len)); k++)
			if (k >= 20 || type != 1 + k || len != b.len[k] || !pattern_ok(buf, len, k))
				bad++;
		if (ret == -EBADMSG || ret == -ECONNRESET)
			ok++;
		else
			printf("\n%s: message %d: %s\n", hook, k, strerror(-ret));
		chan_free(s.c);
		pthread_join(b.th, NULL);
		chan_free(c.c);
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(ok, 60);
}

static void test_fault_parse(void)
{
	static const char *const bad[] = { "client:boom@1",    "client:cut",	     "client:cut@x",
					   "client:cut@msg:0", "client:cut@msg:256", "cut@1" };
	struct end s, c;
	unsigned i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("VXCR_TEST_CHAN", bad[i], 1);
		open_pair(&s, &c, &ring_all, &ring_all);
		unsetenv("VXCR_TEST_CHAN");
		CU_ASSERT_EQUAL(c.ret, -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(c.msg, "VXCR_TEST_CHAN"));
		chan_free(s.c);
	}
}

/* A stalled client (a child, killed afterwards): the server's timeout. */
static void test_stall(void)
{
	struct end s, c;
	const void *buf;
	uint8_t type;
	size_t len;
	pid_t pid;
	int sv[2], st;

	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (!pid) {
		close(sv[0]);
		setenv("VXCR_TEST_CHAN", "client:stall@msg:6", 1);
		end_init(&c, sv[1], false, &bob, &ring_all);
		open_end(&c);
		if (c.ret || chan_send(c.c, 5, "a", 1) || chan_send(c.c, 6, "b", 1))
			_exit(1);
		_exit(0);
	}
	close(sv[1]);
	end_init(&s, sv[0], true, &alice, &ring_all);
	open_end(&s);
	CU_ASSERT_EQUAL(s.ret, 0);
	if (!s.ret) {
		chan_set_timeout(s.c, 300);
		CU_ASSERT_EQUAL(chan_recv(s.c, &type, &buf, &len), 0);
		CU_ASSERT_EQUAL(type, 5);
		CU_ASSERT_EQUAL(chan_recv(s.c, &type, &buf, &len), -ETIMEDOUT);
		chan_free(s.c);
	}
	kill(pid, SIGKILL);
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT(WIFSIGNALED(st));
}

struct drain {
	struct chan *c;
	uint8_t *data;
	size_t len, cap;
	int ret, msgs;
	pthread_t th;
};

/* Receives until the channel ends, appending the payloads. */
static void *drain_all(void *arg)
{
	struct drain *d = arg;
	const void *buf;
	uint8_t type;
	size_t len;

	while (!(d->ret = chan_recv(d->c, &type, &buf, &len))) {
		if (type != 42 || d->len + len > d->cap) {
			d->ret = -EBADMSG;
			break;
		}
		memcpy(d->data + d->len, buf, len);
		d->len += len;
		d->msgs++;
	}
	return NULL;
}

static void test_sink(void)
{
	const size_t total = 10u << 20;
	struct img_sink *sink;
	struct end s, c;
	struct drain d = { 0 };
	uint8_t *data;
	size_t off, n;
	int fa, fb;

	tcp_pair(&fa, &fb);
	end_init(&s, fa, true, &alice, &ring_bob);
	end_init(&c, fb, false, &bob, &ring_alice);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&s.th, NULL, open_end, &s), 0);
	open_end(&c);
	pthread_join(s.th, NULL);
	CU_ASSERT_EQUAL_FATAL(s.ret, 0);
	CU_ASSERT_EQUAL_FATAL(c.ret, 0);

	data = malloc(total);
	randombytes_buf(data, total);
	d.c = s.c;
	d.cap = total + 1;
	d.data = malloc(d.cap);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&d.th, NULL, drain_all, &d), 0);
	CU_ASSERT_EQUAL_FATAL(chan_sink(c.c, 42, &sink), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(sink->name, "alice"));
	/* pieces of 1 byte .. 1 MiB, some bigger than a message */
	for (off = 0; off < total; off += n) {
		n = 1 + randombytes_uniform(1u << 20);
		if (n > total - off)
			n = total - off;
		if (img_sink_write_all(sink, data + off, n))
			break;
	}
	CU_ASSERT_EQUAL(off, total);
	CU_ASSERT_EQUAL(sink->bytes, total);
	CU_ASSERT_EQUAL(img_sink_sync(sink), 0);
	CU_ASSERT_EQUAL(chan_close(c.c), 0);
	pthread_join(d.th, NULL);
	CU_ASSERT_EQUAL(d.ret, -ENODATA);
	CU_ASSERT_EQUAL(d.len, total);
	CU_ASSERT(!memcmp(d.data, data, total));
	img_sink_free(sink);
	chan_free(s.c);
	chan_free(c.c);
	free(data);
	free(d.data);
}

#define T_IMAGE 20
#define T_IMAGE_END 21

/* The records both sides know: protobuf, pages over two frames, raw. */
static int write_image(struct img_writer *w, const uint8_t *data, size_t len)
{
	static CredsEntry creds = CREDS_ENTRY__INIT;
	struct img_pages_prefix pp = { .mm_id = 3, .addr = 0x10000 };
	int ret;

	creds.has_uid = true;
	creds.uid = 1000;
	ret = img_write_msg(w, IMG_REC_CREDS, &creds.base);
	ret = ret ?: img_write_raw2(w, IMG_REC_PAGES, 0, &pp, sizeof(pp), data, len);
	ret = ret ?: img_write_raw(w, IMG_REC_PIPE_DATA, 0, data, 777);
	return ret;
}

struct image_tx {
	struct chan *c;
	const uint8_t *data;
	size_t len;
	bool compress;
	int ret;
	pthread_t th;
};

/* Writes the image into a sink on the channel, then the end message. */
static void *send_image(void *arg)
{
	struct image_tx *t = arg;
	struct img_write_opts o = { .compress = t->compress, .threads = 2, .root_pid = 42 };
	struct img_writer *w;
	struct img_sink *sink;

	t->ret = chan_sink(t->c, T_IMAGE, &sink);
	if (t->ret)
		return NULL;
	t->ret = img_writer_open_sink(sink, &o, &w);
	if (!t->ret) {
		t->ret = write_image(w, t->data, t->len);
		t->ret = t->ret ?: img_writer_finish(w);
		img_writer_free(w);
	}
	t->ret = t->ret ?: chan_send(t->c, T_IMAGE_END, NULL, 0);
	img_sink_free(sink);
	return NULL;
}

/* Reads the image from a source on c: 0 if its records are write_image's. */
static int recv_image(struct chan *c, const uint8_t *data, size_t len)
{
	struct img_source *src;
	struct img_reader *r;
	struct img_record rec;
	int ret, n = 0, bad = 0;

	CU_ASSERT_EQUAL(chan_source(c, T_IMAGE, T_IMAGE, &src), -EINVAL);
	CU_ASSERT_EQUAL_FATAL(chan_source(c, T_IMAGE, T_IMAGE_END, &src), 0);
	CU_ASSERT(src->flags & IMG_SOURCE_LIVE);
	ret = img_reader_open_source(src, &r);
	if (ret) {
		img_source_free(src);
		return ret;
	}
	CU_ASSERT_EQUAL(img_reader_set_threads(r, 2), 0);
	while ((ret = img_read_record(r, &rec)) == 1) {
		if (n == 1)
			bad += rec.type != IMG_REC_PAGES ||
			       rec.length != len + sizeof(struct img_pages_prefix) ||
			       memcmp((const uint8_t *)rec.payload +
					      sizeof(struct img_pages_prefix),
				      data, len);
		if (n == 2)
			bad += rec.type != IMG_REC_PIPE_DATA || rec.length != 777 ||
			       memcmp(rec.payload, data, 777);
		n++;
	}
	img_reader_free(r);
	img_source_free(src);
	return ret ? ret : n != 3 || bad ? -EBADMSG : 0;
}

static void test_image(void)
{
	const size_t len = (5u << 20) + 123;
	struct image_tx t = { 0 };
	uint8_t *data = malloc(len);
	struct img_source *src;
	struct end s, c;
	char buf[8];
	int i;

	fill_pattern(data, len, 9);
	for (i = 0; i < 2; i++) {
		if (!opened(&s, &c))
			break;
		t.c = c.c;
		t.data = data;
		t.len = len;
		t.compress = i;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t.th, NULL, send_image, &t), 0);
		CU_ASSERT_EQUAL(recv_image(s.c, data, len), 0);
		pthread_join(t.th, NULL);
		CU_ASSERT_EQUAL(t.ret, 0);
		chan_free(s.c);
		chan_free(c.c);
	}
	/* another message inside an image: -EPROTO */
	if (opened(&s, &c)) {
		CU_ASSERT_EQUAL(chan_send(c.c, T_IMAGE, "vxcr", 4), 0);
		CU_ASSERT_EQUAL(chan_send(c.c, 9, "x", 1), 0);
		CU_ASSERT_EQUAL_FATAL(chan_source(s.c, T_IMAGE, T_IMAGE_END, &src), 0);
		CU_ASSERT_EQUAL(img_source_read_all(src, buf, 4), 0);
		CU_ASSERT_EQUAL(img_source_read_all(src, buf, 1), -EPROTO);
		img_source_free(src);
		chan_free(s.c);
		chan_free(c.c);
	}
	free(data);
}

/* Each side sends while it receives, on two threads: both ways at once. */
static void test_duplex(void)
{
	const int n = 500;
	struct sender ss, cs;
	struct end s, c;
	const uint8_t *buf;
	uint8_t type;
	size_t len;
	int k, bad = 0;

	if (!opened(&s, &c))
		return;
	start_sender(&ss, s.c, 11, 40000, n);
	start_sender(&cs, c.c, 12, 70000, n);
	for (k = 0; k < n; k++) {
		if (chan_recv(s.c, &type, (const void **)&buf, &len) || type != 12 ||
		    len != 70000 || !pattern_ok(buf, len, k))
			bad++;
		if (chan_recv(c.c, &type, (const void **)&buf, &len) || type != 11 ||
		    len != 40000 || !pattern_ok(buf, len, k))
			bad++;
	}
	pthread_join(ss.th, NULL);
	pthread_join(cs.th, NULL);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(ss.ret, 0);
	CU_ASSERT_EQUAL(cs.ret, 0);
	chan_free(s.c);
	chan_free(c.c);
}

int main(void)
{
	CU_pSuite s;
	int fails;

	signal(SIGPIPE, SIG_IGN);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("chan", setup, NULL);
	CU_add_test(s, "handshake both ways", test_handshake);
	CU_add_test(s, "untrusted client, untrusted server", test_untrusted);
	CU_add_test(s, "reflected hello and signature", test_reflected);
	CU_add_test(s, "replayed hello and signature", test_replayed);
	CU_add_test(s, "wrong magic, version, role; silence", test_bad_hello);
	CU_add_test(s, "messages of 0, 1, max bytes and one too many", test_sizes);
	CU_add_test(s, "close, then cut", test_close);
	CU_add_test(s, "fault hook: flip and cut", test_faults);
	CU_add_test(s, "fault hook: a flip or cut at random bytes", test_random_faults);
	CU_add_test(s, "fault hook: bad specs", test_fault_parse);
	CU_add_test(s, "fault hook: stall", test_stall);
	CU_add_test(s, "image sink, 10 MiB over TCP", test_sink);
	CU_add_test(s, "an image through the sink and the source", test_image);
	CU_add_test(s, "send while receiving, both ways", test_duplex);

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
