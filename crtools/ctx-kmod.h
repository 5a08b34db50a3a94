/* vxcr ctx with the kernel module: the subcommands that the userspace
 * engine serves from its records, through the vx_* calls (ctx-kmod.c). */
#ifndef VXCR_CTX_KMOD_H
#define VXCR_CTX_KMOD_H

#include <stdbool.h>

#include "vxcr/vserver.h"

/* true when the switch sends context calls to the module */
bool ctx_kmod_present(void);
/* 0 with *xid set once the command runs inside, or -errno (reported) */
int ctx_kmod_create(const struct vxcr_ctx_create_opts *a, xid_t *xid);
/* the subcommands' exit codes */
int ctx_kmod_list(void);
int ctx_kmod_info(xid_t xid);

/* `ctx info`'s lines both providers print: flags, bcaps, ccaps, nodename
 * and domainname of xid (cmd-ctx.c). */
void ctx_print_bits(xid_t xid, uint64_t flags, uint64_t bcaps, uint64_t ccaps);

#endif
