/*
 * Baselines for the benchmark table: memcpy bandwidth, the first-touch rate
 * of fresh anonymous memory, and a pre-warm mode that touches and frees
 * memory (this VM returns freed memory to its host; touching some first makes
 * large-memory timings steadier).
 * usage: baseline memcpy MiB | touch MiB | warm MiB   (prints MB/s)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double touch(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double t0, t1;
	size_t i;

	if (p == MAP_FAILED)
		exit(1);
	t0 = now();
	for (i = 0; i < len; i += 4096)
		p[i] = 1;
	t1 = now();
	munmap(p, len);
	return len / (t1 - t0) / 1e6;
}

static double copy(size_t len)
{
	char *a = malloc(len), *b = malloc(len);
	double t0, t1;

	if (!a || !b)
		exit(1);
	memset(a, 1, len);
	memset(b, 2, len);
	t0 = now();
	memcpy(b, a, len);
	t1 = now();
	if (b[len / 2] != 1)
		exit(1);
	free(a);
	free(b);
	return len / (t1 - t0) / 1e6;
}

int main(int argc, char **argv)
{
	size_t len;

	if (argc != 3) {
		fprintf(stderr, "usage: baseline memcpy|touch|warm MiB\n");
		return 2;
	}
	len = strtoull(argv[2], NULL, 0) << 20;
	if (!strcmp(argv[1], "memcpy"))
		printf("%.0f\n", copy(len));
	else if (!strcmp(argv[1], "touch"))
		printf("%.0f\n", touch(len));
	else if (!strcmp(argv[1], "warm"))
		touch(len);
	else
		return 2;
	return 0;
}
