/*
 * The hash chain of signed images (SHA-256, nettle) and Ed25519 signing
 * (libsodium).  The definition of what is signed is at the top of sign.h.
 */
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

/* SHA-256 of buf. */
void img_hash(uint8_t out[IMG_HASH_LEN], const void *buf, size_t len)
{
	struct sha256_ctx c;

	sha256_init(&c);
	sha256_update(&c, len, buf);
	sha256_digest(&c, IMG_HASH_LEN, out);
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
	sha256_init(&h->chain);
	sha256_update(&h->chain, sizeof(SIG_DOMAIN) - 1, (const uint8_t *)SIG_DOMAIN);
	sha256_update(&h->chain, IMG_HASH_LEN, pre);
}

/* Adds one finished segment's hash to the chain. */
void img_sighash_fold(struct img_sighash *h, const uint8_t seg[IMG_HASH_LEN])
{
	sha256_update(&h->chain, IMG_HASH_LEN, seg);
	h->nseg++;
}

/* Ends the segment being hashed, if it has bytes. */
void img_sighash_cut(struct img_sighash *h)
{
	uint8_t seg[IMG_HASH_LEN];

	if (!h->seg_len)
		return;
	sha256_digest(&h->seg, IMG_HASH_LEN, seg);
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
			sha256_init(&h->seg);
		n = IMG_FRAME_BYTES - h->seg_len;
		n = n < len ? n : len;
		sha256_update(&h->seg, n, p);
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
		sha256_init(&h->seg);
	sha256_update(&h->seg, len, buf);
	h->seg_len += len;
}

/* The digest for a SIGNATURE record at body offset off: the chain so far
 * (left running) closed with off. */
void img_sighash_digest(const struct img_sighash *h, uint64_t off, uint8_t out[IMG_HASH_LEN])
{
	struct sha256_ctx st = h->chain;
	uint8_t le[8];

	put_le64(le, off);
	sha256_update(&st, sizeof(le), le);
	sha256_digest(&st, IMG_HASH_LEN, out);
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
