/*
 * Target of the in-kernel checkpoint tests (k-ckpt-*.sh).
 *
 *   kckpt-prog OUTFILE loop MAPFILE
 *	sets up memory (a pattern in an anonymous area, the heap, the stack,
 *	a private mapping of MAPFILE with one page written), signal state
 *	(SIGUSR1 blocked and pending, a SIGUSR2 handler with SA_RESTART and
 *	a mask, SIGINT ignored), says "ready", then spins in a loop with
 *	known values in r12-r15 and xmm0 until SIGUSR2 ends it; then checks
 *	all of it and says PASS or FAIL.  The test stops it mid-loop, dumps
 *	it with task_dump and restores it.
 *   kckpt-prog OUTFILE self IMAGE [FLAGS]
 *	sets up memory, calls vmad_dump (vserver(), libvxcr) into IMAGE and
 *	says "dumped N" (the byte count) or, in a copy restored from IMAGE,
 *	"restored" (the call returned 0); checks its memory, says PASS/FAIL.
 *   kckpt-prog OUTFILE threads | seccomp | mntns
 *	a second thread, a seccomp filter, or a mount namespace of its own,
 *	then "ready" and waits (task_dump refuses each).
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/time.h>

#include "prog.h"
#include "vxcr/vserver.h"

#define ANON_PAGES 200	 /* more than one PAGES record of the module (64 pages) */
#define ANON_UNTOUCHED 5 /* never written: reads zero */
#define ANON_ZEROED 7	 /* written with zeros */
#define HEAP_BYTES 100000
#define STACK_BYTES 8192
#define MAP_PAGES 3
#define PG 4096

static volatile int spin_done;
static volatile int usr2_seen;

static void on_usr2(int sig)
{
	(void)sig;
	usr2_seen = 1;
	spin_done = 1;
}

struct mem {
	unsigned char *anon, *heap, *map;
};

static void mem_setup(struct mem *m, const char *mapfile)
{
	char page[PG];
	int i, fd;

	m->anon = mmap(NULL, ANON_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (m->anon == MAP_FAILED)
		prog_fail("mmap: %s", strerror(errno));
	for (i = 0; i < ANON_PAGES; i++)
		if (i != ANON_UNTOUCHED && i != ANON_ZEROED)
			prog_fill(m->anon + i * PG, PG, 100 + i);
	memset(m->anon + ANON_ZEROED * PG, 0, PG);
	m->heap = malloc(HEAP_BYTES);
	if (!m->heap)
		prog_fail("malloc");
	prog_fill(m->heap, HEAP_BYTES / 8 * 8, 7);
	m->map = NULL;
	if (!mapfile)
		return;
	fd = open(mapfile, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		prog_fail("%s: %s", mapfile, strerror(errno));
	for (i = 0; i < MAP_PAGES; i++) {
		memset(page, 'A' + i, PG);
		if (write(fd, page, PG) != PG)
			prog_fail("write %s", mapfile);
	}
	m->map = mmap(NULL, MAP_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m->map == MAP_FAILED)
		prog_fail("mmap %s: %s", mapfile, strerror(errno));
	memset(m->map + PG, 'Z', PG); /* copied on write: in the image */
}

static void mem_check(const struct mem *m, const unsigned char *stack)
{
	long bad;
	int i;

	for (i = 0; i < ANON_PAGES; i++) {
		if (i == ANON_UNTOUCHED || i == ANON_ZEROED) {
			CHECK(!m->anon[i * PG] &&
				      !memcmp(m->anon + i * PG, m->anon + i * PG + 1, PG - 1),
			      "anonymous page %d is not zero", i);
			continue;
		}
		bad = prog_verify(m->anon + i * PG, PG, 100 + i);
		CHECK(bad < 0, "anonymous page %d differs at word %ld", i, bad);
	}
	bad = prog_verify(m->heap, HEAP_BYTES / 8 * 8, 7);
	CHECK(bad < 0, "heap differs at word %ld", bad);
	bad = prog_verify(stack, STACK_BYTES, 9);
	CHECK(bad < 0, "stack differs at word %ld", bad);
	for (i = 0; m->map && i < MAP_PAGES; i++) {
		unsigned char want = i == 1 ? 'Z' : 'A' + i;

		CHECK(m->map[i * PG] == want && m->map[i * PG + PG - 1] == want,
		      "mapped file page %d: %c, want %c", i, m->map[i * PG], want);
	}
}

/* An ITIMER_REAL far away: it must come back armed, with less time left. */
static const struct itimerval alarm_set = { { 500, 0 }, { 1000, 0 } };

static void sig_setup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGHUP);
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGUSR2, &sa, NULL))
		prog_fail("sigaction: %s", strerror(errno));
	signal(SIGINT, SIG_IGN);
	raise(SIGUSR1); /* blocked by prog_init: stays pending */
	if (setitimer(ITIMER_REAL, &alarm_set, NULL))
		prog_fail("setitimer: %s", strerror(errno));
}

static void sig_check(void)
{
	struct itimerval it;
	struct sigaction sa;
	sigset_t set;

	CHECK(!sigaction(SIGUSR2, NULL, &sa) && sa.sa_handler == on_usr2 &&
		      (sa.sa_flags & SA_RESTART) && sigismember(&sa.sa_mask, SIGHUP),
	      "SIGUSR2's action was not restored");
	CHECK(!sigaction(SIGINT, NULL, &sa) && sa.sa_handler == SIG_IGN, "SIGINT not ignored");
	sigprocmask(SIG_SETMASK, NULL, &set);
	CHECK(sigismember(&set, SIGUSR1), "SIGUSR1 not blocked");
	CHECK(!sigpending(&set) && sigismember(&set, SIGUSR1), "SIGUSR1 not pending");
	CHECK(usr2_seen, "the SIGUSR2 handler did not run");
	memset(&it, 0, sizeof(it));
	getitimer(ITIMER_REAL, &it);
	CHECK(it.it_interval.tv_sec == 500 && it.it_value.tv_sec > 900 &&
		      it.it_value.tv_sec <= 1000,
	      "ITIMER_REAL: %ld s left, period %ld s", (long)it.it_value.tv_sec,
	      (long)it.it_interval.tv_sec);
}

#define R12 0x1122334455667788UL
#define R13 0x2233445566778899UL
#define R14 0x33445566778899aaUL
#define R15 0x445566778899aabbUL

/*
 * Spins with R12..R15 in r12..r15 and R12 in xmm0 until SIGUSR2; returns
 * what those registers held when it ended, and the loop count in out[5].
 */
static void spin(unsigned long out[6])
{
	__asm__ volatile("movabs %[a], %%r12\n\t"
			 "movabs %[b], %%r13\n\t"
			 "movabs %[c], %%r14\n\t"
			 "movabs %[d], %%r15\n\t"
			 "movq %%r12, %%xmm0\n\t"
			 "xorl %%ebx, %%ebx\n"
			 "1:\n\t"
			 "incq %%rbx\n\t"
			 "pause\n\t"
			 "cmpl $0, %[done]\n\t"
			 "je 1b\n\t"
			 "movq %%r12, 0(%[o])\n\t"
			 "movq %%r13, 8(%[o])\n\t"
			 "movq %%r14, 16(%[o])\n\t"
			 "movq %%r15, 24(%[o])\n\t"
			 "movq %%xmm0, %%rax\n\t"
			 "movq %%rax, 32(%[o])\n\t"
			 "movq %%rbx, 40(%[o])\n\t"
			 :
			 : [a] "i"(R12), [b] "i"(R13), [c] "i"(R14), [d] "i"(R15),
			   [done] "m"(spin_done), [o] "r"(out)
			 : "r12", "r13", "r14", "r15", "rbx", "rax", "xmm0", "memory", "cc");
}

static int run_loop(const char *mapfile)
{
	unsigned char stack[STACK_BYTES];
	unsigned long regs[6];
	struct mem m;

	prog_fill(stack, sizeof(stack), 9);
	mem_setup(&m, mapfile);
	sig_setup();
	prog_ready();
	spin(regs);
	CHECK(regs[0] == R12 && regs[1] == R13 && regs[2] == R14 && regs[3] == R15,
	      "r12-r15 changed: %lx %lx %lx %lx", regs[0], regs[1], regs[2], regs[3]);
	CHECK(regs[4] == R12, "xmm0 changed: %lx", regs[4]);
	mem_check(&m, stack);
	sig_check();
	prog_finish();
}

static int run_self(const char *image, unsigned int flags)
{
	unsigned char stack[STACK_BYTES];
	struct vcmd_vmad_dump_v0 a = { 0 };
	volatile unsigned long mark = R13;
	struct mem m;
	long ret;
	int fd;

	prog_fill(stack, sizeof(stack), 9);
	mem_setup(&m, NULL);
	fd = open(image, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		prog_fail("%s: %s", image, strerror(errno));
	a.fd = fd;
	a.flags = flags;
	ret = vserver(VCMD_vmad_dump, 0, &a);
	if (ret < 0)
		prog_fail("vmad_dump: %s", strerror((int)-ret));
	if (ret > 0) {
		close(fd);
		prog_say("dumped %ld\n", ret);
	} else {
		prog_say("restored\n");
	}
	CHECK(mark == R13, "a local changed: %lx", mark);
	mem_check(&m, stack);
	prog_finish();
}

static void *thread_wait(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/* A filter that allows every call: task_dump refuses the task anyway. */
static void allow_all_filter(void)
{
	struct sock_filter insn = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog fprog = { 1, &insn };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog))
		prog_fail("seccomp: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	pthread_t t;

	prog_init(argc, argv, "kckpt-prog");
	if (argc == 4 && !strcmp(argv[2], "loop"))
		return run_loop(argv[3]);
	if ((argc == 4 || argc == 5) && !strcmp(argv[2], "self"))
		return run_self(argv[3], argc == 5 ? strtoul(argv[4], NULL, 0) : 0);
	if (argc == 3 && !strcmp(argv[2], "threads")) {
		if (pthread_create(&t, NULL, thread_wait, NULL))
			prog_fail("pthread_create");
		prog_ready();
		thread_wait(NULL);
	}
	if (argc == 3 && !strcmp(argv[2], "seccomp")) {
		allow_all_filter();
		prog_ready();
		thread_wait(NULL);
	}
	if (argc == 3 && !strcmp(argv[2], "mntns")) {
		if (unshare(CLONE_NEWNS))
			prog_fail("unshare: %s", strerror(errno));
		prog_ready();
		thread_wait(NULL);
	}
	fprintf(stderr,
		"usage: kckpt-prog OUTFILE loop MAPFILE | self IMAGE [FLAGS] | threads | seccomp | mntns\n");
	return 2;
}
