/*
 * The one injection window of a dump: state only the task itself can
 * report (sigactions, sigaltstack, brk, prctl values, itimers, robust list)
 * is fetched with single syscalls run inside the frozen task, all at once,
 * into a scratch area read back with one inject_read().
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>

#define LOG_PREFIX "remote: "
#include "log.h"
#include "dump/dump.h"
#include "util/inject.h"

#define SCRATCH_LEN	(2 * 4096)
#define SCRATCH_DATA	4096	/* first page holds the recovery code */

struct kstack {
	uint64_t sp;
	int32_t flags;
	int32_t pad;
	uint64_t size;
};

/* Layout of the scratch data area; every syscall has its own slot. */
struct remote_area {
	struct ksigaction act[NSIG_KERNEL + 1];
	struct kstack altstack;
	uint64_t tid_address;
	int32_t pdeath_sig;
	int32_t child_subreaper;
	struct kitimerval itimers[3];
	uint64_t robust_head;
	uint64_t robust_len;
};

_Static_assert(sizeof(struct remote_area) <= SCRATCH_LEN - SCRATCH_DATA - 256,
	       "remote area exceeds the scratch area");

#define SLOT(in, field) ((in)->scratch + SCRATCH_DATA + offsetof(struct remote_area, field))

/* Runs one syscall; *res is its result.  Returns 0 or -errno of ptrace. */
static int rcall(struct inject *in, long *res, long nr, unsigned long a0,
		 unsigned long a1, unsigned long a2, unsigned long a3)
{
	const unsigned long a[6] = { a0, a1, a2, a3, 0, 0 };
	int ret = inject_syscall(in, res, nr, a);

	if (ret)
		pr_err("pid %d: injected syscall %ld failed: %s\n", in->tid, nr,
		       strerror(-ret));
	return ret;
}

static int remote_sigactions(struct inject *in, struct dump_task *t)
{
	long res;
	int sig, ret;

	for (sig = 1; sig <= NSIG_KERNEL; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		ret = rcall(in, &res, SYS_rt_sigaction, sig, 0,
			    SLOT(in, act[sig]), sizeof(uint64_t));
		if (ret)
			return ret;
		t->rt.act_valid[sig] = res == 0;
		if (res)
			pr_warn("pid %d: rt_sigaction(%d): %s\n", t->pid, sig, strerror(-res));
	}
	return 0;
}

/* prctl/brk values returned directly; the rest land in the area. */
static int remote_process(struct inject *in, struct dump_task *t)
{
	long res = 0;
	int i, ret;

	ret = remote_sigactions(in, t);
	ret = ret ? : rcall(in, &res, SYS_brk, 0, 0, 0, 0);
	t->rt.brk = res;
	ret = ret ? : rcall(in, &res, SYS_prctl, PR_GET_SECUREBITS, 0, 0, 0);
	t->rt.securebits = res < 0 ? 0 : res;
	ret = ret ? : rcall(in, &res, SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0);
	t->rt.dumpable = res < 0 ? 0 : res;
	ret = ret ? : rcall(in, &res, SYS_prctl, PR_GET_THP_DISABLE, 0, 0, 0);
	t->rt.thp_disable = res > 0;
	ret = ret ? : rcall(in, &res, SYS_prctl, PR_GET_PDEATHSIG, SLOT(in, pdeath_sig), 0, 0);
	ret = ret ? : rcall(in, &res, SYS_prctl, PR_GET_CHILD_SUBREAPER,
			    SLOT(in, child_subreaper), 0, 0);
	for (i = 0; i < 3 && !ret; i++)
		ret = rcall(in, &res, SYS_getitimer, i, SLOT(in, itimers[i]), 0, 0);
	return ret;
}

static int remote_thread(struct inject *in, struct dump_thread *th)
{
	long res = 0;
	int ret;

	ret = rcall(in, &res, SYS_sigaltstack, 0, SLOT(in, altstack), 0, 0);
	ret = ret ? : rcall(in, &res, SYS_prctl, PR_GET_TID_ADDRESS, SLOT(in, tid_address), 0, 0);
	if (!ret && res)
		pr_warn("pid %d: PR_GET_TID_ADDRESS: %s\n", th->tid, strerror(-res));
	ret = ret ? : rcall(in, &res, SYS_get_robust_list, 0, SLOT(in, robust_head),
			    SLOT(in, robust_len), 0);
	return ret;
}

static void take_results(const struct remote_area *a, struct dump_task *t,
			 struct dump_thread *th)
{
	memcpy(t->rt.act, a->act, sizeof(t->rt.act));
	memcpy(t->rt.itimers, a->itimers, sizeof(t->rt.itimers));
	t->rt.pdeath_sig = a->pdeath_sig;
	t->rt.child_subreaper = a->child_subreaper != 0;
	th->rt.altstack_sp = a->altstack.sp;
	th->rt.altstack_flags = a->altstack.flags;
	th->rt.altstack_size = a->altstack.size;
	th->rt.clear_child_tid = a->tid_address;
	th->rt.robust_list = a->robust_head;
	th->rt.robust_list_len = a->robust_len;
}

static int remote_run(struct inject *in, struct dump_task *t, struct dump_thread *th)
{
	struct remote_area area;
	int ret;

	ret = inject_map_scratch(in, SCRATCH_LEN);
	if (ret) {
		pr_err("pid %d: cannot map the scratch area: %s\n", t->pid, strerror(-ret));
		return ret;
	}
	ret = remote_process(in, t);
	ret = ret ? : remote_thread(in, th);
	if (!ret) {
		ret = inject_read(t->pid, in->scratch + SCRATCH_DATA, &area, sizeof(area));
		if (ret)
			pr_err("pid %d: cannot read the scratch area: %s\n", t->pid,
			       strerror(-ret));
		else
			take_results(&area, t, th);
	}
	if (inject_unmap_scratch(in) && !ret) {
		pr_err("pid %d: cannot unmap the scratch area\n", t->pid);
		ret = -EIO;
	}
	return ret;
}

/*
 * Runs the whole injection window on the leader of frozen t and puts its
 * registers back.  0 or -errno (logged).
 */
int collect_remote(struct dump_task *t)
{
	struct dump_thread *th = &t->threads[0];
	struct inject in;
	uint64_t gadget;
	int ret, ret2;

	memset(&in, 0, sizeof(in));
	ret = inject_find_vdso_gadget(t->pid, &gadget);
	if (ret) {
		pr_err("pid %d: no syscall instruction in its vdso: %s\n", t->pid,
		       strerror(-ret));
		return ret;
	}
	ret = inject_init(&in, th->tid, gadget);
	if (ret) {
		pr_err("pid %d: cannot prepare syscall injection: %s\n", t->pid,
		       strerror(-ret));
		return ret;
	}
	ret = remote_run(&in, t, th);
	ret2 = inject_fini(&in);
	if (ret2 && !ret) {
		pr_err("pid %d: cannot restore its registers: %s\n", t->pid, strerror(-ret2));
		ret = ret2;
	}
	return ret;
}
