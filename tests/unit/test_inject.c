/*
 * Syscall injection against real processes: results of injected calls, the
 * target's state after inject_fini, and a tracer killed in the middle of an
 * injected call leaving the target running unharmed.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "util/inject.h"
#include "proc/proc.h"
#ifndef PTRACE_SETSIGMASK
#define PTRACE_SETSIGMASK 0x420b
#endif

static volatile unsigned long *counter;

static void usr1(int sig) { (void)sig; }

/* Target: counts in shared memory, sleeping 1 ms in nanosleep between steps. */
static pid_t start_target(int blocked_sig)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct timespec ts = { 0, 1000000 };
		struct sigaction sa = { .sa_handler = usr1, .sa_flags = SA_RESTART };
		sigset_t s;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sigaction(SIGUSR1, &sa, NULL);
		sigemptyset(&s);
		sigaddset(&s, blocked_sig);
		sigprocmask(SIG_SETMASK, &s, NULL);
		for (;;) {
			(*counter)++;
			nanosleep(&ts, NULL);
		}
	}
	return pid;
}

static unsigned long counter_after(int ms)
{
	unsigned long a = *counter;

	usleep(ms * 1000);
	return *counter - a;
}

static int seize_stop(pid_t pid)
{
	int st;

	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) || ptrace(PTRACE_INTERRUPT, pid, NULL, NULL))
		return -1;
	if (waitpid(pid, &st, __WALL) != pid || !WIFSTOPPED(st))
		return -1;
	return 0;
}

static void end_target(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Reads SigBlk from /proc/PID/status. */
static unsigned long long sigblk(pid_t pid)
{
	char path[64], line[256];
	unsigned long long v = ~0ull;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return v;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SigBlk: %llx", &v) == 1)
			break;
	fclose(f);
	return v;
}

static void test_regs_resume_form(void)
{
	struct user_regs_struct r = { 0 };

	r.orig_rax = SYS_read; r.rax = (unsigned long)-512; r.rip = 0x1002;
	CU_ASSERT_TRUE(regs_to_resume_form(&r, false));
	CU_ASSERT_EQUAL(r.rax, SYS_read);
	CU_ASSERT_EQUAL(r.rip, 0x1000);
	CU_ASSERT_EQUAL((long)r.orig_rax, -1);
	r.orig_rax = SYS_nanosleep; r.rax = (unsigned long)-516; r.rip = 0x2002;
	CU_ASSERT_TRUE(regs_to_resume_form(&r, true));
	CU_ASSERT_EQUAL(r.rax, SYS_restart_syscall);
	r.orig_rax = SYS_nanosleep; r.rax = (unsigned long)-516; r.rip = 0x2002;
	CU_ASSERT_TRUE(regs_to_resume_form(&r, false));
	CU_ASSERT_EQUAL(r.rax, SYS_nanosleep);
	r.orig_rax = SYS_read; r.rax = 5;
	CU_ASSERT_FALSE(regs_to_resume_form(&r, false));
	r.orig_rax = (unsigned long)-1; r.rax = (unsigned long)-512;
	CU_ASSERT_FALSE(regs_to_resume_form(&r, false));
}

static void test_inject_calls(void)
{
	pid_t pid = start_target(SIGUSR2);
	struct inject in;
	uint64_t gadget, act[4];
	unsigned long long blk;
	long r;

	usleep(20000);
	blk = sigblk(pid);
	CU_ASSERT_EQUAL(blk, 1ull << (SIGUSR2 - 1));
	CU_ASSERT_EQUAL_FATAL(seize_stop(pid), 0);
	CU_ASSERT_EQUAL_FATAL(inject_find_vdso_gadget(pid, &gadget), 0);
	CU_ASSERT_EQUAL_FATAL(inject_init(&in, pid, gadget), 0);
	CU_ASSERT_EQUAL(inject_call(&in, SYS_getpid, 0, 0, 0, 0, 0, 0), pid);
	CU_ASSERT_EQUAL_FATAL(inject_map_scratch(&in, 16 * 4096), 0);
	r = inject_call(&in, SYS_rt_sigaction, SIGUSR1, 0, in.scratch + 4096, 8, 0, 0);
	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT_EQUAL(inject_read(pid, in.scratch + 4096, act, sizeof(act)), 0);
	CU_ASSERT_EQUAL(act[0], (uint64_t)usr1);	/* same binary, same address */
	CU_ASSERT(act[1] & SA_RESTART);
	CU_ASSERT_EQUAL(inject_call(&in, SYS_getppid, 0, 0, 0, 0, 0, 0), getpid());
	CU_ASSERT(in.calls >= 4);
	CU_ASSERT_EQUAL(inject_unmap_scratch(&in), 0);
	CU_ASSERT_EQUAL(inject_fini(&in), 0);
	CU_ASSERT_EQUAL(ptrace(PTRACE_DETACH, pid, NULL, NULL), 0);
	CU_ASSERT(counter_after(100) > 10);
	CU_ASSERT_EQUAL(sigblk(pid), blk);
	CU_ASSERT_EQUAL(kill(pid, 0), 0);
	end_target(pid);
}

/* pid's maps, parsed (the caller frees). */
static void read_maps(pid_t pid, struct proc_vma_list *l, char **text)
{
	memset(l, 0, sizeof(*l));
	CU_ASSERT_EQUAL_FATAL(proc_read_file(pid, "maps", text, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(proc_parse_smaps(*text, l), 0);
}

/* Frame mode: calls work, nothing is left behind, the stack is put back. */
static void test_frame_calls(void)
{
	pid_t pid = start_target(SIGUSR2);
	struct inject_gadgets g = { 0 };
	struct proc_vma_list l;
	char *before, *after;
	struct inject in;
	uint64_t act[4];

	usleep(20000);
	CU_ASSERT_EQUAL_FATAL(seize_stop(pid), 0);
	read_maps(pid, &l, &before);
	CU_ASSERT_EQUAL_FATAL(inject_find_gadgets(pid, &l, &g), 0);
	CU_ASSERT_EQUAL_FATAL(inject_init_frame(&in, pid, &g, &l, NULL, 0, 4096), 0);
	CU_ASSERT(in.frame > in.data);
	CU_ASSERT_EQUAL(inject_call(&in, SYS_getpid, 0, 0, 0, 0, 0, 0), pid);
	CU_ASSERT_EQUAL(inject_call(&in, SYS_rt_sigaction, SIGUSR1, 0, in.data, 8, 0, 0), 0);
	CU_ASSERT_EQUAL(inject_read(pid, in.data, act, sizeof(act)), 0);
	CU_ASSERT_EQUAL(act[0], (uint64_t)usr1);
	CU_ASSERT_EQUAL(sigblk(pid), ~0ull & ~((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1))));
	CU_ASSERT_EQUAL(inject_fini(&in), 0);
	CU_ASSERT_EQUAL(ptrace(PTRACE_DETACH, pid, NULL, NULL), 0);
	CU_ASSERT(counter_after(100) > 10);
	CU_ASSERT_EQUAL(sigblk(pid), 1ull << (SIGUSR2 - 1));
	CU_ASSERT_EQUAL(proc_read_file(pid, "maps", &after, NULL), 0);
	CU_ASSERT_STRING_EQUAL(after, before);
	free(before);
	free(after);
	proc_vma_list_free(&l);
	end_target(pid);
}

/* In the tracer: runs getpid from the gadget, stops at its entry (or exit), dies. */
static void die_in_call(struct inject *in, int at_exit)
{
	struct user_regs_struct regs = in->saved;
	uint64_t all = ~0ull;
	int st;

	regs.rip = in->gadget;
	if (in->frame)
		regs.rsp = in->frame;
	regs.rax = SYS_getpid;
	regs.orig_rax = (unsigned long)-1;
	ptrace(PTRACE_SETREGS, in->tid, NULL, &regs);
	ptrace(PTRACE_SETSIGMASK, in->tid, sizeof(all), &all);
	ptrace(PTRACE_SYSCALL, in->tid, NULL, NULL);
	waitpid(in->tid, &st, __WALL);
	if (at_exit) {
		ptrace(PTRACE_SYSCALL, in->tid, NULL, NULL);
		waitpid(in->tid, &st, __WALL);
	}
	raise(SIGKILL);
}

/* Tracer process: seizes, prepares scratch or frame mode, dies mid-call. */
static void tracer_dies_mid_call(pid_t pid, int at_exit, int frame)
{
	struct inject_gadgets g = { 0 };
	struct proc_vma_list l;
	struct inject in;
	uint64_t gadget;
	char *text;

	if (seize_stop(pid))
		_exit(3);
	if (frame && (proc_read_file(pid, "maps", &text, NULL) || proc_parse_smaps(text, &l) ||
		      inject_find_gadgets(pid, &l, &g) ||
		      inject_init_frame(&in, pid, &g, &l, NULL, 0, 4096)))
		_exit(3);
	if (!frame && (inject_find_vdso_gadget(pid, &gadget) || inject_init(&in, pid, gadget) ||
		       inject_map_scratch(&in, 16 * 4096)))
		_exit(3);
	die_in_call(&in, at_exit);
}

/* The target keeps running with its mask; in frame mode nothing is mapped. */
static void check_tracer_death(int at_exit, int frame)
{
	pid_t pid = start_target(SIGUSR2), t;
	char *before, *after;
	int st;

	usleep(20000);
	CU_ASSERT_EQUAL_FATAL(proc_read_file(pid, "maps", &before, NULL), 0);
	t = fork();
	if (t == 0)
		tracer_dies_mid_call(pid, at_exit, frame);
	waitpid(t, &st, 0);
	CU_ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	CU_ASSERT(counter_after(150) > 10);
	CU_ASSERT_EQUAL(sigblk(pid), 1ull << (SIGUSR2 - 1));
	CU_ASSERT_EQUAL(waitpid(pid, &st, WNOHANG), 0);	/* still alive */
	CU_ASSERT_EQUAL(proc_read_file(pid, "maps", &after, NULL), 0);
	if (frame)
		CU_ASSERT_STRING_EQUAL(after, before);
	free(before);
	free(after);
	end_target(pid);
}

static void test_tracer_killed_at_entry(void) { check_tracer_death(0, 0); }
static void test_tracer_killed_at_exit(void) { check_tracer_death(1, 0); }
static void test_frame_killed_at_entry(void) { check_tracer_death(0, 1); }
static void test_frame_killed_at_exit(void) { check_tracer_death(1, 1); }

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("inject", NULL, NULL);
	CU_add_test(s, "resume form of interrupted syscalls", test_regs_resume_form);
	CU_add_test(s, "injected calls and clean release", test_inject_calls);
	CU_add_test(s, "tracer killed at syscall entry", test_tracer_killed_at_entry);
	CU_add_test(s, "tracer killed at syscall exit", test_tracer_killed_at_exit);
	CU_add_test(s, "frame mode: calls, nothing left", test_frame_calls);
	CU_add_test(s, "frame mode: tracer killed at entry", test_frame_killed_at_entry);
	CU_add_test(s, "frame mode: tracer killed at exit", test_frame_killed_at_exit);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
