/*
 * raw-frames: rewrites a compressed vxcr image so that every zstd frame of
 * its body is a frame of Raw_Blocks of at most 128 KiB (RFC 8878), as the
 * dump stores a frame that does not pay for compression.  Tests and the
 * bench make such images with it whatever the writer chooses.  A signed
 * image loses its signatures' validity (they sign the frames as stored).
 *
 * Usage: raw-frames IN OUT
 * Exit status: 0 written, 1 error (said on stderr), 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../unit/img-raw.h"

int main(int argc, char **argv)
{
	static const struct raw_opts o = { 128 << 10, 4, false, false };
	struct stat st;
	size_t body, out_len;
	uint32_t hlen;
	uint8_t *in, *out;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: raw-frames IN OUT\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || st.st_size < IMG_PREAMBLE_LEN) {
		fprintf(stderr, "raw-frames: %s: cannot read a vxcr image\n", argv[1]);
		return 1;
	}
	in = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (in == MAP_FAILED)
		return 1;
	memcpy(&hlen, in + IMG_MAGIC_LEN + 4, 4);
	body = IMG_PREAMBLE_LEN + (size_t)hlen + 4;
	out = body < (size_t)st.st_size ? rawify(in, st.st_size, body, &o, &out_len) : NULL;
	if (!out) {
		fprintf(stderr, "raw-frames: %s: not a compressed vxcr image\n", argv[1]);
		return 1;
	}
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, out, out_len) != (ssize_t)out_len || close(fd)) {
		fprintf(stderr, "raw-frames: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	return 0;
}
