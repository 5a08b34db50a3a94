/* The tree's IPC namespace, restore side (ipcns.c, ipcns-check.c). */
#ifndef VXCR_RESTORE_IPCNS_H
#define VXCR_RESTORE_IPCNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipcns.pb-c.h"
#include "mm.pb-c.h"

#define IPCNS_MAX_BYTES (128u << 20)  /* messages: of each kind */
#define IPCNS_HARD_MSG (64u << 20)    /* msgmax, msg_qbytes */
#define IPCNS_HARD_MNI 32768u	      /* IPCMNI: objects of one SysV kind */
#define IPCNS_HARD_SEMMSL 32000u      /* semaphores of a set (SEMMSL) */
#define IPCNS_SEMVMX 32767u	      /* a semaphore's value */
#define IPCNS_HARD_SHM (~0ull)	      /* a segment: shmmax alone limits it */
#define IPCNS_HARD_QUEUES 1024u	      /* POSIX queues (HARD_QUEUESMAX) */
#define IPCNS_HARD_MQ_MSGS 65536      /* mq_maxmsg (HARD_MSGMAX) */
#define IPCNS_HARD_MQ_SIZE (16 << 20) /* mq_msgsize (HARD_MSGSIZEMAX) */
#define IPCNS_MQ_PRIO_MAX 32768u      /* MQ_PRIO_MAX */

/* The limits an IPCNS record's own sysctls set, capped at the hard ones. */
struct ipcns_limits {
	uint64_t msgmax, msgmni, semmsl, semmni, shmmni, shmmax, queues_max;
};

void ipcns_limits(const IpcnsEntry *e, struct ipcns_limits *l);
/* A POSIX queue name as an image may give it (no '/', not "." or ".."). */
bool ipcns_mq_name_ok(const char *name);
/*
 * e checked as hostile against itself and the n_sysv SYSV_SHM records of
 * the image; pure.  0 or -EBADMSG (one line logged).
 */
int ipcns_check(const IpcnsEntry *e, SysvShmEntry *const *sysv, size_t n_sysv);

#endif
