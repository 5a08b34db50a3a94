/*
 * creds: non-root real/effective/saved uids and gids, supplementary groups,
 * reduced capability sets (permitted, effective, inheritable, ambient,
 * bounding), securebits and no_new_privs.  Must be started as root.
 * OUTFILE stays open on a high fd because the program can no longer open
 * the harness's files once it gave up root.
 */
#include <grp.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include "prog.h"

struct creds {
	uid_t r, e, s, fs;
	gid_t gr, ge, gs, gfs;
	gid_t groups[16];
	int ngroups;
	struct __user_cap_data_struct cap[2];
	uint64_t bounding, ambient;
	int securebits, nnp, dumpable;
};

static void get_creds(struct creds *c)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	int i;

	memset(c, 0, sizeof(*c));
	getresuid(&c->r, &c->e, &c->s);
	getresgid(&c->gr, &c->ge, &c->gs);
	c->fs = setfsuid(-1);
	c->gfs = setfsgid(-1);
	c->ngroups = getgroups(16, c->groups);
	syscall(SYS_capget, &h, c->cap);
	for (i = 0; i < 64; i++) {
		if (prctl(PR_CAPBSET_READ, i, 0, 0, 0) == 1)
			c->bounding |= 1ULL << i;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, i, 0, 0) == 1)
			c->ambient |= 1ULL << i;
	}
	c->securebits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	c->nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	c->dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
}

static void drop_privileges(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct cap[2];
	static const gid_t groups[] = { 1001, 1002, 2000 };

	if (geteuid() != 0)
		prog_fail("must be started as root");
	if (prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS | SECBIT_NOROOT, 0, 0, 0))
		prog_fail("PR_SET_SECUREBITS: %s", strerror(errno));
	if (prctl(PR_CAPBSET_DROP, CAP_SYS_BOOT, 0, 0, 0) ||
	    prctl(PR_CAPBSET_DROP, CAP_MKNOD, 0, 0, 0))
		prog_fail("PR_CAPBSET_DROP: %s", strerror(errno));
	if (setgroups(3, groups) || setresgid(1000, 1001, 1002) || setresuid(1000, 1001, 1002))
		prog_fail("set ids: %s", strerror(errno));
	memset(cap, 0, sizeof(cap));
	cap[0].permitted = 1U << CAP_KILL | 1U << CAP_NET_BIND_SERVICE | 1U << CAP_SETUID;
	cap[0].effective = 1U << CAP_KILL;
	cap[0].inheritable = 1U << CAP_NET_BIND_SERVICE;
	if (syscall(SYS_capset, &h, cap))
		prog_fail("capset: %s", strerror(errno));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0))
		prog_fail("ambient raise: %s", strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		prog_fail("no_new_privs: %s", strerror(errno));
}

#define SAME(field) CHECK(a.field == b.field, #field " is %lld, was %lld", \
			  (long long)a.field, (long long)b.field)

int main(int argc, char **argv)
{
	struct creds b, a;
	int i;

	prog_init(argc, argv, "creds");
	prog_keep_out_open();
	drop_privileges();
	get_creds(&b);
	prog_ready();
	prog_wait_go();
	get_creds(&a);
	SAME(r); SAME(e); SAME(s); SAME(fs);
	SAME(gr); SAME(ge); SAME(gs); SAME(gfs);
	SAME(ngroups);
	for (i = 0; i < a.ngroups && i < b.ngroups && i < 16; i++)
		SAME(groups[i]);
	for (i = 0; i < 2; i++) {
		SAME(cap[i].permitted);
		SAME(cap[i].effective);
		SAME(cap[i].inheritable);
	}
	SAME(bounding); SAME(ambient); SAME(securebits); SAME(nnp); SAME(dumpable);
	CHECK(b.e == 1001 && b.cap[0].effective == 1U << CAP_KILL, "setup not as intended");
	prog_finish();
}
