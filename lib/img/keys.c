/*
 * Key files of signed images: a new key pair, a secret key to sign with,
 * the public keys of a trusted-keys directory.  Formats in sign.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#define LOG_PREFIX "img/keys: "
#include "log.h"
#include "img/sign.h"
#include "util/cleanup.h"
#include "vxcr/vxcr.h"

#define SECRET_TAG "vxcr-ed25519-secret "
#define PUBLIC_TAG "vxcr-ed25519-public "
#define KEY_FILE_MAX 256
#define KEYRING_MAX 256

/* Fills k->id from k->pk. */
static void key_set_id(struct vxcr_key *k)
{
	img_key_id(k->id, k->pk);
}

/* Sets k->name from a file name without its suffix. */
static void key_set_name(struct vxcr_key *k, const char *file, const char *suffix)
{
	const char *base = strrchr(file, '/');
	size_t n;

	base = base ? base + 1 : file;
	n = strlen(base);
	if (n >= strlen(suffix) && !strcmp(base + n - strlen(suffix), suffix))
		n -= strlen(suffix);
	snprintf(k->name, sizeof(k->name), "%.*s", (int)n, base);
}

/* Writes "TAG HEX\n" of bin to a new file name under dirfd with mode. */
static int write_key_file(int dirfd, const char *name, mode_t mode, const char *tag,
			  const uint8_t *bin, size_t len)
{
	char line[KEY_FILE_MAX];
	size_t n;
	int fd, ret = 0;

	n = snprintf(line, sizeof(line), "%s", tag);
	sodium_bin2hex(line + n, sizeof(line) - n - 1, bin, len);
	n = strlen(line);
	line[n++] = '\n';
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		pr_err("%s: %s\n", name, strerror(errno));
		return -errno;
	}
	if (fchmod(fd, mode) || write(fd, line, n) != (ssize_t)n || fsync(fd))
		ret = errno ? -errno : -EIO;
	sodium_memzero(line, sizeof(line));
	if (close(fd) && !ret)
		ret = -errno;
	if (ret) {
		pr_err("%s: %s\n", name, strerror(-ret));
		unlinkat(dirfd, name, 0);
	}
	return ret;
}

/*
 * Makes a new Ed25519 key pair NAME.key (0600) and NAME.pub (0644) in
 * dirfd; never replaces a file.  id_hex (17 bytes) receives the key id.
 * Returns 0 or -errno (logged).
 */
static int key_new(int dirfd, const char *name, char *id_hex)
{
	struct vxcr_key k;
	char file[IMG_KEY_NAME_MAX + 8];
	int ret;

	if (!*name || strchr(name, '/') || strlen(name) >= IMG_KEY_NAME_MAX) {
		pr_err("key name '%s': not a file name (at most %d bytes)\n", name,
		       IMG_KEY_NAME_MAX - 1);
		return -EINVAL;
	}
	img_crypto_init();
	crypto_sign_keypair(k.pk, k.sk);
	key_set_id(&k);
	snprintf(file, sizeof(file), "%s.key", name);
	ret = write_key_file(dirfd, file, 0600, SECRET_TAG, k.sk, sizeof(k.sk));
	sodium_memzero(k.sk, sizeof(k.sk));
	if (ret)
		return ret;
	snprintf(file, sizeof(file), "%s.pub", name);
	ret = write_key_file(dirfd, file, 0644, PUBLIC_TAG, k.pk, sizeof(k.pk));
	if (ret) {
		snprintf(file, sizeof(file), "%s.key", name);
		unlinkat(dirfd, file, 0);
		return ret;
	}
	img_key_id_hex(k.id, id_hex);
	return 0;
}

int vxcr_key_new(int dirfd, const char *name, char *id_hex)
{
	err_op_begin();
	return err_op_end(key_new(dirfd, name, id_hex));
}

/* Reads "TAG HEX" from fd into bin (exactly len bytes).  0 or -EBADMSG. */
static int read_key_file(int fd, const char *tag, uint8_t *bin, size_t len)
{
	char line[KEY_FILE_MAX];
	const char *end;
	size_t got;
	ssize_t n;

	n = read(fd, line, sizeof(line) - 1);
	if (n < 0)
		return -errno;
	line[n] = '\0';
	if (strncmp(line, tag, strlen(tag)))
		return -EBADMSG;
	if (sodium_hex2bin(bin, len, line + strlen(tag), n - strlen(tag), NULL, &got, &end) ||
	    got != len || (*end && strcmp(end, "\n")))
		return -EBADMSG;
	sodium_memzero(line, sizeof(line));
	return 0;
}

/*
 * Loads the secret key at path (NAME.key), which must be a regular file of
 * ours that nobody else can read.  Returns 0 or -errno (logged); *out is
 * freed with vxcr_key_free().
 */
static int key_load(const char *path, struct vxcr_key **out)
{
	_cleanup_close_ int fd = -1;
	struct vxcr_key *k;
	struct stat st;
	int ret;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st)) {
		pr_err("secret key %s: %s\n", path, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)) {
		pr_err("secret key %s: %s: refusing (chmod 600, owned by the signer)\n", path,
		       !S_ISREG(st.st_mode)   ? "not a regular file" :
		       st.st_uid != geteuid() ? "owned by another user" :
						"readable or writable by group or others");
		return -EPERM;
	}
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	img_crypto_init();
	ret = read_key_file(fd, SECRET_TAG, k->sk, sizeof(k->sk));
	if (ret) {
		pr_err("secret key %s: not a vxcr key file\n", path);
		vxcr_key_free(k);
		return ret;
	}
	crypto_sign_ed25519_sk_to_pk(k->pk, k->sk);
	k->has_sk = true;
	key_set_id(k);
	key_set_name(k, path, ".key");
	*out = k;
	return 0;
}

int vxcr_key_load(const char *path, struct vxcr_key **out)
{
	err_op_begin();
	return err_op_end(key_load(path, out));
}

void vxcr_key_free(struct vxcr_key *k)
{
	if (!k)
		return;
	sodium_memzero(k, sizeof(*k));
	free(k);
}

/* Adds NAME.pub under dirfd to kr; a file that is no key is skipped. */
static int keyring_add(struct vxcr_keyring *kr, int dirfd, const char *file)
{
	_cleanup_close_ int fd = -1;
	struct vxcr_key *k = &kr->keys[kr->n];
	struct stat st;

	memset(k, 0, sizeof(*k));
	fd = openat(dirfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		pr_warn("trusted keys %s: %s: skipped (%s)\n", kr->dir, file,
			fd < 0 ? strerror(errno) : "not a regular file");
		return 0;
	}
	if ((st.st_uid && st.st_uid != geteuid()) || (st.st_mode & 022)) {
		pr_err("trusted keys %s: %s: writable by others or not ours: refusing "
		       "(chmod go-w, chown root)\n",
		       kr->dir, file);
		return -EPERM;
	}
	if (read_key_file(fd, PUBLIC_TAG, k->pk, sizeof(k->pk))) {
		pr_warn("trusted keys %s: %s: not a vxcr public key, skipped\n", kr->dir, file);
		return 0;
	}
	key_set_id(k);
	key_set_name(k, file, ".pub");
	kr->n++;
	return 0;
}

/* Whether a directory entry is named *.pub. */
static bool is_pub(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && !strcmp(name + n - 4, ".pub");
}

/*
 * Loads every NAME.pub of dir, a trusted directory (vxcr_open_trusted()).
 * Returns 0 or -errno (logged; -ENOKEY: no key in it); *out is freed with
 * vxcr_keyring_free().
 */
static int keyring_load(const char *dir, struct vxcr_keyring **out)
{
	struct vxcr_keyring *kr;
	struct dirent *de;
	DIR *d;
	int fd, ret = 0;

	fd = vxcr_open_trusted(dir, O_RDONLY | O_DIRECTORY, "trusted keys",
			       "chown root, chmod go-w");
	if (fd < 0)
		return fd;
	kr = calloc(1, sizeof(*kr));
	d = kr ? fdopendir(fd) : NULL;
	if (!d || !(kr->keys = calloc(KEYRING_MAX, sizeof(*kr->keys)))) {
		d ? closedir(d) : close(fd);
		vxcr_keyring_free(kr);
		return -ENOMEM;
	}
	snprintf(kr->dir, sizeof(kr->dir), "%s", dir);
	img_crypto_init();
	while (!ret && kr->n < KEYRING_MAX && (de = readdir(d)))
		if (is_pub(de->d_name))
			ret = keyring_add(kr, dirfd(d), de->d_name);
	closedir(d);
	if (!ret && !kr->n) {
		pr_err("trusted keys %s: no NAME.pub key in it\n", dir);
		ret = -ENOKEY;
	}
	if (ret) {
		vxcr_keyring_free(kr);
		return ret;
	}
	*out = kr;
	return 0;
}

int vxcr_keyring_load(const char *dir, struct vxcr_keyring **out)
{
	err_op_begin();
	return err_op_end(keyring_load(dir, out));
}

void vxcr_keyring_free(struct vxcr_keyring *kr)
{
	if (!kr)
		return;
	free(kr->keys);
	free(kr);
}
