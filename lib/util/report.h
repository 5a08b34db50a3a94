/*
 * A forked child's outcome, told to its parent over a pipe: the child's
 * result (0 or -errno), its error (error.h) and a payload of the caller's
 * (the pid it made, its statistics).  The one way errors cross a fork: the
 * context's supervisor, the --pidns init, the restored root's C part and
 * a context restore's supervisor all report with it.
 */
#ifndef VXCR_UTIL_REPORT_H
#define VXCR_UTIL_REPORT_H

#include <stddef.h>

/* Largest payload a report carries. */
#define REPORT_DATA_MAX 64

/* Child: sends err, its current error's message (strerror(-err) if it has
 * none) and len bytes of data to fd.  Returns err, or -errno if a
 * success could not be told. */
int report_send(int fd, int err, const void *data, size_t len);
/*
 * Parent: reads one report from fd into data (len bytes).  Returns 0 (the
 * child succeeded), its -errno (posted as our error, first sticks), or 1
 * if no complete report came (the child died, or closed fd): the caller
 * says which child.
 */
int report_recv(int fd, void *data, size_t len);

#endif
