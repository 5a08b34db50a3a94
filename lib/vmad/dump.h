/*
 * lib/vmad internals, the dump side of the VMADump API on a stock kernel:
 * the switch's provider of vmad_dump, the helper process both dumps run
 * in, and the library list as the helper takes it.
 */
#ifndef VXCR_VMAD_DUMP_H
#define VXCR_VMAD_DUMP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vxcr/vxcr.h"

/* The switch's vmad_dump without the module (vcmd_vmad_dump_v0 in data):
 * the bytes written, 0 in a restored copy, or -errno. */
long vmadump_provider(uint32_t cmd, uint32_t id, void *data);

/* A copy of the library list (libs.c). */
struct vmad_libs {
	char **paths;
	size_t n;
};
/* 0 or -ENOMEM; vmadump_libs_free() frees it either way. */
int vmadump_libs_copy(struct vmad_libs *out);
void vmadump_libs_free(struct vmad_libs *l);

/*
 * A helper process: a grandchild of the caller whose parent exits at once
 * (so it is never the caller's child or zombie), running run(arg, h).  It
 * tells its outcome on res (util/report.h); go is the caller's "start"
 * byte.  The intermediate child's SIGCHLD is taken back from the caller's
 * pending signals unless one was pending already.
 */
struct vmad_helper {
	int res[2]; /* helper -> caller: the report */
	int go[2];  /* caller -> helper: one byte, "start" */
	void (*run)(void *arg, const struct vmad_helper *h);
	void *arg;
};
/* Starts h's helper: 0 with h->res[0] and h->go[1] ours, or -errno (logged). */
int vmadump_helper_start(struct vmad_helper *h);
/* fd moved to a number above 2 (close-on-exec; the old one closed), so a
 * restored copy, whose fds 0-2 vxrestore may fill, never has another file
 * there; -1 on failure. */
int vmadump_above_stdio(int fd);
/* Threads of the calling process (at least 1). */
int vmadump_self_threads(void);
/* Tells h's helper to start: 0, or -EPIPE if it is gone (no SIGPIPE is
 * left for the caller). */
int vmadump_helper_go(struct vmad_helper *h);
/* Our ends of h's pipes closed (those still open). */
void vmadump_helper_close(struct vmad_helper *h);
/* In the helper: our dump's own settings (signals at their defaults,
 * SIGPIPE ignored, the error cleared, comm "vmad-dump"); false if the
 * caller is gone before it said "start". */
int vmadump_helper_wait_go(const struct vmad_helper *h);

/*
 * vmad_execdump's first half, for vx_execmove (lib/bproc): forks the
 * program (argv, envp: NULL for environ), our child, and leaves it
 * group-stopped just after its exec, untraced.  Its pid, or -errno
 * (logged; nothing left).  Call with SIGCHLD's default action.
 */
pid_t vmadump_exec_stopped(char *const argv[], char *const envp[]);

/* vxcr_dump(pid, fd, o, st) in a helper: a refused dump's error is the
 * first object refused (its one line), not the count. */
#define VMAD_REFUSAL_LEN 240
int vmadump_target(pid_t pid, int fd, struct vxcr_dump_opts *o, struct vxcr_dump_stats *st);

#endif
