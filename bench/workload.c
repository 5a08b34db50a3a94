/*
 * Benchmark workload: touches MiB of anonymous memory with a mildly
 * compressible pattern, writes "ready" to READYFILE and sleeps until killed.
 * usage: workload MiB READYFILE
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
	size_t len, i, words;
	uint64_t *p, x = 0x9e3779b97f4a7c15ull;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: workload MiB READYFILE\n");
		return 2;
	}
	len = strtoull(argv[1], NULL, 0) << 20;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	words = len / 8;
	/* Half of each page small counters, half pseudo-random: zstd gets ~2x. */
	for (i = 0; i < words; i++) {
		if ((i & 511) < 256) {
			p[i] = i;
		} else {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			p[i] = x;
		}
	}
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "ready\n", 6) != 6)
		return 1;
	close(fd);
	for (;;)
		pause();
}
