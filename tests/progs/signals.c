/*
 * signals: dispositions (SA_SIGINFO, SA_RESTART, SA_ONSTACK, SA_RESETHAND,
 * SA_NODEFER, handler masks, SIG_IGN), sigaltstack, the blocked mask and
 * pending blocked signals queued with values.  After restore everything is
 * compared with what was there before, then the signals are unblocked and
 * must arrive with their values, in order, on the alternate stack.
 */
#include "prog.h"

#define NSIG_MAX 65

struct saved_action {
	int valid;
	void *handler;
	int flags;
	uint64_t mask;
};

static struct saved_action before[NSIG_MAX];
static stack_t alt;
static uint64_t blocked_before;

static volatile int usr2_count, usr2_value, usr2_code, usr2_pid, usr2_onstack;
static volatile int rt_count, rt_values[4];

static uint64_t set_bits(const sigset_t *s)
{
	uint64_t v;

	memcpy(&v, s, sizeof(v));
	return v;
}

static void on_usr2(int sig, siginfo_t *si, void *uc)
{
	char local;

	(void)sig, (void)uc;
	usr2_count++;
	usr2_value = si->si_value.sival_int;
	usr2_code = si->si_code;
	usr2_pid = si->si_pid;
	usr2_onstack = &local >= (char *)alt.ss_sp && &local < (char *)alt.ss_sp + alt.ss_size;
}

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	if (rt_count < 4)
		rt_values[rt_count] = si->si_value.sival_int;
	rt_count++;
}

static void on_pipe(int sig)
{
	(void)sig;
}

static void install(int sig, void *fn, int flags, int mask1, int mask2)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	if (mask1)
		sigaddset(&sa.sa_mask, mask1);
	if (mask2)
		sigaddset(&sa.sa_mask, mask2);
	if (sigaction(sig, &sa, NULL))
		prog_fail("sigaction %d: %s", sig, strerror(errno));
}

static void snapshot(struct saved_action *out)
{
	struct sigaction sa;
	int sig;

	for (sig = 1; sig < NSIG_MAX; sig++) {
		memset(&out[sig], 0, sizeof(out[sig]));
		if (sigaction(sig, NULL, &sa))
			continue;
		out[sig].valid = 1;
		out[sig].handler = (void *)sa.sa_sigaction;
		out[sig].flags = sa.sa_flags & ~0x04000000;	/* SA_RESTORER */
		out[sig].mask = set_bits(&sa.sa_mask);
	}
}

static void setup(void)
{
	union sigval v;
	sigset_t set;

	alt.ss_size = 64 * 1024;
	alt.ss_sp = malloc(alt.ss_size);
	alt.ss_flags = 0;
	if (!alt.ss_sp || sigaltstack(&alt, NULL))
		prog_fail("sigaltstack: %s", strerror(errno));
	install(SIGUSR2, on_usr2, SA_SIGINFO | SA_RESTART | SA_ONSTACK, SIGHUP, SIGWINCH);
	install(SIGRTMIN + 3, on_rt, SA_SIGINFO, SIGTERM, 0);
	install(SIGPIPE, on_pipe, SA_RESETHAND | SA_NODEFER, 0, 0);
	signal(SIGHUP, SIG_IGN);
	signal(SIGWINCH, SIG_IGN);

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGRTMIN + 3);
	sigaddset(&set, SIGQUIT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	v.sival_int = 0x1234;
	if (sigqueue(getpid(), SIGUSR2, v))
		prog_fail("sigqueue: %s", strerror(errno));
	v.sival_int = 77;
	sigqueue(getpid(), SIGRTMIN + 3, v);
	v.sival_int = 78;
	sigqueue(getpid(), SIGRTMIN + 3, v);
	snapshot(before);
	sigprocmask(SIG_SETMASK, NULL, &set);
	blocked_before = set_bits(&set);
}

static void check_state(void)
{
	struct saved_action after[NSIG_MAX];
	stack_t cur;
	sigset_t set;
	int sig;

	snapshot(after);
	for (sig = 1; sig < NSIG_MAX; sig++) {
		CHECK(before[sig].valid == after[sig].valid, "signal %d: query differs", sig);
		CHECK(before[sig].handler == after[sig].handler, "signal %d: handler %p, was %p",
		      sig, after[sig].handler, before[sig].handler);
		CHECK(before[sig].flags == after[sig].flags, "signal %d: flags %#x, was %#x",
		      sig, after[sig].flags, before[sig].flags);
		CHECK(before[sig].mask == after[sig].mask, "signal %d: mask %#llx, was %#llx",
		      sig, (unsigned long long)after[sig].mask, (unsigned long long)before[sig].mask);
	}
	CHECK(sigaltstack(NULL, &cur) == 0 && cur.ss_sp == alt.ss_sp &&
	      cur.ss_size == alt.ss_size && cur.ss_flags == 0,
	      "sigaltstack %p/%zu/%d, was %p/%zu", cur.ss_sp, cur.ss_size, cur.ss_flags,
	      alt.ss_sp, alt.ss_size);
	sigprocmask(SIG_SETMASK, NULL, &set);
	CHECK(set_bits(&set) == blocked_before, "blocked mask %#llx, was %#llx",
	      (unsigned long long)set_bits(&set), (unsigned long long)blocked_before);
	sigpending(&set);
	CHECK(sigismember(&set, SIGUSR2), "SIGUSR2 no longer pending");
	CHECK(sigismember(&set, SIGRTMIN + 3), "SIGRTMIN+3 no longer pending");
	CHECK(!sigismember(&set, SIGQUIT), "SIGQUIT pending but never sent");
	CHECK(usr2_count == 0 && rt_count == 0, "blocked signals delivered early");
}

static void check_delivery(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGRTMIN + 3);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	CHECK(usr2_count == 1, "SIGUSR2 delivered %d times", usr2_count);
	CHECK(usr2_value == 0x1234, "SIGUSR2 value %#x", usr2_value);
	CHECK(usr2_code == SI_QUEUE, "SIGUSR2 si_code %d", usr2_code);
	CHECK(usr2_pid == getpid(), "SIGUSR2 si_pid %d, pid %d", usr2_pid, getpid());
	CHECK(usr2_onstack, "SIGUSR2 handler not on the alternate stack");
	CHECK(rt_count == 2, "SIGRTMIN+3 delivered %d times", rt_count);
	CHECK(rt_values[0] == 77 && rt_values[1] == 78, "SIGRTMIN+3 values %d,%d",
	      rt_values[0], rt_values[1]);
}

int main(int argc, char **argv)
{
	prog_init(argc, argv, "signals");
	setup();
	prog_ready();
	prog_wait_go();
	check_state();
	check_delivery();
	prog_finish();
}
