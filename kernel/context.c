// SPDX-License-Identifier: GPL-2.0
/* Contexts in the kernel (issue 17): not written yet, every command -ENOTTY. */
#include <linux/errno.h>

#include "vxcr.h"

long vx_ctx_cmd(u32 cmd, u32 id, void *data)
{
	return -ENOTTY;
}

int vx_ctx_init(void)
{
	return 0;
}

void vx_ctx_exit(void)
{
}
