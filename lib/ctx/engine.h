/*
 * The userspace engine behind the switch (lib/ctx): the contract lib/switch
 * calls it by (here, below the switch, so includes point down).
 *
 * vxctx_call() is the one entry of the context engine.  The switch calls it
 * for every context command of the table in vxcr/vserver.h (all but
 * checkpoint and restart, which lib/switch implements itself), and only
 * after validating:
 *   - cmd is exactly one of the current VCMD_* values: VCMD_ctx_create,
 *     VCMD_ctx_migrate (the _v0 forms arrive converted, with a zeroed
 *     struct), VCMD_task_xid, VCMD_vx_info, VCMD_ctx_stat, VCMD_virt_stat,
 *     VCMD_get/set_vhi_name, VCMD_get/set_cflags, VCMD_get/set_ccaps,
 *     VCMD_get/set_bcaps, VCMD_ctx_kill, VCMD_wait_exit; so a switch on cmd
 *     needs no decoding;
 *   - data points to the command's struct (never NULL) for every command
 *     that takes one; for VCMD_task_xid it may be NULL and is ignored;
 *   - id is passed through unchanged (the xid; the pid for task_xid).
 * Returns >= 0 (0, or the command's value: the xid for task_xid) or -errno
 * with the meanings listed in vxcr/vserver.h (-ESRCH no such context,
 * -ENOTTY a flag or field a stock kernel cannot honour, -EINVAL a bad value
 * inside data, -ENOSYS a command not implemented).  Never sets errno.
 *
 * lib/ctx/dispatch.c defines it (the unit test of the switch has its own).
 */
#ifndef VXCR_CTX_ENGINE_H
#define VXCR_CTX_ENGINE_H

#include <stdint.h>

long vxctx_call(uint32_t cmd, uint32_t id, void *data);

#endif
