/*
 * The error of an operation (DESIGN.md, "Errors are values"): one struct
 * vxcr_error per public call, the first failure sticks.
 *
 * A thread posts into its current error: the one of the operation it works
 * for.  That is its own thread's error, or, on a worker thread started with
 * err_attach(), the error of the thread that started it.  pr_err() and
 * pr_perror() post their message (without the log prefix) if nothing is set
 * yet, so the failure point names the object and the reason, and a caller's
 * vaguer line ("cannot finish the image") is only logged.  A forked child
 * sends its error to its parent with util/report.h.
 */
#ifndef VXCR_ERROR_H
#define VXCR_ERROR_H

#include "vxcr/vxcr.h"

/* This thread's current error (never NULL). */
struct vxcr_error *err_current(void);
/* True if the current error is set. */
bool err_is_set(void);
/* Sets the current error to code (-errno, or 0 if not known yet) and the
 * message, unless it is set already: the first error sticks. */
void err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Puts "CONTEXT: " in front of a set error's message (new context only). */
void err_wrap(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Forgets the current error: it was handled (a refusal passed on to the
 * caller, a fallback taken, a summary about to replace it). */
void err_clear(void);

/*
 * A public call is one operation: err_op_begin() at its start makes a fresh
 * error, unless the call is nested in another operation of this thread
 * (then they share one).  err_op_end(ret) returns ret; at the outermost
 * level a failure gets a code (ret) and a message (strerror) if its
 * failure point gave none, and a success clears what a step recovered from.
 */
void err_op_begin(void);
int err_op_end(int ret);
long err_op_end_long(long ret);

/* On a worker thread, first thing: its failures go to e (the starter's
 * err_current()) from now on. */
void err_attach(struct vxcr_error *e);

#endif
