/*
 * The encryption cost of the migration channel (lib/img/chan.c): MB/s of
 * plain TCP and of the channel over loopback, one sender thread and one
 * receiver thread, alternating, medians; and the secretstream alone on
 * one core.  Usage: chan-rate [MiB (1024)] [runs (3)]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "img/chan.h"

#define CHUNK CHAN_MSG_MAX
#define RUNS_MAX 15

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "chan-rate: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A connected loopback TCP pair. */
static void tcp_pair(int *a, int *b)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&sa, &len))
		die("listen");
	*b = socket(AF_INET, SOCK_STREAM, 0);
	if (*b < 0 || connect(*b, (struct sockaddr *)&sa, sizeof(sa)))
		die("connect");
	*a = accept(l, NULL, NULL);
	if (*a < 0)
		die("accept");
	close(l);
}

struct rx {
	int fd;
	struct chan *c;
	uint64_t bytes;
	double end;
};

static void *plain_rx(void *arg)
{
	struct rx *r = arg;
	static char buf[CHUNK];
	ssize_t n;

	while ((n = read(r->fd, buf, sizeof(buf))) > 0)
		r->bytes += n;
	r->end = now_s();
	return NULL;
}

static void *chan_rx(void *arg)
{
	struct rx *r = arg;
	const void *buf;
	uint8_t type;
	size_t len;

	while (!chan_recv(r->c, &type, &buf, &len))
		r->bytes += len;
	r->end = now_s();
	return NULL;
}

/* Plain TCP: MB/s of total bytes written in CHUNK writes. */
static double run_plain(uint64_t total, const char *data)
{
	struct rx r = { 0 };
	pthread_t th;
	uint64_t done;
	double t0;
	int a, b;

	tcp_pair(&a, &b);
	r.fd = a;
	pthread_create(&th, NULL, plain_rx, &r);
	t0 = now_s();
	for (done = 0; done < total; done += CHUNK)
		if (write(b, data, CHUNK) != CHUNK)
			die("write");
	shutdown(b, SHUT_WR);
	pthread_join(th, NULL);
	close(a);
	close(b);
	if (r.bytes != total)
		die("short plain transfer");
	return total / 1e6 / (r.end - t0);
}

struct opener {
	int fd;
	const struct vxcr_key *me;
	const struct vxcr_keyring *ring;
	struct chan *c;
	int ret;
};

static void *open_server(void *arg)
{
	struct opener *o = arg;

	o->ret = chan_open(o->fd, true, o->me, o->ring, 5000, &o->c);
	return NULL;
}

/* The channel: MB/s of total payload bytes in CHUNK messages; crypt and
 * handshake ms. */
static double run_chan(uint64_t total, const char *data, const struct vxcr_key *k,
		       const struct vxcr_keyring *ring, double *crypt_ms, double *hs_ms)
{
	struct opener so = { .me = k, .ring = ring };
	struct chan_stats ss, cs;
	struct chan *c;
	struct rx r = { 0 };
	pthread_t th;
	uint64_t done;
	double t0;
	int a, b;

	tcp_pair(&a, &b);
	so.fd = a;
	t0 = now_s();
	pthread_create(&th, NULL, open_server, &so);
	if (chan_open(b, false, k, ring, 5000, &c))
		die("chan_open (client)");
	pthread_join(th, NULL);
	if (so.ret)
		die("chan_open (server)");
	*hs_ms = (now_s() - t0) * 1e3;
	r.c = so.c;
	pthread_create(&th, NULL, chan_rx, &r);
	t0 = now_s();
	for (done = 0; done < total; done += CHUNK)
		if (chan_send(c, 1, data, CHUNK))
			die("chan_send");
	chan_close(c);
	pthread_join(th, NULL);
	if (r.bytes != total)
		die("short channel transfer");
	chan_get_stats(c, &cs);
	chan_get_stats(so.c, &ss);
	*crypt_ms = (cs.crypt_ns + ss.crypt_ns) / 1e6;
	chan_free(c);
	chan_free(so.c);
	return total / 1e6 / (r.end - t0);
}

/* secretstream push, and push then pull, of total bytes on this thread: MB/s. */
static void run_crypto(uint64_t total, const char *data, double *push, double *both)
{
	crypto_secretstream_xchacha20poly1305_state tx, rx;
	uint8_t key[32], hdr[crypto_secretstream_xchacha20poly1305_HEADERBYTES], tag;
	static uint8_t out[CHUNK + 64], back[CHUNK];
	unsigned long long n;
	uint64_t done;
	double t0;

	crypto_secretstream_xchacha20poly1305_keygen(key);
	crypto_secretstream_xchacha20poly1305_init_push(&tx, hdr, key);
	t0 = now_s();
	for (done = 0; done < total; done += CHUNK)
		crypto_secretstream_xchacha20poly1305_push(&tx, out, &n, (const uint8_t *)data,
							   CHUNK, NULL, 0, 0);
	*push = total / 1e6 / (now_s() - t0);
	crypto_secretstream_xchacha20poly1305_init_push(&tx, hdr, key);
	crypto_secretstream_xchacha20poly1305_init_pull(&rx, hdr, key);
	t0 = now_s();
	for (done = 0; done < total; done += CHUNK) {
		crypto_secretstream_xchacha20poly1305_push(&tx, out, &n, (const uint8_t *)data,
							   CHUNK, NULL, 0, 0);
		if (crypto_secretstream_xchacha20poly1305_pull(&rx, back, NULL, &tag, out, n, NULL,
							       0))
			die("pull");
	}
	*both = total / 1e6 / (now_s() - t0);
}

/* For comparison: libsodium's AES-256-GCM (AES-NI), MB/s of encryption. */
static double run_aesgcm(uint64_t total, const char *data)
{
	uint8_t key[crypto_aead_aes256gcm_KEYBYTES], nonce[crypto_aead_aes256gcm_NPUBBYTES];
	static uint8_t out[CHUNK + crypto_aead_aes256gcm_ABYTES];
	unsigned long long n;
	uint64_t done;
	double t0;

	if (!crypto_aead_aes256gcm_is_available())
		return 0;
	crypto_aead_aes256gcm_keygen(key);
	memset(nonce, 0, sizeof(nonce));
	t0 = now_s();
	for (done = 0; done < total; done += CHUNK) {
		sodium_increment(nonce, sizeof(nonce));
		crypto_aead_aes256gcm_encrypt(out, &n, (const uint8_t *)data, CHUNK, NULL, 0, NULL,
					      nonce, key);
	}
	return total / 1e6 / (now_s() - t0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	uint64_t total = (argc > 1 ? strtoull(argv[1], NULL, 10) : 1024) << 20;
	int runs = argc > 2 ? atoi(argv[2]) : 3, i;
	double plain[RUNS_MAX], ch[RUNS_MAX], crypt[RUNS_MAX], hs[RUNS_MAX], push, both;
	struct vxcr_keyring ring = { 0 };
	struct vxcr_key k = { 0 };
	char *data;

	if (runs < 1 || runs > RUNS_MAX || total < CHUNK)
		return 2;
	img_crypto_init();
	crypto_sign_keypair(k.pk, k.sk);
	k.has_sk = true;
	img_key_id(k.id, k.pk);
	snprintf(k.name, sizeof(k.name), "bench");
	ring.keys = &k;
	ring.n = 1;
	data = malloc(CHUNK);
	randombytes_buf(data, CHUNK);
	total -= total % CHUNK;

	for (i = 0; i < runs; i++) {
		plain[i] = run_plain(total, data);
		ch[i] = run_chan(total, data, &k, &ring, &crypt[i], &hs[i]);
		printf("run %d: plain TCP %.0f MB/s, channel %.0f MB/s (crypt %.0f ms)\n", i + 1,
		       plain[i], ch[i], crypt[i]);
	}
	run_crypto(total, data, &push, &both);
	printf("%llu MiB in %u-byte messages over loopback, medians of %d:\n",
	       (unsigned long long)(total >> 20), CHUNK, runs);
	printf("  plain TCP  %6.0f MB/s\n", median(plain, runs));
	printf("  channel    %6.0f MB/s  (%.0f%%; encrypt + decrypt %.0f ms of CPU)\n",
	       median(ch, runs), 100 * median(ch, runs) / median(plain, runs), median(crypt, runs));
	printf("  handshake  %6.2f ms (both ends in this process)\n", median(hs, runs));
	printf("  secretstream alone, one core: push %.0f MB/s, push+pull %.0f MB/s\n", push, both);
	printf("  (AES-256-GCM encrypt, one core, for comparison: %.0f MB/s)\n",
	       run_aesgcm(total, data));
	free(data);
	return 0;
}
