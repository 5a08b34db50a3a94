/* lib/switch internals: the commands the switch implements itself. */
#ifndef VXCR_SWITCH_SWITCH_H
#define VXCR_SWITCH_SWITCH_H

#include <stdint.h>

/* VCMD_checkpoint / VCMD_restart in userspace: >= 0 or -errno. */
long sw_checkpoint(uint32_t cmd, uint32_t id, void *data);
long sw_restart(uint32_t cmd, uint32_t id, void *data);
/* Their version 1: every option of vxcr_dump() / vxcr_restore(). */
long sw_checkpoint_v1(uint32_t cmd, uint32_t id, void *data);
long sw_restart_v1(uint32_t cmd, uint32_t id, void *data);

#endif
