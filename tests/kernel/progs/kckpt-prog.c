/*
 * Target of the in-kernel checkpoint tests (k-ckpt-*.sh).
 *
 *   kckpt-prog OUTFILE loop MAPFILE
 *	sets up memory (a pattern in an anonymous area, both ends of a
 *	sparse 256 MiB one, the heap, the stack,
 *	a private mapping of MAPFILE with one page written), signal state
 *	(SIGUSR1 blocked and pending, a SIGUSR2 handler with SA_RESTART and
 *	a mask, SIGINT ignored), says "ready", then spins in a loop with
 *	known values in r12-r15 and xmm0 until SIGUSR2 ends it; then checks
 *	all of it and says PASS or FAIL.  The test stops it mid-loop, dumps
 *	it with task_dump and restores it.
 *   kckpt-prog OUTFILE mthreads MAPFILE
 *	the same with a second thread spinning with other values in its
 *	registers and SIGHUP blocked too (its own mask).
 *   kckpt-prog OUTFILE self IMAGE [FLAGS]
 *	sets up memory, calls vmad_dump (vserver(), libvxcr) into IMAGE and
 *	says "dumped N" (the byte count) or, in a copy restored from IMAGE,
 *	"restored" (the call returned 0); checks its memory and MXCSR (set
 *	to round toward zero before the call: the FPU state a self-dump
 *	saves live), says PASS/FAIL.
 *   kckpt-prog OUTFILE self-threads IMAGE
 *	self with a second thread: vmad_dump refuses it (FAIL ... ENOTTY).
 *   kckpt-prog OUTFILE sparse GIB
 *	an anonymous area of GIB GiB touched at both ends (slow to walk),
 *	then "ready" and waits.
 *   kckpt-prog OUTFILE threads | seccomp | mntns
 *	a second thread, a seccomp filter, or a mount namespace of its own,
 *	then "ready" and waits (task_dump refuses the last two).
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
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

#define SPARSE_BYTES (256UL << 20) /* touched at both ends only */

struct mem {
	unsigned char *anon, *heap, *map, *sparse;
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
	m->sparse = mmap(NULL, SPARSE_BYTES, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->sparse == MAP_FAILED)
		prog_fail("mmap sparse: %s", strerror(errno));
	prog_fill(m->sparse, PG, 11);
	prog_fill(m->sparse + SPARSE_BYTES - PG, PG, 12);
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
	bad = prog_verify(m->sparse, PG, 11);
	CHECK(bad < 0, "sparse area's first page differs at word %ld", bad);
	bad = prog_verify(m->sparse + SPARSE_BYTES - PG, PG, 12);
	CHECK(bad < 0, "sparse area's last page differs at word %ld", bad);
	CHECK(!m->sparse[SPARSE_BYTES / 2], "sparse area's middle is not zero");
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
 * Spins with in[0..3] in r12..r15 and in[0] in xmm0 until SIGUSR2; returns
 * what those registers held when it ended, and the loop count in out[5].
 */
static void spin(const unsigned long in[4], unsigned long out[6])
{
	__asm__ volatile("movq 0(%[i]), %%r12\n\t"
			 "movq 8(%[i]), %%r13\n\t"
			 "movq 16(%[i]), %%r14\n\t"
			 "movq 24(%[i]), %%r15\n\t"
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
			 : [i] "r"(in), [done] "m"(spin_done), [o] "r"(out)
			 : "r12", "r13", "r14", "r15", "rbx", "rax", "xmm0", "memory", "cc");
}

/* out (spin's) matches in; what differs is recorded as a failure. */
static void spin_check(const char *who, const unsigned long in[4], const unsigned long out[6])
{
	CHECK(out[0] == in[0] && out[1] == in[1] && out[2] == in[2] && out[3] == in[3],
	      "%s: r12-r15 changed: %lx %lx %lx %lx", who, out[0], out[1], out[2], out[3]);
	CHECK(out[4] == in[0], "%s: xmm0 changed: %lx", who, out[4]);
}

static const unsigned long main_regs[4] = { R12, R13, R14, R15 };
static const unsigned long thread_regs[4] = { ~R12, ~R13, ~R14, ~R15 };
static unsigned long thread_out[6];

/* The second thread of mthreads: its own registers, SIGHUP blocked too. */
static void *spin_thread(void *arg)
{
	sigset_t set, now;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	spin(thread_regs, thread_out);
	pthread_sigmask(SIG_SETMASK, NULL, &now);
	CHECK(sigismember(&now, SIGHUP) && sigismember(&now, SIGUSR1),
	      "the second thread's mask was not restored");
	return NULL;
}

/* loop, or mthreads: the same with a second thread spinning too. */
static int run_loop(const char *mapfile, bool threads)
{
	unsigned char stack[STACK_BYTES];
	unsigned long regs[6];
	sigset_t now;
	pthread_t t;
	struct mem m;

	prog_fill(stack, sizeof(stack), 9);
	mem_setup(&m, mapfile);
	sig_setup();
	if (threads && pthread_create(&t, NULL, spin_thread, NULL))
		prog_fail("pthread_create");
	prog_ready();
	spin(main_regs, regs);
	spin_check("main thread", main_regs, regs);
	if (threads) {
		pthread_join(t, NULL);
		spin_check("second thread", thread_regs, thread_out);
		pthread_sigmask(SIG_SETMASK, NULL, &now);
		CHECK(!sigismember(&now, SIGHUP), "the main thread's mask has SIGHUP");
	}
	mem_check(&m, stack);
	sig_check();
	prog_finish();
}

/* MXCSR: the default with rounding toward zero (bits 13-14 set). */
#define MXCSR_TOWARD_ZERO 0x7f80u

static void mxcsr_set(unsigned int v)
{
	__asm__ volatile("ldmxcsr %0" : : "m"(v));
}

static unsigned int mxcsr_get(void)
{
	unsigned int v;

	__asm__ volatile("stmxcsr %0" : "=m"(v));
	return v;
}

static int run_self(const char *image, unsigned int flags)
{
	unsigned char stack[STACK_BYTES];
	struct vcmd_vmad_dump_v0 a = { 0 };
	volatile unsigned long mark = R13;
	struct mem m;
	unsigned int csr;
	long ret;
	int fd;

	prog_fill(stack, sizeof(stack), 9);
	mem_setup(&m, NULL);
	fd = open(image, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		prog_fail("%s: %s", image, strerror(errno));
	a.fd = fd;
	a.flags = flags;
	mxcsr_set(MXCSR_TOWARD_ZERO); /* callee-saved: a restored copy keeps it */
	ret = vserver(VCMD_vmad_dump, 0, &a);
	csr = mxcsr_get();
	if (ret < 0)
		prog_fail("vmad_dump: %s", strerrorname_np((int)-ret));
	if (ret > 0) {
		close(fd);
		prog_say("dumped %ld\n", ret);
	} else {
		prog_say("restored\n");
	}
	CHECK(mark == R13, "a local changed: %lx", mark);
	CHECK(csr == MXCSR_TOWARD_ZERO, "MXCSR %#x, want %#x", csr, MXCSR_TOWARD_ZERO);
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
		return run_loop(argv[3], false);
	if (argc == 4 && !strcmp(argv[2], "mthreads"))
		return run_loop(argv[3], true);
	if (argc == 4 && !strcmp(argv[2], "self-threads")) {
		if (pthread_create(&t, NULL, thread_wait, NULL))
			prog_fail("pthread_create");
		run_self(argv[3], 0);
	}
	if ((argc == 4 || argc == 5) && !strcmp(argv[2], "self"))
		return run_self(argv[3], argc == 5 ? strtoul(argv[4], NULL, 0) : 0);
	if (argc == 3 && !strcmp(argv[2], "threads")) {
		if (pthread_create(&t, NULL, thread_wait, NULL))
			prog_fail("pthread_create");
		prog_ready();
		thread_wait(NULL);
	}
	if (argc == 4 && !strcmp(argv[2], "sparse")) {
		size_t len = strtoul(argv[3], NULL, 0) << 30;
		unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (p == MAP_FAILED)
			prog_fail("mmap: %s", strerror(errno));
		p[0] = p[len - 1] = 1;
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
		"usage: kckpt-prog OUTFILE loop|mthreads MAPFILE | self|self-threads IMAGE [FLAGS] | threads | seccomp | mntns\n");
	return 2;
}
