/*
 * The injection windows of a dump: state only the task itself can report
 * is fetched with single syscalls run inside the frozen task, into a
 * scratch area read back with one inject_read().  Per process, in the
 * leader: sigactions, brk, prctl values, itimers, POSIX timers.  Per
 * thread, in each thread (its own window and scratch area, so a thread
 * orphaned mid-call recovers its own registers): sigaltstack and
 * clear_child_tid.  Not injected: the robust list (get_robust_list() from
 * outside, core.c) and the dispositions /proc/PID/status already gives:
 * a signal neither caught (SigCgt) nor ignored (SigIgn) is SIG_DFL, and
 * its flags, mask and restorer change nothing while it is (recorded as
 * 0), except SIGCHLD's (SA_NOCLDWAIT / SA_NOCLDSTOP), always asked.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>

#define LOG_PREFIX "dump/remote: "
#include "log.h"
#include "dump/dump.h"
#include "dump/cow.h"
#include "util/inject.h"
#include "util/testhook.h"

#define PAGE_LEN 4096ul
#define SCRATCH_LEN (2 * PAGE_LEN)
#define SCRATCH_DATA PAGE_LEN /* first page holds the recovery code */
#define SCRATCH_TAIL 256      /* the recovery data block */
#define TIMER_SLOTS 128	      /* timers asked per batch in frame mode */

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
};

_Static_assert(sizeof(struct remote_area) <= SCRATCH_LEN - SCRATCH_DATA - SCRATCH_TAIL,
	       "remote area exceeds the scratch area");

/* What the windows of one process share. */
struct remote_env {
	struct inject_gadgets *g; /* frame mode gadgets (kept across processes) */
	bool have_gadgets;
	uint64_t vdso_gadget; /* fallback: a syscall in [vdso] */
	struct proc_vma_list vma_list;
	const struct proc_vma_list *vmas;
};

#define SLOT(in, field) ((in)->data + offsetof(struct remote_area, field))

/* Runs one syscall; *res is its result.  Returns 0 or -errno of ptrace. */
static int rcall(struct inject *in, long *res, long nr, unsigned long a0, unsigned long a1,
		 unsigned long a2, unsigned long a3)
{
	const unsigned long a[6] = { a0, a1, a2, a3, 0, 0 };
	int ret = inject_syscall(in, res, nr, a);

	if (ret)
		pr_err("pid %d: injected syscall %ld failed: %s\n", in->tid, nr, strerror(-ret));
	return ret;
}

/* Is signal sig of t SIG_DFL with nothing else worth recording? */
static bool plain_default(const struct dump_task *t, int sig)
{
	uint64_t bit = 1ull << (sig - 1);

	return sig != SIGCHLD && !((t->status.sig_ign | t->status.sig_cgt) & bit);
}

static int remote_sigactions(struct inject *in, struct dump_task *t)
{
	long res;
	int sig, ret;

	for (sig = 1; sig <= NSIG_KERNEL; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (t->status.has_sig_masks && plain_default(t, sig)) {
			t->rt.act_valid[sig] = true; /* zeroed: SIG_DFL */
			continue;
		}
		ret = rcall(in, &res, SYS_rt_sigaction, sig, 0, SLOT(in, act[sig]),
			    sizeof(uint64_t));
		if (ret)
			return ret;
		t->rt.act_valid[sig] = res == 0;
		if (res)
			pr_warn("pid %d: rt_sigaction(%d): %s\n", t->pid, sig, strerror(-res));
	}
	return 0;
}

/* VmLck of /proc/PID/status in kB, or -1. */
static long vm_locked_kb(pid_t pid)
{
	char *text = NULL, *p;
	long kb = -1;

	if (proc_read_file(pid, "status", &text, NULL))
		return -1;
	p = strstr(text, "\nVmLck:");
	if (p)
		kb = strtol(p + 7, NULL, 10);
	free(text);
	return kb;
}

/* Is the page at addr of pid present (pagemap)?  false when unknown. */
static bool page_present(pid_t pid, uint64_t addr)
{
	char path[64];
	uint64_t ent = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (pread(fd, &ent, sizeof(ent), addr / PAGE_LEN * sizeof(ent)) != sizeof(ent))
		ent = 0;
	close(fd);
	return ent >> 63;
}

/*
 * mlockall(MCL_FUTURE [| MCL_ONFAULT]) shows only in the areas mapped after
 * it.  When something is locked (VmLck > 0: it may have been called), one
 * page is mapped read-only and unmapped again: locked_vm grows with it iff
 * new areas are locked, and a locked page not present was locked on fault.
 * The only thing a dump maps in its target, and only in these; a vxdump
 * killed between the two calls leaves that page behind.  0 or -errno.
 */
static int remote_mlockall(struct inject *in, struct dump_task *t)
{
	long before = vm_locked_kb(t->pid), after, addr = 0, res;
	int ret;

	if (before <= 0)
		return 0;
	ret = rcall(in, &addr, SYS_mmap, 0, PAGE_LEN, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
	if (ret)
		return ret;
	if (addr == -EAGAIN) { /* locked, and over RLIMIT_MEMLOCK */
		t->rt.mlockall = VXCR_MCL_FUTURE;
		t->rt.mlockall_unknown = true;
		return 0;
	}
	if (addr < 0 && addr > -4096) {
		pr_warn("pid %d: cannot map a probe page: %s\n", t->pid, strerror(-addr));
		t->rt.mlockall_unknown = true;
		return 0;
	}
	after = vm_locked_kb(t->pid);
	if (after > before)
		t->rt.mlockall = VXCR_MCL_FUTURE |
				 (page_present(t->pid, addr) ? 0 : VXCR_MCL_ONFAULT);
	return rcall(in, &res, SYS_munmap, addr, PAGE_LEN, 0, 0);
}

#define MB_GET_REGISTRATIONS (1 << 9) /* MEMBARRIER_CMD_GET_REGISTRATIONS, 6.3 */
#define MB_PRIVATE_EXPEDITED (1 << 3)
#define MB_PRIVATE_EXPEDITED_SYNC_CORE (1 << 5)
#define MB_PRIVATE_EXPEDITED_RSEQ (1 << 7)

/*
 * The membarrier registrations of t's mm (no /proc view): asked with
 * MEMBARRIER_CMD_GET_REGISTRATIONS.  A kernel without it (< 6.3) is probed
 * with the private expedited commands, which fail with EPERM unless the mm
 * registered them (run while every thread is stopped, they are barriers
 * nobody waits for); a GLOBAL_EXPEDITED registration cannot be seen there.
 */
static int remote_membarrier(struct inject *in, struct dump_task *t)
{
	static const int probes[] = { MB_PRIVATE_EXPEDITED, MB_PRIVATE_EXPEDITED_SYNC_CORE,
				      MB_PRIVATE_EXPEDITED_RSEQ };
	long res = 0;
	size_t i;
	int ret;

	ret = rcall(in, &res, SYS_membarrier, MB_GET_REGISTRATIONS, 0, 0, 0);
	if (ret || res != -EINVAL) {
		t->rt.membarrier = res > 0 ? (uint32_t)res : 0; /* -ENOSYS: none */
		return ret;
	}
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		ret = rcall(in, &res, SYS_membarrier, probes[i], 0, 0, 0);
		if (ret)
			return ret;
		if (!res) /* registered: its REGISTER command is the next bit */
			t->rt.membarrier |= (uint32_t)probes[i] << 1;
	}
	return 0;
}

/* prctl/brk values returned directly; the rest land in the area. */
static int remote_process(struct inject *in, struct dump_task *t)
{
	long res = 0;
	int i, ret;

	ret = remote_sigactions(in, t);
	ret = ret ?: rcall(in, &res, SYS_brk, 0, 0, 0, 0);
	t->rt.brk = res;
	ret = ret ?: rcall(in, &res, SYS_prctl, PR_GET_SECUREBITS, 0, 0, 0);
	t->rt.securebits = res < 0 ? 0 : res;
	ret = ret ?: rcall(in, &res, SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0);
	t->rt.dumpable = res < 0 ? 0 : res;
	ret = ret ?: rcall(in, &res, SYS_prctl, PR_GET_THP_DISABLE, 0, 0, 0);
	t->rt.thp_disable = res > 0;
	ret = ret ?: rcall(in, &res, SYS_prctl, PR_GET_PDEATHSIG, SLOT(in, pdeath_sig), 0, 0);
	ret = ret   ?:
		      rcall(in, &res, SYS_prctl, PR_GET_CHILD_SUBREAPER, SLOT(in, child_subreaper),
			    0, 0);
	for (i = 0; i < 3 && !ret; i++)
		ret = rcall(in, &res, SYS_getitimer, i, SLOT(in, itimers[i]), 0, 0);
	return ret ?: remote_mlockall(in, t) ?: remote_membarrier(in, t);
}

static int remote_thread(struct inject *in, struct dump_thread *th)
{
	long res = 0;
	int ret;

	ret = rcall(in, &res, SYS_sigaltstack, 0, SLOT(in, altstack), 0, 0);
	ret = ret ?: rcall(in, &res, SYS_prctl, PR_GET_TID_ADDRESS, SLOT(in, tid_address), 0, 0);
	if (!ret && res)
		pr_warn("pid %d: PR_GET_TID_ADDRESS: %s\n", th->tid, strerror(-res));
	return ret;
}

static void take_process(const struct remote_area *a, struct dump_task *t)
{
	memcpy(t->rt.act, a->act, sizeof(t->rt.act));
	memcpy(t->rt.itimers, a->itimers, sizeof(t->rt.itimers));
	t->rt.pdeath_sig = a->pdeath_sig;
	t->rt.child_subreaper = a->child_subreaper != 0;
}

static void take_thread(const struct remote_area *a, struct dump_thread *th)
{
	th->rt.altstack_sp = a->altstack.sp;
	th->rt.altstack_flags = a->altstack.flags;
	th->rt.altstack_size = a->altstack.size;
	th->rt.clear_child_tid = a->tid_address;
}

/* Bytes for the timers' results after the area (all of them, or a batch). */
static size_t timer_area_len(const struct dump_task *t, bool leader, bool frame)
{
	size_t n = leader ? t->n_timers : 0;

	if (frame && n > TIMER_SLOTS)
		n = TIMER_SLOTS;
	return timers_area_len(n);
}

/* Scratch mapping size (fallback): the area, the timers, the recovery page. */
static size_t scratch_len(const struct dump_task *t, bool leader)
{
	return SCRATCH_LEN + ((timer_area_len(t, leader, false) + PAGE_LEN - 1) & ~(PAGE_LEN - 1));
}

/* The calls of one window: per process (leader) and per thread. */
static int remote_calls(struct inject *in, struct dump_task *t, struct dump_thread *th, bool leader)
{
	size_t area_len = timer_area_len(t, leader, in->frame != 0);
	int ret = 0;

	if (leader) {
		ret = cow_clean_stray(in, t); /* before the fds are read (cow.h) */
		ret = ret ?: remote_process(in, t);
		ret = ret ?: remote_timers(in, t, in->data + sizeof(struct remote_area), area_len);
		if (t->cow.want) /* a --leave-running snapshot's uffd (cow.h) */
			ret = ret ?: cow_inject_uffd(in, t);
	}
	return ret ?: remote_thread(in, th);
}

/* Runs the calls and takes their results out of the data area. */
static int remote_run(struct inject *in, struct dump_task *t, struct dump_thread *th, bool leader)
{
	struct remote_area area;
	int ret;

	ret = remote_calls(in, t, th, leader);
	if (!ret) {
		ret = inject_read(th->tid, in->data, &area, sizeof(area));
		if (ret)
			pr_err("pid %d (thread %d): cannot read the injected calls' results: %s\n",
			       t->pid, th->tid, strerror(-ret));
	}
	if (!ret && leader)
		take_process(&area, t);
	if (!ret)
		take_thread(&area, th);
	return ret;
}

/*
 * Fallback window (no sigreturn code or no stack room): an executable
 * scratch mapping whose mmap and munmap are not covered if we die.
 */
static int remote_run_scratch(struct inject *in, struct dump_task *t, struct dump_thread *th,
			      bool leader)
{
	int ret;

	ret = inject_map_scratch(in, scratch_len(t, leader));
	if (ret) {
		pr_err("pid %d (thread %d): cannot map the scratch area: %s\n", t->pid, th->tid,
		       strerror(-ret));
		return ret;
	}
	ret = remote_run(in, t, th, leader);
	if (inject_unmap_scratch(in) && !ret) {
		pr_err("pid %d (thread %d): cannot unmap the scratch area\n", t->pid, th->tid);
		ret = -EIO;
	}
	return ret;
}

/* Starts a window in th: frame mode when possible, else the fallback. */
static int window_init(struct inject *in, struct dump_task *t, struct dump_thread *th,
		       const struct remote_env *env, bool leader)
{
	size_t data_len = sizeof(struct remote_area) + timer_area_len(t, leader, true);
	int ret = -ENOENT;

	if (env->have_gadgets)
		ret = inject_init_frame(in, th->tid, env->g, env->vmas, th->xsave, th->xsave_len,
					data_len);
	if (ret == -ENOENT || ret == -ENOSPC) {
		pr_info("pid %d (thread %d): %s: injecting through a scratch mapping\n", t->pid,
			th->tid, ret == -ENOENT ? "no rt_sigreturn code" : "no stack room");
		ret = inject_init(in, th->tid, env->vdso_gadget);
	}
	if (ret)
		pr_err("pid %d (thread %d): cannot prepare syscall injection: %s\n", t->pid,
		       th->tid, strerror(-ret));
	return ret;
}

/* One injection window in thread th; its registers are put back. */
static int remote_window(struct dump_task *t, struct dump_thread *th, const struct remote_env *env,
			 bool leader)
{
	struct inject in;
	int ret, ret2;

	ret = window_init(&in, t, th, env, leader);
	if (ret)
		return ret;
	if (in.frame)
		ret = remote_run(&in, t, th, leader);
	else
		ret = remote_run_scratch(&in, t, th, leader);
	ret2 = inject_fini(&in);
	if (ret2 && !ret) {
		pr_err("pid %d (thread %d): cannot restore its registers: %s\n", t->pid, th->tid,
		       strerror(-ret2));
		ret = ret2;
	}
	return ret;
}

/* Reads t's maps and finds the gadgets (g may hold an earlier process's). */
static int remote_env_init(struct remote_env *env, struct dump_task *t, struct inject_gadgets *g)
{
	char *text = NULL;
	int ret;

	memset(env, 0, sizeof(*env));
	env->g = g;
	env->vmas = &env->vma_list;
	ret = proc_read_file(t->pid, "maps", &text, NULL);
	ret = ret ?: proc_parse_smaps(text, &env->vma_list);
	free(text);
	if (ret) {
		pr_err("pid %d: cannot read its memory map: %s\n", t->pid, strerror(-ret));
		return ret;
	}
	ret = test_skip("inject-frame") ? -ENOENT : inject_find_gadgets(t->pid, env->vmas, g);
	env->have_gadgets = !ret;
	if (ret && ret != -ENOENT)
		pr_warn("pid %d: looking for rt_sigreturn code: %s\n", t->pid, strerror(-ret));
	ret = inject_find_vdso_gadget(t->pid, &env->vdso_gadget);
	if (ret)
		pr_err("pid %d: no syscall instruction to inject with: %s\n", t->pid,
		       strerror(-ret));
	return ret;
}

/*
 * Runs the injection windows of frozen t: the per-process one in the
 * leader, then one per other thread.  0 or -errno (logged).
 */
int collect_remote(struct dump_op *op, struct dump_task *t)
{
	struct remote_env env;
	size_t i;
	int ret;

	ret = remote_env_init(&env, t, &op->gadgets);
	for (i = 0; !ret && i < t->n_threads; i++)
		ret = remote_window(t, &t->threads[i], &env, i == 0);
	proc_vma_list_free(&env.vma_list);
	return ret;
}
