/*
 * Namespace files (fd kind "nsfile"): an fd on /proc/PID/ns/TYPE (the
 * link reads "TYPE:[INODE]").  Only a namespace the tree is in can come
 * back: the root's own (ns/TYPE) or the one its children get
 * (pid_for_children, time_for_children).  Restore opens the restored
 * root's same file, which is the namespace the tree runs in after the
 * restore (a new pid namespace with --pidns, the context's in a context
 * restore).  Any other namespace (the host's seen from a context, one a
 * child unshared, one kept open after setns) is refused at dump: it would
 * silently become another one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define LOG_PREFIX "dump/nsfile: "
#include "log.h"
#include "dump/dump.h"

static const char *const ns_types[] = {
	"net", "pid", "mnt", "uts", "ipc", "user", "cgroup", "time"
};

/* The namespace type of a link "TYPE:[INO]" naming inode ino, or NULL. */
static const char *ns_type_of(const char *link, ino_t ino)
{
	unsigned long long n;
	size_t i, l;
	int end = 0;

	for (i = 0; i < sizeof(ns_types) / sizeof(ns_types[0]); i++) {
		l = strlen(ns_types[i]);
		if (strncmp(link, ns_types[i], l) || link[l] != ':')
			continue;
		if (sscanf(link + l, ":[%llu]%n", &n, &end) == 1 && !link[l + end] && n == ino)
			return ns_types[i];
	}
	return NULL;
}

static bool is_nsfile(const struct fd_probe *p)
{
	return S_ISREG(p->st.st_mode) && ns_type_of(p->link, p->st.st_ino);
}

/* Does /proc/PID/ns/NAME of the root name st's namespace? */
static bool root_ns_is(const struct dump_op *op, const char *name, const struct stat *st)
{
	char path[96];
	struct stat rs;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", op->root->pid, name);
	return !stat(path, &rs) && rs.st_dev == st->st_dev && rs.st_ino == st->st_ino;
}

/* Which of the root's namespace files p is on; refused if none. */
static int dump_nsfile(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	const char *type = ns_type_of(p->link, p->st.st_ino);
	char name[40];

	df->e.kind = FILE_KIND__FILE_NS;
	snprintf(name, sizeof(name), "%s_for_children", type);
	if (!root_ns_is(op, type, &p->st)) {
		if (strcmp(type, "pid") && strcmp(type, "time"))
			name[0] = '\0';
		if (!name[0] || !root_ns_is(op, name, &p->st)) {
			pr_err("pid %d fd %d: namespace %s is not one the tree runs in (not the "
			       "root's): not supported\n",
			       p->pid, p->fd, p->link);
			return -EOPNOTSUPP;
		}
		type = name;
	}
	df->path = strdup(type);
	if (!df->path)
		return -ENOMEM;
	df->e.ns_type = df->path;
	return 0;
}

const struct dump_fd_kind dump_fd_nsfile = { "nsfile", is_nsfile, dump_nsfile, NULL };
