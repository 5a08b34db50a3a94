/*
 * sigtrap: a SIGTRAP handler (SA_SIGINFO) that counts, hit by int3
 * instructions and raise(SIGTRAP) in a loop that runs before, during and
 * after the dump; a SIGTRAP from tgkill left pending while blocked.  After
 * restore the handler must still be installed with its flags and mask,
 * the pending SIGTRAP must arrive once unblocked, and int3 must keep
 * reaching the handler (before the fix: the restorer's own int3 stops reset
 * the disposition to SIG_DFL and the program died of SIGTRAP).
 */
#include "prog.h"
#include <sys/syscall.h>

static volatile sig_atomic_t traps, kernel_traps, user_traps, pending_seen;

static void on_trap(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	traps++;
	if (si->si_code == SI_KERNEL)
		kernel_traps++;
	else if (si->si_code == SI_TKILL && si->si_value.sival_int == 0)
		user_traps++;
	if (si->si_code == SI_TKILL && si->si_pid == getpid() && pending_seen >= 0)
		pending_seen++;
}

static void round_of_traps(void)
{
	__asm__ volatile("int3" ::: "memory");
	raise(SIGTRAP);
}

static void check_action(void)
{
	struct sigaction sa;

	CHECK(!sigaction(SIGTRAP, NULL, &sa), "sigaction: %s", strerror(errno));
	CHECK(sa.sa_sigaction == on_trap, "SIGTRAP handler is %p, not %p",
	      (void *)sa.sa_sigaction, (void *)on_trap);
	CHECK(sa.sa_flags & SA_SIGINFO, "SIGTRAP flags %#x lack SA_SIGINFO", sa.sa_flags);
	CHECK(sa.sa_flags & SA_RESTART, "SIGTRAP flags %#x lack SA_RESTART", sa.sa_flags);
	CHECK(sigismember(&sa.sa_mask, SIGUSR2), "SIGTRAP handler mask lost SIGUSR2");
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	sigset_t trap, usr1;
	unsigned long k0, u0, rounds = 0;

	prog_init(argc, argv, "sigtrap");
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_trap;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	if (sigaction(SIGTRAP, &sa, NULL))
		prog_fail("sigaction: %s", strerror(errno));
	round_of_traps();
	if (traps != 2 || kernel_traps != 1)
		prog_fail("setup: %d traps, %d from int3", (int)traps, (int)kernel_traps);
	check_action();
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &usr1, NULL);
	prog_ready();
	while (!prog_go) {
		round_of_traps();
		rounds++;
	}
	/* after restore: a SIGTRAP queued while blocked must arrive once */
	sigemptyset(&trap);
	sigaddset(&trap, SIGTRAP);
	k0 = kernel_traps;
	u0 = user_traps;
	check_action();
	sigprocmask(SIG_BLOCK, &trap, NULL);
	pending_seen = 0;
	syscall(SYS_tgkill, getpid(), gettid(), SIGTRAP);
	sigprocmask(SIG_UNBLOCK, &trap, NULL);
	CHECK(pending_seen == 1, "the blocked SIGTRAP arrived %d times", (int)pending_seen);
	for (int i = 0; i < 1000; i++)
		round_of_traps();
	CHECK(kernel_traps - k0 == 1000, "%lu int3 traps of 1000 reached the handler",
	      (unsigned long)(kernel_traps - k0));
	CHECK(user_traps - u0 >= 1000, "%lu raised traps of 1000 reached the handler",
	      (unsigned long)(user_traps - u0));
	check_action();
	CHECK(rounds > 0, "the trap loop did not run");
	prog_finish();
}
