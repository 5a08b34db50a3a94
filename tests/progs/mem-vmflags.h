/*
 * The VmFlags of the area holding an address, from /proc/self/smaps, for
 * the memory test programs (mem-lock.c, mem-madvise.c, mem-guard.c).
 */
#ifndef VXCR_TEST_MEM_VMFLAGS_H
#define VXCR_TEST_MEM_VMFLAGS_H

#include "prog.h"

/* Copies the VmFlags of the area holding addr to out ("" if none). */
static inline void vmflags_of(const void *addr, char *out, size_t size)
{
	static char smaps[1 << 21];
	unsigned long s, e, a = (unsigned long)addr;
	char *line, *save = NULL, c;
	int in = 0;

	out[0] = '\0';
	if (prog_read_file("/proc/self/smaps", smaps, sizeof(smaps)) < 0)
		prog_fail("read /proc/self/smaps: %s", strerror(errno));
	for (line = strtok_r(smaps, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%lx-%lx%c", &s, &e, &c) == 3 && c == ' ')
			in = s <= a && a < e;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			snprintf(out, size, "%s", line + 8);
			return;
		}
	}
}

/* Does the VmFlags text hold the two-letter flag? */
static inline int vmflags_has(const char *flags, const char *flag)
{
	const char *p;

	for (p = flags; (p = strstr(p, flag)); p += 2)
		if ((p == flags || p[-1] == ' ') && (p[2] == ' ' || !p[2]))
			return 1;
	return 0;
}

/* VmLck of /proc/self/status in kB, or -1. */
static inline long vm_locked_kb(void)
{
	static char status[8192];
	char *p;

	if (prog_read_file("/proc/self/status", status, sizeof(status)) < 0)
		return -1;
	p = strstr(status, "VmLck:");
	return p ? strtol(p + 6, NULL, 10) : -1;
}

#endif
