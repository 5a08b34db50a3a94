/*
 * vmad_undump(): BProc's call, through the switch (VCMD_vmad_undump), so
 * the kernel module does it when loaded and lib/vmad/undump.c otherwise.
 */
#include <errno.h>

#include "vxcr/vmadump.h"
#include "vxcr/vserver.h"

int vmad_undump(int fd)
{
	struct vcmd_vmad_undump_v0 u = { .fd = fd, .flags = 0 };
	long ret = vserver(VCMD_vmad_undump, 0, &u);

	errno = ret < 0 ? (int)-ret : EPROTO; /* returning at all is a failure */
	return -1;
}
