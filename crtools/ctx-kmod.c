/*
 * vxcr ctx with the kernel module (/dev/vserver, or $VXCR_VSERVER_DEV):
 * the subcommands that otherwise read or write the userspace engine's
 * records (create, list, info, stat) go through the vx_* calls, which the
 * switch sends to the module, so every subcommand works on one set of
 * contexts.
 *
 * create: a child calls vx_create (it becomes the context's init, in a
 * session of its own), the parent sets the ccaps, bcaps and hostname of
 * the new context, the child drops the capabilities outside bcaps from its
 * bounding set and execs the command; the parent returns once the exec
 * happened (a close-on-exec pipe), as the userspace engine's create.
 * What only the userspace engine has (--nproc, --net, --root, --limit):
 * refused.  list reads the module's /proc/virtual (one directory per
 * context) instead of asking every xid.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "vxcr/vserver.h"
#include "vxcr/vxcr.h"
#include "cmd.h"
#include "ctx-kmod.h"

bool ctx_kmod_present(void)
{
	const char *dev = vxcr_kernel_module_dev();

	return dev && access(dev, F_OK) == 0;
}

static void child_say(int fd, int v)
{
	if (write(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		_exit(126);
}

/* The child: create, wait for the parent's go, drop bcaps, exec. */
static void __attribute__((noreturn))
create_child(const struct vxcr_ctx_create_opts *a, uint64_t bcaps, int out, int in)
{
	vx_flags_t f = { .flags = a->flags, .mask = 0 };
	char go = 1;
	int ret, cap;

	setsid();
	ret = vx_create(a->xid, &f);
	child_say(out, ret < 0 ? -errno : ret);
	if (ret < 0 || read(in, &go, 1) != 1 || go)
		_exit(1);
	for (cap = 0; cap < 64; cap++)
		if (!(bcaps & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) &&
		    errno != EINVAL)
			child_say(out, -errno), _exit(1);
	execvp(a->argv[0], a->argv);
	child_say(out, -errno);
	_exit(127);
}

/* The parent's part: the context's settings; 0 or -errno. */
static int create_setup(const struct vxcr_ctx_create_opts *a, xid_t xid, uint64_t bcaps)
{
	vx_flags_t c = { .flags = a->ccaps, .mask = ~0ULL };
	vx_flags_t b = { .flags = bcaps, .mask = ~0ULL };
	vx_uname_t u = { .id = VHIN_NODENAME };

	if (vx_ccaps_set(xid, &c) || vx_bcaps_set(xid, &b))
		return -errno;
	if (!a->hostname)
		return 0;
	if (strlen(a->hostname) >= sizeof(u.value))
		return -EINVAL;
	snprintf(u.value, sizeof(u.value), "%s", a->hostname);
	return vx_uname_set(xid, &u) ? -errno : 0;
}

/* Reads the child's answer: its value, or -EPIPE when it closed (exec). */
static int parent_hear(int fd)
{
	int v;
	ssize_t n;

	while ((n = read(fd, &v, sizeof(v))) < 0 && errno == EINTR)
		;
	return n == (ssize_t)sizeof(v) ? v : -EPIPE;
}

static int create_run(const struct vxcr_ctx_create_opts *a, uint64_t bcaps, int c2p[2], int p2c[2],
		      xid_t *xid)
{
	pid_t pid = fork();
	int ret, st;
	char go;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		close(c2p[0]);
		close(p2c[1]);
		create_child(a, bcaps, c2p[1], p2c[0]);
	}
	close(c2p[1]);
	close(p2c[0]);
	ret = parent_hear(c2p[0]);
	if (ret >= 0) {
		*xid = (xid_t)ret;
		ret = create_setup(a, *xid, bcaps);
		go = ret ? 1 : 0;
		if (write(p2c[1], &go, 1) != 1 && !ret)
			ret = -EPIPE;
		if (!ret)
			ret = parent_hear(c2p[0]);
		ret = ret == -EPIPE ? 0 : ret; /* closed on exec */
	}
	if (ret)
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	return ret;
}

int ctx_kmod_create(const struct vxcr_ctx_create_opts *a, xid_t *xid)
{
	uint64_t bcaps = a->bcaps;
	int c2p[2], p2c[2], ret;

	if (a->nproc || a->net || a->root || a->limits) {
		cli_error("ctx create: --nproc, --net, --root and --limit need the userspace "
			  "engine (VXCR_VSERVER_DEV= ), not the kernel module");
		return -EINVAL;
	}
	if (bcaps == VXCR_BCAPS_GUEST)
		bcaps = vxcr_ctx_guest_bcaps(a->flags, a->ccaps);
	if (pipe2(c2p, O_CLOEXEC))
		return -errno;
	if (pipe2(p2c, O_CLOEXEC)) {
		ret = -errno;
		close(c2p[0]);
		close(c2p[1]);
		return ret;
	}
	ret = create_run(a, bcaps, c2p, p2c, xid);
	close(c2p[0]);
	close(p2c[1]);
	if (ret)
		cli_error("ctx create: %s", strerror(-ret));
	return ret;
}

/* The value of "Key:\t" in /proc/virtual/<xid>/<file>, or -1. */
static int proc_field(const char *root, xid_t xid, const char *file, const char *key,
		      unsigned long long *v, int base)
{
	char path[PATH_MAX], line[256];
	size_t kl = strlen(key);
	int ret = -1;
	FILE *f;

	if ((size_t)snprintf(path, sizeof(path), "%s/%u/%s", root, xid, file) >= sizeof(path))
		return -1;
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *end;

		if (strncmp(line, key, kl) || line[kl] != ':' || line[kl + 1] != '\t')
			continue;
		errno = 0;
		*v = strtoull(line + kl + 2, &end, base);
		if (!errno && end != line + kl + 2 && *end == '\n')
			ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

static int cmp_xid(const void *a, const void *b)
{
	xid_t x = *(const xid_t *)a, y = *(const xid_t *)b;

	return x < y ? -1 : x > y;
}

/* The xids under root (the names of its directories), sorted; -1 if root
 * cannot be read. */
static int proc_xids(const char *root, xid_t **out)
{
	xid_t *xids = NULL, *nx;
	size_t n = 0, cap = 0;
	struct dirent *e;
	DIR *d = opendir(root);

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char *end;
		unsigned long x = strtoul(e->d_name, &end, 10);

		if (*end || end == e->d_name || e->d_name[0] == '0' || x < 2 || x > VXCR_XID_MAX)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			nx = realloc(xids, cap * sizeof(*xids));
			if (!nx)
				break;
			xids = nx;
		}
		xids[n++] = (xid_t)x;
	}
	closedir(d);
	if (n)
		qsort(xids, n, sizeof(*xids), cmp_xid);
	*out = xids;
	return (int)n;
}

/*
 * The module's /proc/virtual (or $VXCR_PROC_VIRTUAL; empty: not used)
 * names its contexts; a context it lists but the caller may not see, or
 * one that ends meanwhile, fails to read and is left out.  -1: no
 * /proc/virtual.
 */
static int list_proc(void)
{
	const char *root = getenv("VXCR_PROC_VIRTUAL");
	unsigned long long init, tasks, fl;
	char flags[512];
	xid_t *xids;
	int i, n;

	if (!root)
		root = "/proc/virtual";
	if (!*root)
		return -1;
	n = proc_xids(root, &xids);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (proc_field(root, xids[i], "info", "Init", &init, 10) ||
		    proc_field(root, xids[i], "status", "Tasks", &tasks, 10) ||
		    proc_field(root, xids[i], "status", "Flags", &fl, 16))
			continue;
		vxcr_ctx_names_format(VXCR_CTX_FLAG_NAMES, fl, flags, sizeof(flags));
		printf("%u %d %u %s\n", xids[i], (int)init, (unsigned)tasks, flags);
	}
	free(xids);
	return 0;
}

int ctx_kmod_list(void)
{
	vx_info_t r;
	vx_stat_t st;
	vx_flags_t f;
	char flags[512];
	xid_t x;

	if (list_proc() == 0)
		return 0;
	/* an older module without /proc/virtual: every xid is asked */
	for (x = 2; x <= VXCR_XID_MAX; x++) {
		if (vx_info(x, &r) || vx_stat(x, &st) || vx_flags_get(x, &f))
			continue;
		vxcr_ctx_names_format(VXCR_CTX_FLAG_NAMES, f.flags, flags, sizeof(flags));
		printf("%u %d %u %s\n", r.xid, r.initpid, st.tasks, flags);
	}
	return 0;
}

int ctx_kmod_info(xid_t xid)
{
	vx_flags_t f, b, c;
	vx_info_t r;

	if (vx_info(xid, &r) || vx_flags_get(xid, &f) || vx_bcaps_get(xid, &b) ||
	    vx_ccaps_get(xid, &c)) {
		cli_error("ctx info: context %u: %s", xid, strerror(errno));
		return 1;
	}
	printf("xid: %u\ninitpid: %d\nprovider: kernel module\n", r.xid, r.initpid);
	ctx_print_bits(xid, f.flags, b.flags, c.flags);
	return 0;
}
