// SPDX-License-Identifier: GPL-2.0
/* In-kernel restart (issue 17): not written yet, -ENOTTY. */
#include <linux/errno.h>

#include "vxcr.h"

long vx_restart_cmd(u32 cmd, u32 id, void *data)
{
	return -ENOTTY;
}
