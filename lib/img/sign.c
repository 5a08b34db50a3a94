/*
 * The hash chain of signed images and Ed25519 signing (libsodium).  The
 * definition of what is signed is at the top of sign.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define LOG_PREFIX "img: "
#include "log.h"
#include "img/img.h"
#include "img/img-internal.h"
#include "img/sign.h"

#define SIG_DOMAIN	"vxcr-sig-1"

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

/* BLAKE2b-256 of buf. */
void img_hash(uint8_t out[IMG_HASH_LEN], const void *buf, size_t len)
{
	img_crypto_init();
	crypto_generichash(out, IMG_HASH_LEN, buf, len, NULL, 0);
}

/* Starts the chain: domain string, then the preamble's hash. */
void img_sighash_start(struct img_sighash *h, const uint8_t pre[IMG_HASH_LEN])
{
	img_crypto_init();
	memset(h, 0, sizeof(*h));
	crypto_generichash_init(&h->chain, NULL, 0, IMG_HASH_LEN);
	crypto_generichash_update(&h->chain, (const uint8_t *)SIG_DOMAIN,
				  sizeof(SIG_DOMAIN) - 1);
	crypto_generichash_update(&h->chain, pre, IMG_HASH_LEN);
}

/* Adds one finished segment's hash to the chain. */
void img_sighash_fold(struct img_sighash *h, const uint8_t seg[IMG_HASH_LEN])
{
	crypto_generichash_update(&h->chain, seg, IMG_HASH_LEN);
	h->nseg++;
}

/* Ends the segment being hashed, if it has bytes. */
void img_sighash_cut(struct img_sighash *h)
{
	uint8_t seg[IMG_HASH_LEN];

	if (!h->seg_len)
		return;
	crypto_generichash_final(&h->seg, seg, IMG_HASH_LEN);
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
			crypto_generichash_init(&h->seg, NULL, 0, IMG_HASH_LEN);
		n = IMG_FRAME_BYTES - h->seg_len;
		n = n < len ? n : len;
		crypto_generichash_update(&h->seg, p, n);
		h->seg_len += n;
		p += n;
		len -= n;
		if (h->seg_len == IMG_FRAME_BYTES)
			img_sighash_cut(h);
	}
}

/* The digest for a SIGNATURE record at body offset off: the chain so far
 * (left running) closed with off. */
void img_sighash_digest(const struct img_sighash *h, uint64_t off,
			uint8_t out[IMG_HASH_LEN])
{
	crypto_generichash_state st = h->chain;
	uint8_t le[8];

	put_le64(le, off);
	crypto_generichash_update(&st, le, sizeof(le));
	crypto_generichash_final(&st, out, IMG_HASH_LEN);
}

/* Signs digest with k's secret key.  Returns 0 or -EINVAL. */
int img_sign(const struct vxcr_key *k, const uint8_t digest[IMG_HASH_LEN],
	     uint8_t sig[crypto_sign_BYTES])
{
	if (!k->has_sk) {
		pr_err("key %s: no secret key to sign with\n", k->name);
		return -EINVAL;
	}
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
