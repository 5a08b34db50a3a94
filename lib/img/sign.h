/*
 * Signed images: the hash chain both sides compute, and Ed25519 keys
 * (libsodium).  NOTES: "Signed images".
 *
 * What is signed (scheme IMG_SIG_SCHEME): D = SHA-256("vxcr-sig-2" || P ||
 * S1 || ... || Sn || le64 off), where P is SHA-256 of the stored preamble
 * (magic, version, header length, header, header crc), S1..Sn are SHA-256
 * of the segments of the body as stored before the SIGNATURE record, and
 * off is that record's body offset.  A segment of a compressed body is one
 * zstd frame, its bytes as stored; a SIGNATURE record must be the first
 * bytes of a frame, so the frames before it are whole.  A segment of an
 * uncompressed body is IMG_FRAME_BYTES of body, or less where a SIGNATURE
 * record cuts it; segments restart at each SIGNATURE record, which is
 * itself the first bytes of the next segment.  So every stored byte before
 * the signature counts, not only what it decodes to.
 *
 * The writer's segments are its frames: its pool's workers hash them next
 * to compressing them (zpool.c), or the writer hashes what its compressor
 * stores.  The reader's decompression workers hash each frame before
 * decoding it (zread.c), or the reader hashes what its decoder takes, or
 * each record of an uncompressed body.  SHA-256 and not libsodium's
 * BLAKE2b: nettle's uses the CPU's SHA instructions, 2.4x faster here.
 * nettle is loaded (dlopen) when a chain or a large buffer is first
 * hashed, so that an unsigned image's preamble, hashed with libsodium's
 * SHA-256 (the same digest), costs no library (NOTES "Small processes in
 * milliseconds"); without nettle every hash is libsodium's.
 *
 * Key files: NAME.key "vxcr-ed25519-secret HEX(64 bytes)\n", mode 0600;
 * NAME.pub "vxcr-ed25519-public HEX(32 bytes)\n".  Key id: the first
 * IMG_KEY_ID_LEN bytes of BLAKE2b-256(public key).
 */
#ifndef VXCR_IMG_SIGN_H
#define VXCR_IMG_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <nettle/sha2.h>
#include <sodium.h>

#include "vxcr/image.h" /* IMG_KEY_ID_LEN, IMG_SIG_SCOPE_*, IMG_SIG_SCHEME */

#define IMG_HASH_LEN SHA256_DIGEST_SIZE /* = IMG_SIG_DIGEST_LEN */
#define IMG_KEY_NAME_MAX 64

/* A key pair (sk set) or a public key (has_sk false); public as vxcr_key. */
struct vxcr_key {
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	bool has_sk;
	uint8_t id[IMG_KEY_ID_LEN];
	char name[IMG_KEY_NAME_MAX]; /* file name without .key/.pub */
};

/* The public keys of a trusted-keys directory. */
struct vxcr_keyring {
	struct vxcr_key *keys;
	size_t n;
	char dir[256];
};

/* A running SHA-256: nettle's, or libsodium's where nettle is missing. */
union img_sha256 {
	struct sha256_ctx nettle;
	crypto_hash_sha256_state sodium;
};

/* The running chain of one image (writer or reader). */
struct img_sighash {
	union img_sha256 seg;	/* segment being hashed */
	uint64_t seg_len;	/* its bytes so far */
	union img_sha256 chain; /* "vxcr-sig-2" || P || S1 .. Sk */
	uint64_t nseg;
};

/* Initialises libsodium once (every function here does it as well). */
void img_crypto_init(void);
/* A running SHA-256 (nettle's or libsodium's, the same for the whole
 * process: a state is continued by the code that made it). */
void img_sha256_init(union img_sha256 *c);
void img_sha256_update(union img_sha256 *c, size_t len, const uint8_t *buf);
void img_sha256_digest(union img_sha256 *c, uint8_t out[IMG_HASH_LEN]);
/* SHA-256 of buf (a segment, the preamble).  Never fails. */
void img_hash(uint8_t out[IMG_HASH_LEN], const void *buf, size_t len);
/* The id of a public key: the first IMG_KEY_ID_LEN bytes of its BLAKE2b-256. */
void img_key_id(uint8_t id[IMG_KEY_ID_LEN], const uint8_t pk[crypto_sign_PUBLICKEYBYTES]);
/* Starts the chain with the hash of the stored preamble. */
void img_sighash_start(struct img_sighash *h, const uint8_t pre[IMG_HASH_LEN]);
/* Body bytes, cut into IMG_FRAME_BYTES segments (uncompressed images). */
void img_sighash_update(struct img_sighash *h, const void *buf, size_t len);
/* Stored bytes of the frame being hashed, which img_sighash_cut() ends. */
void img_sighash_add(struct img_sighash *h, const void *buf, size_t len);
/* A whole segment hashed elsewhere (a writer thread). */
void img_sighash_fold(struct img_sighash *h, const uint8_t seg[IMG_HASH_LEN]);
/* Ends the segment being hashed (a SIGNATURE record starts the next). */
void img_sighash_cut(struct img_sighash *h);
/* The digest a SIGNATURE record at body offset off signs (after a cut). */
void img_sighash_digest(const struct img_sighash *h, uint64_t off, uint8_t out[IMG_HASH_LEN]);

/* Signs digest with k (which has its secret key): 0 or -EINVAL. */
int img_sign(const struct vxcr_key *k, const uint8_t digest[IMG_HASH_LEN],
	     uint8_t sig[crypto_sign_BYTES]);
/* The key of kr with that id, or NULL. */
const struct vxcr_key *img_keyring_find(const struct vxcr_keyring *kr,
					const uint8_t id[IMG_KEY_ID_LEN]);
/* Hex of a key id into buf (2 * IMG_KEY_ID_LEN + 1 bytes); returns buf. */
const char *img_key_id_hex(const uint8_t id[IMG_KEY_ID_LEN], char *buf);

#endif
