/* A new time namespace with its offsets (util/timens.h). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/timens.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

int timens_unshare(int64_t mono_off_ns, int64_t boot_off_ns)
{
	lldiv_t m = lldiv(mono_off_ns, 1000000000LL), b = lldiv(boot_off_ns, 1000000000LL);
	char buf[128];
	int fd, ret = 0;

	/* the kernel wants 0 <= nsec < 1e9 */
	if (m.rem < 0)
		m.quot--, m.rem += 1000000000LL;
	if (b.rem < 0)
		b.quot--, b.rem += 1000000000LL;
	if (unshare(CLONE_NEWTIME))
		return -errno;
	snprintf(buf, sizeof(buf), "monotonic %lld %lld\nboottime %lld %lld\n", m.quot, m.rem,
		 b.quot, b.rem);
	fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, strlen(buf)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}
