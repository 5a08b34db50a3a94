/*
 * BProc's VMADump API on vxcr: a process checkpoints itself, replaces
 * itself by an image, or has a program dumped just after its exec.
 *
 * Every call goes through the switch (vserver(), PROCMIG 18/19): with the
 * kernel module loaded the kernel does the work; on a stock kernel the
 * library does it with a helper process it forks (a process cannot ptrace
 * itself).  The images are ordinary vxcr images: vxrestore restores them,
 * `vxcr img` reads them, and an image made by one side is undumped by the
 * other.
 *
 * Errors: as BProc's calls, -1 with errno set; vxcr_last_error() (vxcr.h)
 * then holds the one-line reason.
 *
 * Link with -lvxcr (pkg-config vxcr).
 */
#ifndef VXCR_VMADUMP_H
#define VXCR_VMADUMP_H

#include <stddef.h>
#include <sys/types.h>

#include "vxcr/vserver-abi.h" /* VMAD_DUMP_LIBS, _EXEC, _OTHER, _ALL */

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The calling process writes its own image to fd and goes on.  Returns the
 * bytes written; in a process restored from that image the same call
 * returns 0 (as fork returns twice).  flags: VMAD_DUMP_* classes of
 * file-backed areas stored with their contents; every other file-backed
 * area, and always the files of the library list below, are stored as
 * references (path plus identity, checked at restore).  The caller must be
 * single-threaded.  -1 with errno on failure; the caller goes on as before.
 */
long vmad_dump(int fd, unsigned int flags);

/*
 * Replaces the calling process by the image read from fd, as exec does:
 * the process keeps its pid and parent; everything else (memory,
 * registers, signal state, credentials within the caller's, fds) is the
 * image's.  Returns only on error, -1 with errno, the caller as it was.
 */
int vmad_undump(int fd);

/*
 * Runs argv[0] (a path, not searched in PATH) with argv and envp in a new
 * process and writes its image to fd just after its exec, before it runs
 * one instruction of the new program; the process is then killed.
 * Returns the bytes written, or -1 with errno (no process left behind).
 */
long vmad_execdump(char *const argv[], char *const envp[], int fd, unsigned int flags);

/*
 * The library list: files assumed present where an image is restored.
 * Their areas are stored as references whatever the VMAD_DUMP_* flags say,
 * as BProc's list of libraries.  The list belongs to the calling process
 * (inherited over fork, not over exec).  Paths must be absolute; each is
 * kept as given.
 */
int vmad_lib_add(const char *path); /* 0, or -1: EINVAL, ENOMEM, EEXIST */
int vmad_lib_del(const char *path); /* 0, or -1: ENOENT */
void vmad_lib_clear(void);
/* Writes the list as NUL-terminated paths one after the other into buf (at
 * most size bytes); returns the bytes the whole list needs, whether or not
 * it fitted (vmad_lib_size() says the same without copying). */
size_t vmad_lib_list(char *buf, size_t size);
size_t vmad_lib_size(void);

#ifdef __cplusplus
}
#endif

#endif
