/* The tree's IPC namespace, dump side (ipcns.c, ipcns-mq.c). */
#ifndef VXCR_DUMP_IPCNS_H
#define VXCR_DUMP_IPCNS_H

#include <stddef.h>
#include <sys/ipc.h>

#include "ipcns.pb-c.h"

struct dump_op;

#define IPCNS_MAX_BYTES (128u << 20) /* queued bytes of one kind; unattached segments */
#define IPCNS_MAX_MSG (64u << 20)    /* one SysV queue's msg_qbytes */

/* Appends item to the array *v of *n.  0 or -ENOMEM. */
int ipcns_push(void ***v, size_t *n, void *item);
/* p and id as an ipc_perm_entry (malloc'ed), or NULL. */
IpcPermEntry *ipcns_perm(const struct ipc_perm *p, int id);
/*
 * The POSIX message queues of the namespace our thread is in, with their
 * messages, into e->mqs: read by a forked process that takes them and
 * puts them back (a vxdump killed meanwhile leaves every queue whole).
 * 0, -EOPNOTSUPP (a refusal) or -errno (logged).
 */
int ipcns_mq_read(struct dump_op *op, IpcnsEntry *e);
/* The root of our thread's namespace's mqueue filesystem, mounted
 * detached: a directory fd, or -errno (logged). */
int ipcns_mq_root(void);

#endif
