/*
 * vmad_undump on a stock kernel (lib/vmad/undump*.c): the switch's
 * userspace provider of VCMD_vmad_undump.  The caller becomes the image in
 * place (its pid and parent kept): it checks and plans the whole image,
 * prepares itself in C, and a helper it forks (and reaps) seizes it and
 * drives the rest by injected system calls (NOTES "The VMADump undump side
 * and executable images (issue 18)").
 */
#ifndef VXCR_VMAD_UNDUMP_H
#define VXCR_VMAD_UNDUMP_H

#include <stdint.h>

struct rst_image;

/* The switch's handler (data: struct vcmd_vmad_undump_v0).  Returns only
 * on a refusal: -errno, the caller as it was (its error set). */
long vmad_undump_local(uint32_t cmd, uint32_t id, void *data);

/* undump-check.c: what an in-place restore of the planned image cannot do
 * for this caller: a tree, threads, namespaces, credentials above the
 * caller's.  0 or -errno (its error set). */
int undump_check_image(const struct rst_image *img);
int undump_check_creds(const struct rst_image *img);

#endif
