/*
 * Credentials: ids, groups and capability sets from /proc/PID/status,
 * securebits from the injected prctl; the creds_entry record.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_PREFIX "dump/creds: "
#include "log.h"
#include "dump/dump.h"
#include "img/img.h"
#include "img/records.h"

/* Highest capability number of this kernel (for the restorer's check). */
static int read_last_cap(uint32_t *last)
{
	char buf[32];
	ssize_t n;
	int fd;

	fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	*last = strtoul(buf, NULL, 10);
	return 0;
}

/* Status (and thereby ids, groups, caps) was parsed when frozen. */
int collect_creds(struct dump_task *t)
{
	int ret = read_last_cap(&t->last_cap);

	if (ret)
		pr_err("cannot read /proc/sys/kernel/cap_last_cap: %s\n", strerror(-ret));
	return ret;
}

/* The creds_entry of t.  0 or -errno (logged). */
int write_creds(struct dump_op *op, struct dump_task *t)
{
	const struct proc_status *s = &t->status;
	CredsEntry ce = CREDS_ENTRY__INIT;
	int ret;

	PB_SET(&ce, uid, s->uid[0]);
	PB_SET(&ce, euid, s->uid[1]);
	PB_SET(&ce, suid, s->uid[2]);
	PB_SET(&ce, fsuid, s->uid[3]);
	PB_SET(&ce, gid, s->gid[0]);
	PB_SET(&ce, egid, s->gid[1]);
	PB_SET(&ce, sgid, s->gid[2]);
	PB_SET(&ce, fsgid, s->gid[3]);
	ce.groups = s->groups;
	ce.n_groups = s->n_groups;
	PB_SET(&ce, cap_inh, s->cap_inh);
	PB_SET(&ce, cap_prm, s->cap_prm);
	PB_SET(&ce, cap_eff, s->cap_eff);
	PB_SET(&ce, cap_bnd, s->cap_bnd);
	PB_SET(&ce, cap_amb, s->cap_amb);
	PB_SET(&ce, securebits, t->rt.securebits);
	PB_SET(&ce, no_new_privs, s->no_new_privs);
	PB_SET(&ce, last_cap, t->last_cap);
	PB_SET(&ce, pid, t->vpid);
	ret = img_write_msg(op->w, IMG_REC_CREDS, &ce.base);
	if (ret)
		pr_err("pid %d: cannot write the creds record: %s\n", t->pid, strerror(-ret));
	return ret;
}
