/*
 * mem-vdso: the program moves or unmaps the kernel's areas ([vvar],
 * [vvar_vclock], [vdso]) and they come back where it left them.
 *
 * Mode (argv[2]): "move" mremaps all three to other addresses, "no-vdso"
 * unmaps [vdso] (the dumper must find another syscall instruction),
 * "no-vvar" unmaps [vvar] and [vvar_vclock].  The kernel refuses to split
 * these areas (munmap or mremap of a part fails with EINVAL), so an area
 * is whole or gone.  After restore the program compares the lines of
 * these areas in /proc/self/maps and the [vdso] bytes with what they were.
 * It never calls the C library's time functions: they jump into the vdso
 * where it was at startup.
 */
#include <sys/mman.h>
#include "prog.h"

#define NR_KERNEL_AREAS 3

static const char *const names[NR_KERNEL_AREAS] = { "[vvar]", "[vvar_vclock]", "[vdso]" };
static unsigned long start[NR_KERNEL_AREAS], end[NR_KERNEL_AREAS];
static char maps_before[4096];
static uint64_t vdso_sum;

/* Fills start/end from /proc/self/maps (0 when absent). */
static void find_areas(void)
{
	static char maps[1 << 20];
	char *line, *save = NULL;
	int i;

	memset(start, 0, sizeof(start));
	memset(end, 0, sizeof(end));
	if (prog_read_file("/proc/self/maps", maps, sizeof(maps)) < 0)
		prog_fail("read maps: %s", strerror(errno));
	for (line = strtok_r(maps, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		for (i = 0; i < NR_KERNEL_AREAS; i++)
			if (strstr(line, names[i]) && strlen(strstr(line, names[i])) ==
							      strlen(names[i]))
				sscanf(line, "%lx-%lx", &start[i], &end[i]);
}

/* The kernel areas as text: "name start-end" lines. */
static void describe(char *out, size_t size)
{
	size_t n = 0;
	int i;

	find_areas();
	out[0] = '\0';
	for (i = 0; i < NR_KERNEL_AREAS; i++)
		n += snprintf(out + n, size - n, "%s %lx-%lx; ", names[i], start[i], end[i]);
}

static uint64_t sum(const void *p, size_t len)
{
	const uint64_t *w = p;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len / 8; i++)
		h = (h ^ w[i]) * 0x100000001b3ULL;
	return h;
}

/* mremaps every kernel area into a fresh reservation, in another order. */
static void move_all(void)
{
	size_t total = 0, off = 0;
	char *res;
	int i;

	for (i = 0; i < NR_KERNEL_AREAS; i++)
		total += end[i] - start[i] + 2 * 4096;
	res = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		prog_fail("mmap: %s", strerror(errno));
	for (i = NR_KERNEL_AREAS - 1; i >= 0; i--) {
		size_t len = end[i] - start[i];

		if (!len)
			continue;
		off += 4096;
		if (mremap((void *)start[i], len, len, MREMAP_MAYMOVE | MREMAP_FIXED, res + off) ==
		    MAP_FAILED)
			prog_fail("mremap %s: %s", names[i], strerror(errno));
		off += len + 4096;
	}
}

static void unmap(int i)
{
	if (end[i] && munmap((void *)start[i], end[i] - start[i]))
		prog_fail("munmap %s: %s", names[i], strerror(errno));
}

int main(int argc, char **argv)
{
	const char *mode = argc > 2 ? argv[2] : "move";
	char now[4096];

	prog_init(argc, argv, "mem-vdso");
	find_areas();
	if (!strcmp(mode, "move")) {
		move_all();
	} else if (!strcmp(mode, "no-vdso")) {
		unmap(2);
	} else if (!strcmp(mode, "no-vvar")) {
		unmap(0);
		unmap(1);
	} else {
		prog_fail("unknown mode %s", mode);
	}
	describe(maps_before, sizeof(maps_before));
	if (end[2])
		vdso_sum = sum((void *)start[2], end[2] - start[2]);
	prog_ready();
	prog_wait_go();
	describe(now, sizeof(now));
	CHECK(!strcmp(now, maps_before), "kernel areas now %s; were %s", now, maps_before);
	if (end[2])
		CHECK(sum((void *)start[2], end[2] - start[2]) == vdso_sum, "[vdso] bytes differ");
	prog_finish();
}
