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

/* Tracer process: seizes, maps scratch, stops the target at the entry of an
 * injected call, then dies. */
static void tracer_dies_mid_call(pid_t pid, int at_exit)
{
	struct user_regs_struct regs;
	struct inject in;
	uint64_t gadget;
	int st;

	if (seize_stop(pid) || inject_find_vdso_gadget(pid, &gadget) ||
	    inject_init(&in, pid, gadget) || inject_map_scratch(&in, 16 * 4096))
		_exit(3);
	regs = in.saved;
	regs.rip = in.gadget;
	regs.rax = SYS_getpid;
	regs.orig_rax = (unsigned long)-1;
	ptrace(PTRACE_SETREGS, pid, NULL, &regs);
	ptrace(PTRACE_SYSCALL, pid, NULL, NULL);
	waitpid(pid, &st, __WALL);
	if (at_exit) {
		ptrace(PTRACE_SYSCALL, pid, NULL, NULL);
		waitpid(pid, &st, __WALL);
	}
	raise(SIGKILL);
}

static void check_tracer_death(int at_exit)
{
	pid_t pid = start_target(SIGUSR2), t;
	int st;

	usleep(20000);
	t = fork();
	if (t == 0)
		tracer_dies_mid_call(pid, at_exit);
	waitpid(t, &st, 0);
	CU_ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	CU_ASSERT(counter_after(150) > 10);
	CU_ASSERT_EQUAL(sigblk(pid), 1ull << (SIGUSR2 - 1));
	CU_ASSERT_EQUAL(waitpid(pid, &st, WNOHANG), 0);	/* still alive */
	end_target(pid);
}

static void test_tracer_killed_at_entry(void) { check_tracer_death(0); }
static void test_tracer_killed_at_exit(void) { check_tracer_death(1); }

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
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
