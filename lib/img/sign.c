/*
 * The hash chain of signed images (SHA-256: nettle, loaded on use, or libsodium) and Ed25519 signing
 * (libsodium).  The definition of what is signed is at the top of sign.h.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define LOG_PREFIX "img/sign: "
#include "log.h"
#include "img/img.h"
#include "img/img-internal.h"
#include "img/sign.h"

#define SIG_DOMAIN "vxcr-sig-2"

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;

static void sodium_setup(void)
{
	if (sodium_init() < 0)
		pr_warn("libsodium: initialisation failed\n");
}

void img_crypto_init(void)
{
	pthread_once(&sodium_once, sodium_setup);
}

/* nettle's SHA-256, loaded once (NULL functions: libsodium's is used). */
static struct {
	__typeof__(&nettle_sha256_init) init;
	__typeof__(&nettle_sha256_update) update;
	__typeof__(&nettle_sha256_digest) digest;
} nettle;
static pthread_once_t nettle_once = PTHREAD_ONCE_INIT;

#define NETTLE_SONAME "libnettle.so.8"
/* Below this, a one-shot hash is libsodium's: loading nettle costs more. */
#define SMALL_HASH 4096

static void nettle_setup(void)
{
	void *h = dlopen(NETTLE_SONAME, RTLD_NOW | RTLD_LOCAL);
	void *i, *u, *d;

	if (!h) {
		pr_warn("%s: %s: SHA-256 of libsodium instead (slower)\n", NETTLE_SONAME,
			dlerror());
		return;
	}
	i = dlsym(h, "nettle_sha256_init");
	u = dlsym(h, "nettle_sha256_update");
	d = dlsym(h, "nettle_sha256_digest");
	if (!i || !u || !d) {
		pr_warn("%s has no SHA-256: libsodium's instead (slower)\n", NETTLE_SONAME);
		dlclose(h);
		return;
	}
	memcpy(&nettle.init, &i, sizeof(i));
	memcpy(&nettle.update, &u, sizeof(u));
	memcpy(&nettle.digest, &d, sizeof(d));
}

/* Which implementation every running hash of this process uses: fixed at
 * the first call, so a state is always continued by the code that made it. */
static bool use_nettle(void)
{
	pthread_once(&nettle_once, nettle_setup);
	return nettle.init != NULL;
}

void img_sha256_init(union img_sha256 *c)
{
	if (use_nettle())
		nettle.init(&c->nettle);
	else
		crypto_hash_sha256_init(&c->sodium);
}

void img_sha256_update(union img_sha256 *c, size_t len, const uint8_t *buf)
{
	if (use_nettle())
		nettle.update(&c->nettle, len, buf);
	else
		crypto_hash_sha256_update(&c->sodium, buf, len);
}

void img_sha256_digest(union img_sha256 *c, uint8_t out[IMG_HASH_LEN])
{
	if (use_nettle())
		nettle.digest(&c->nettle, IMG_HASH_LEN, out);
	else
		crypto_hash_sha256_final(&c->sodium, out);
}

/* SHA-256 of buf. */
void img_hash(uint8_t out[IMG_HASH_LEN], const void *buf, size_t len)
{
	union img_sha256 c;

	if (len < SMALL_HASH) {
		crypto_hash_sha256(out, buf, len);
		return;
	}
	img_sha256_init(&c);
	img_sha256_update(&c, len, buf);
	img_sha256_digest(&c, out);
}

/* BLAKE2b-256 of the key, cut to the id: ids stay those of scheme 1. */
void img_key_id(uint8_t id[IMG_KEY_ID_LEN], const uint8_t pk[crypto_sign_PUBLICKEYBYTES])
{
	uint8_t h[32];

	img_crypto_init();
	crypto_generichash(h, sizeof(h), pk, crypto_sign_PUBLICKEYBYTES, NULL, 0);
	memcpy(id, h, IMG_KEY_ID_LEN);
}

/* Starts the chain: domain string, then the preamble's hash. */
void img_sighash_start(struct img_sighash *h, const uint8_t pre[IMG_HASH_LEN])
{
	img_crypto_init(); /* for the signing or checking that follows */
	memset(h, 0, sizeof(*h));
	img_sha256_init(&h->chain);
	img_sha256_update(&h->chain, sizeof(SIG_DOMAIN) - 1, (const uint8_t *)SIG_DOMAIN);
	img_sha256_update(&h->chain, IMG_HASH_LEN, pre);
}

/* Adds one finished segment's hash to the chain. */
void img_sighash_fold(struct img_sighash *h, const uint8_t seg[IMG_HASH_LEN])
{
	img_sha256_update(&h->chain, IMG_HASH_LEN, seg);
	h->nseg++;
}

/* Ends the segment being hashed, if it has bytes. */
void img_sighash_cut(struct img_sighash *h)
{
	uint8_t seg[IMG_HASH_LEN];

	if (!h->seg_len)
		return;
	img_sha256_digest(&h->seg, seg);
	img_sighash_fold(h, seg);
	h->seg_len = 0;
}

/* Hashes body bytes, ending a segment at each IMG_FRAME_BYTES. */
void img_sighash_update(struct img_sighash *h, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t n;

	while (len) {
		if (!h->seg_len)
			img_sha256_init(&h->seg);
		n = IMG_FRAME_BYTES - h->seg_len;
		n = n < len ? n : len;
		img_sha256_update(&h->seg, n, p);
		h->seg_len += n;
		p += n;
		len -= n;
		if (h->seg_len == IMG_FRAME_BYTES)
			img_sighash_cut(h);
	}
}

/* Adds stored bytes of a compressed frame to the segment being hashed;
 * the frame's end is cut by the caller. */
void img_sighash_add(struct img_sighash *h, const void *buf, size_t len)
{
	if (!len)
		return;
	if (!h->seg_len)
		img_sha256_init(&h->seg);
	img_sha256_update(&h->seg, len, buf);
	h->seg_len += len;
}

/* The digest for a SIGNATURE record at body offset off: the chain so far
 * (left running) closed with off. */
void img_sighash_digest(const struct img_sighash *h, uint64_t off, uint8_t out[IMG_HASH_LEN])
{
	union img_sha256 st = h->chain;
	uint8_t le[8];

	put_le64(le, off);
	img_sha256_update(&st, sizeof(le), le);
	img_sha256_digest(&st, out);
}

/* Signs digest with k's secret key.  Returns 0 or -EINVAL. */
int img_sign(const struct vxcr_key *k, const uint8_t digest[IMG_HASH_LEN],
	     uint8_t sig[crypto_sign_BYTES])
{
	if (!k->has_sk) {
		pr_err("key %s: no secret key to sign with\n", k->name);
		return -EINVAL;
	}
	img_crypto_init();
	crypto_sign_detached(sig, NULL, digest, IMG_HASH_LEN, k->sk);
	return 0;
}

/* The key of kr with that id, or NULL. */
const struct vxcr_key *img_keyring_find(const struct vxcr_keyring *kr,
					const uint8_t id[IMG_KEY_ID_LEN])
{
	size_t i;

	for (i = 0; kr && i < kr->n; i++)
		if (!memcmp(kr->keys[i].id, id, IMG_KEY_ID_LEN))
			return &kr->keys[i];
	return NULL;
}

/* Hex of a key id into buf (17 bytes). */
const char *img_key_id_hex(const uint8_t id[IMG_KEY_ID_LEN], char *buf)
{
	sodium_bin2hex(buf, 2 * IMG_KEY_ID_LEN + 1, id, IMG_KEY_ID_LEN);
	return buf;
}
