/*
 * /proc/sysvipc/shm parser (SysV shared memory segments of our IPC
 * namespace), as the kernel prints it (ipc/shm.c, sysvipc_shm_proc_show):
 *
 *        key      shmid perms       size  cpid  lpid nattch   uid   gid  cuid  cgid ...
 *          0         16  1600    1048576  7184  7184      1     0     0     0     0 ...
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc/proc.h"

#define SHM_FIELDS 11 /* key .. cgid */

/* One segment line [line, eol) into *s.  0 or -EINVAL. */
static int parse_shm_line(const char *line, const char *eol, struct proc_sysv_shm *s)
{
	char buf[512];
	int n;

	if (eol - line >= (long)sizeof(buf))
		return -EINVAL;
	memcpy(buf, line, eol - line); /* sscanf must not run into the next line */
	buf[eol - line] = '\0';
	memset(s, 0, sizeof(*s));
	n = sscanf(buf,
		   "%" SCNd32 " %" SCNd32 " %" SCNo32 " %" SCNu64 " %d %d %" SCNu64 " %" SCNu32
		   " %" SCNu32 " %" SCNu32 " %" SCNu32,
		   &s->key, &s->shmid, &s->perms, &s->size, &s->cpid, &s->lpid, &s->nattch, &s->uid,
		   &s->gid, &s->cuid, &s->cgid);
	return n == SHM_FIELDS ? 0 : -EINVAL;
}

static int append(struct proc_sysv_shm **v, size_t *n, size_t *cap, const struct proc_sysv_shm *s)
{
	struct proc_sysv_shm *nv;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		nv = realloc(*v, *cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		*v = nv;
	}
	(*v)[(*n)++] = *s;
	return 0;
}

int proc_parse_sysv_shm(const char *text, struct proc_sysv_shm **out, size_t *n)
{
	struct proc_sysv_shm *v = NULL, s;
	const char *line = text, *eol;
	size_t cap = 0;
	int ret = 0;

	*out = NULL;
	*n = 0;
	eol = strchr(line, '\n');
	if (!eol || !memmem(line, eol - line, "shmid", 5))
		return -EINVAL; /* no header line */
	for (line = eol + 1; !ret && *line; line = eol + 1) {
		eol = strchrnul(line, '\n');
		if (line + strspn(line, " \t") != eol) /* blank lines are skipped */
			ret = parse_shm_line(line, eol, &s) ?: append(&v, n, &cap, &s);
		if (!*eol)
			break;
	}
	if (ret) {
		free(v);
		*n = 0;
		return ret;
	}
	*out = v;
	return 0;
}

const char *const proc_ipc_sysctls[] = {
	"kernel/msgmax",
	"kernel/msgmnb",
	"kernel/msgmni",
	"kernel/sem",
	"kernel/shmmax",
	"kernel/shmall",
	"kernel/shmmni",
	"kernel/shm_rmid_forced",
	"fs/mqueue/queues_max",
	"fs/mqueue/msg_max",
	"fs/mqueue/msgsize_max",
	"fs/mqueue/msg_default",
	"fs/mqueue/msgsize_default",
	NULL,
};

bool proc_ipc_sysctl_known(const char *name)
{
	for (size_t i = 0; name && proc_ipc_sysctls[i]; i++)
		if (!strcmp(name, proc_ipc_sysctls[i]))
			return true;
	return false;
}

bool proc_ipc_sysctl_value_ok(const char *v)
{
	size_t len, n = 0;

	if (!v || !*v || strlen(v) > 63)
		return false;
	while (*v) {
		len = strspn(v, "0123456789");
		if (!len || len > 20 || ++n > 4)
			return false;
		v += len;
		if (!*v)
			break;
		if (*v != ' ' && *v != '\t')
			return false;
		v++;
		if (!*v)
			return false;
	}
	return true;
}
