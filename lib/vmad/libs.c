/*
 * The VMADump library list (vmad_lib_*): files assumed present where an
 * image is restored, whose areas vmad_dump and vmad_execdump store as
 * references whatever their flags say.  Plain memory of the calling
 * process: a fork inherits it, an exec drops it.  One mutex, so threads
 * may change it while another reads it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vxcr/vmadump.h"
#include "vmad/dump.h"

static pthread_mutex_t libs_lock = PTHREAD_MUTEX_INITIALIZER;
static char **libs;
static size_t n_libs, cap_libs;

/* Index of path in the list, or n_libs.  Under the lock. */
static size_t lib_find(const char *path)
{
	size_t i;

	for (i = 0; i < n_libs; i++)
		if (!strcmp(libs[i], path))
			break;
	return i;
}

/* Adds path (absolute) to the list: 0, or -EINVAL, -EEXIST, -ENOMEM. */
static int lib_add(const char *path)
{
	char **nv, *copy;

	if (!path || path[0] != '/')
		return -EINVAL;
	if (lib_find(path) < n_libs)
		return -EEXIST;
	if (n_libs == cap_libs) {
		nv = realloc(libs, (cap_libs ? cap_libs * 2 : 8) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		libs = nv;
		cap_libs = cap_libs ? cap_libs * 2 : 8;
	}
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	libs[n_libs++] = copy;
	return 0;
}

/* Removes path: 0 or -ENOENT. */
static int lib_del(const char *path)
{
	size_t i = path ? lib_find(path) : n_libs;

	if (i == n_libs)
		return -ENOENT;
	free(libs[i]);
	memmove(&libs[i], &libs[i + 1], (n_libs - i - 1) * sizeof(*libs));
	n_libs--;
	return 0;
}

/* -1 with errno from -err, or 0. */
static int as_errno(int err)
{
	if (!err)
		return 0;
	errno = -err;
	return -1;
}

int vmad_lib_add(const char *path)
{
	int ret;

	pthread_mutex_lock(&libs_lock);
	ret = lib_add(path);
	pthread_mutex_unlock(&libs_lock);
	return as_errno(ret);
}

int vmad_lib_del(const char *path)
{
	int ret;

	pthread_mutex_lock(&libs_lock);
	ret = lib_del(path);
	pthread_mutex_unlock(&libs_lock);
	return as_errno(ret);
}

void vmad_lib_clear(void)
{
	size_t i;

	pthread_mutex_lock(&libs_lock);
	for (i = 0; i < n_libs; i++)
		free(libs[i]);
	free(libs);
	libs = NULL;
	n_libs = cap_libs = 0;
	pthread_mutex_unlock(&libs_lock);
}

/* Bytes of the whole list as vmad_lib_list() writes it.  Under the lock. */
static size_t lib_bytes(void)
{
	size_t i, n = 0;

	for (i = 0; i < n_libs; i++)
		n += strlen(libs[i]) + 1;
	return n;
}

size_t vmad_lib_list(char *buf, size_t size)
{
	size_t i, len, off = 0, total;

	pthread_mutex_lock(&libs_lock);
	total = lib_bytes();
	for (i = 0; buf && i < n_libs; i++) {
		len = strlen(libs[i]) + 1;
		if (off + len > size)
			break; /* whole paths only */
		memcpy(buf + off, libs[i], len);
		off += len;
	}
	pthread_mutex_unlock(&libs_lock);
	return total;
}

size_t vmad_lib_size(void)
{
	size_t n;

	pthread_mutex_lock(&libs_lock);
	n = lib_bytes();
	pthread_mutex_unlock(&libs_lock);
	return n;
}

int vmadump_libs_copy(struct vmad_libs *out)
{
	size_t i;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&libs_lock);
	out->paths = calloc(n_libs + 1, sizeof(*out->paths));
	if (!out->paths)
		ret = -ENOMEM;
	for (i = 0; !ret && i < n_libs; i++) {
		out->paths[i] = strdup(libs[i]);
		if (!out->paths[i])
			ret = -ENOMEM;
		else
			out->n++;
	}
	pthread_mutex_unlock(&libs_lock);
	if (ret)
		vmadump_libs_free(out);
	return ret;
}

void vmadump_libs_free(struct vmad_libs *l)
{
	size_t i;

	for (i = 0; l->paths && i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
	memset(l, 0, sizeof(*l));
}
