/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vxcr.ko's internal interface: what main.c and switch.c give the command
 * handlers, and what each part of the module provides.
 *
 * A command handler runs in the caller's process context (the ioctl on
 * /dev/vserver), may sleep, and gets the command's data as a kernel copy:
 * data_size bytes of the command's struct (NULL when the command takes
 * none).  It returns >= 0 (the command's value) or -errno.  The switch
 * copies the struct back to the caller after a handler that returns >= 0
 * when the command's table row says VX_OUT.
 */
#ifndef _VXCR_KMOD_H
#define _VXCR_KMOD_H

#include <linux/types.h>

#include "vxcr/vserver-abi.h"

#define VX_MOD_NAME "vxcr"

typedef long (*vx_handler_t)(u32 cmd, u32 id, void *data);

/* switch.c: decode, validate, dispatch one VSERVER_IOC_CALL */
long vx_switch_ioctl(void __user *arg);

/* context.c: the context commands (ctx_*, vx_info, *_stat, vhi_name,
 * *_cflags, *_ccaps, *_bcaps, wait_exit, task_xid) */
long vx_ctx_cmd(u32 cmd, u32 id, void *data);
int vx_ctx_init(void);
void vx_ctx_exit(void);

/* ckpt.c: in-kernel checkpoint (task_dump, vmad_dump) */
long vx_ckpt_cmd(u32 cmd, u32 id, void *data);

/* restart.c: in-kernel restart of the caller (vmad_undump) */
long vx_restart_cmd(u32 cmd, u32 id, void *data);

#endif
