/*
 * The error of an operation: see error.h.  A thread's own error lives in
 * thread-local storage; worker threads point at their starter's.  Posting
 * takes one lock, so that a worker and the caller racing to fail set the
 * error once; failures are rare, the lock costs nothing on success.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread struct vxcr_error thread_err;
static __thread struct vxcr_error *attached; /* a worker's: its starter's */
static __thread unsigned op_depth;

struct vxcr_error *err_current(void)
{
	return attached ? attached : &thread_err;
}

static bool is_set(const struct vxcr_error *e)
{
	return e->code || e->msg[0];
}

bool err_is_set(void)
{
	bool set;

	pthread_mutex_lock(&err_lock);
	set = is_set(err_current());
	pthread_mutex_unlock(&err_lock);
	return set;
}

/* Drops a trailing newline: messages are one line. */
static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n && s[n - 1] == '\n')
		s[--n] = '\0';
}

static void err_vset(int code, const char *fmt, va_list ap)
{
	struct vxcr_error *e = err_current();
	int saved = errno;

	pthread_mutex_lock(&err_lock);
	if (!is_set(e)) {
		e->code = code;
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		chomp(e->msg);
		if (!e->code && !e->msg[0])
			snprintf(e->msg, sizeof(e->msg), "failed");
	}
	pthread_mutex_unlock(&err_lock);
	errno = saved;
}

void err_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(code, fmt, ap);
	va_end(ap);
}

void err_wrap(const char *fmt, ...)
{
	struct vxcr_error *e = err_current();
	char buf[2 * sizeof(e->msg)];
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(e->msg), fmt, ap);
	va_end(ap);
	n = strlen(buf);
	pthread_mutex_lock(&err_lock);
	if (is_set(e)) {
		snprintf(buf + n, sizeof(buf) - n, ": %s",
			 e->msg[0] ? e->msg : strerror(e->code < 0 ? -e->code : EIO));
		memcpy(e->msg, buf, sizeof(e->msg) - 1);
		e->msg[sizeof(e->msg) - 1] = '\0';
	}
	pthread_mutex_unlock(&err_lock);
}

void err_clear(void)
{
	struct vxcr_error *e = err_current();

	pthread_mutex_lock(&err_lock);
	memset(e, 0, sizeof(*e));
	pthread_mutex_unlock(&err_lock);
}

void err_op_begin(void)
{
	if (!op_depth++)
		err_clear();
}

int err_op_end(int ret)
{
	return (int)err_op_end_long(ret);
}

long err_op_end_long(long ret)
{
	struct vxcr_error *e = err_current();

	if (op_depth && --op_depth)
		return ret; /* nested: the outermost call finishes the error */
	if (ret >= 0) {
		err_clear();
		return ret;
	}
	pthread_mutex_lock(&err_lock);
	if (!e->code)
		e->code = (int)ret;
	if (!e->msg[0])
		snprintf(e->msg, sizeof(e->msg), "%s", strerror((int)-ret));
	pthread_mutex_unlock(&err_lock);
	return ret;
}

void err_attach(struct vxcr_error *e)
{
	attached = e;
}

const struct vxcr_error *vxcr_error(void)
{
	return err_current();
}

const char *vxcr_last_error(void)
{
	return err_current()->msg;
}
