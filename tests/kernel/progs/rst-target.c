/*
 * rst-target: the process k-rst-undump.sh dumps with the userspace engine
 * and brings back with vxcr.ko's vmad_undump in another process.
 *
 * Usage: rst-target OUTFILE [keep1]
 *
 * Sets up memory (heap and mmap'ed patterns, a read-only area, a dirty
 * page of its own .data), signal state (a SIGUSR1 handler, SIGHUP
 * ignored, SIGUSR2 blocked), its cwd (/run), umask, timer slack, pdeath
 * signal, THP disable, personality and RLIMIT_NOFILE, closes fds 0-2
 * (the module restores no file descriptions; with keep1, fds 0 and 1
 * stay: /dev/null, and a pipe to a reader outside, which the module
 * hands over as the caller's own fds 0 and 1), appends "ready" to OUTFILE and stops
 * in pause() at its checkpoint point, with rbx and r12-r15 and xmm8
 * holding patterns.  The process that undumps the image continues from
 * there: after SIGUSR1, pause() returns -EINTR, the registers are
 * checked in the same asm block, then the rest, and that no other fd is
 * open (the caller's were closed); with keep1 it writes "fd1 ok" to fd
 * 1.  "PASS rst-target" or "FAIL rst-target: why" goes to OUTFILE, exit
 * 0 or 1.
 */
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>

#include "prog.h"

#define HEAP_BYTES (3u << 20)
#define MAP_BYTES (1u << 20)
#define RO_BYTES (64u << 10)

static uint64_t data_page[512] = { 1 }; /* .data: a private file page, dirtied */
static volatile int usr1_seen;

static void on_usr1(int sig)
{
	(void)sig;
	usr1_seen++;
}

/*
 * The checkpoint point: patterns into rbx, r12-r15 and xmm8, pause(), then
 * each register compared with its pattern.  Returns the registers that
 * differ (bit 0 rbx, 1-4 r12-r15, 5 xmm8); *ret: what pause() returned.
 */
static long checkpoint_point(long *ret)
{
	long bad, r;

	asm volatile("movabs $0x1111222233334444, %%rbx\n\t"
		     "movabs $0x5555666677778888, %%r12\n\t"
		     "movabs $0x99990000aaaabbbb, %%r13\n\t"
		     "movabs $0xccccddddeeeeffff, %%r14\n\t"
		     "movabs $0x0123456789abcdef, %%r15\n\t"
		     "movq %%r15, %%xmm8\n\t"
		     "mov $34, %%eax\n\t" /* __NR_pause */
		     "syscall\n\t"
		     "mov %%rax, %[r]\n\t"
		     "xor %[bad], %[bad]\n\t"
		     "movabs $0x1111222233334444, %%rdx\n\t"
		     "cmp %%rdx, %%rbx\n\t"
		     "je 1f\n\t"
		     "or $1, %[bad]\n"
		     "1:\n\t"
		     "movabs $0x5555666677778888, %%rdx\n\t"
		     "cmp %%rdx, %%r12\n\t"
		     "je 2f\n\t"
		     "or $2, %[bad]\n"
		     "2:\n\t"
		     "movabs $0x99990000aaaabbbb, %%rdx\n\t"
		     "cmp %%rdx, %%r13\n\t"
		     "je 3f\n\t"
		     "or $4, %[bad]\n"
		     "3:\n\t"
		     "movabs $0xccccddddeeeeffff, %%rdx\n\t"
		     "cmp %%rdx, %%r14\n\t"
		     "je 4f\n\t"
		     "or $8, %[bad]\n"
		     "4:\n\t"
		     "movabs $0x0123456789abcdef, %%rdx\n\t"
		     "cmp %%rdx, %%r15\n\t"
		     "je 5f\n\t"
		     "or $16, %[bad]\n"
		     "5:\n\t"
		     "movq %%xmm8, %%rdx\n\t"
		     "cmp %%rdx, %%r15\n\t"
		     "je 6f\n\t"
		     "or $32, %[bad]\n"
		     "6:\n\t"
		     : [bad] "=&r"(bad), [r] "=&m"(r)
		     :
		     : "rax", "rbx", "rcx", "rdx", "r11", "r12", "r13", "r14", "r15", "xmm8",
		       "memory", "cc");
	*ret = r;
	return bad;
}

static int pattern_ok(const void *p, size_t len, uint64_t seed)
{
	const uint64_t *w = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != prog_pattern(seed, i))
			return 0;
	return 1;
}

/* The fds below 64 that are open, but 0 and 1 when keep. */
static int open_fds(int keep)
{
	int fd, n = 0;

	for (fd = keep ? 2 : 0; fd < 64; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

/* fd 0 is /dev/null (character device 1:3). */
static int stdin_null(void)
{
	struct stat st;

	return !fstat(0, &st) && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	int keep1 = argc > 2 && !strcmp(argv[2], "keep1");
	sigset_t set;
	int sig = 0;
	char cwd[64];
	struct rlimit rl;
	uint8_t *heap, *map, *ro;
	long bad, ret;

	prog_init(argc, argv, "rst-target");
	heap = malloc(HEAP_BYTES);
	map = mmap(NULL, MAP_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro = mmap(NULL, RO_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!heap || map == MAP_FAILED || ro == MAP_FAILED)
		prog_fail("no memory");
	prog_fill(heap, HEAP_BYTES, 11);
	prog_fill(map, MAP_BYTES, 22);
	prog_fill(ro, RO_BYTES, 33);
	prog_fill(data_page, sizeof(data_page), 44);
	if (mprotect(ro, RO_BYTES, PROT_READ))
		prog_fail("mprotect: %s", strerror(errno));

	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_SETMASK, &set, NULL); /* SIGUSR1 unblocked: pause() waits for it */

	if (chdir("/run")) /* not the directory of the process that undumps it */
		prog_fail("chdir /run: %s", strerror(errno));
	rl.rlim_cur = 100;
	rl.rlim_max = 200;
	setrlimit(RLIMIT_NOFILE, &rl);
	umask(027);
	prctl(PR_SET_TIMERSLACK, 123456UL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	personality(PER_LINUX | ADDR_NO_RANDOMIZE);

	prog_ready();
	if (!keep1) {
		close(0);
		close(1);
	}
	close(2);
	bad = checkpoint_point(&ret);

	CHECK(!bad, "registers differ after pause (mask %#lx)", bad);
	CHECK(ret == -EINTR, "pause returned %ld, want -EINTR", ret);
	CHECK(usr1_seen == 1, "the SIGUSR1 handler ran %d times", usr1_seen);
	CHECK(pattern_ok(heap, HEAP_BYTES, 11), "heap pattern differs");
	CHECK(pattern_ok(map, MAP_BYTES, 22), "mmap pattern differs");
	CHECK(pattern_ok(ro, RO_BYTES, 33), "read-only area pattern differs");
	CHECK(pattern_ok(data_page, sizeof(data_page), 44), ".data pattern differs");
	sigprocmask(SIG_SETMASK, NULL, &set);
	CHECK(sigismember(&set, SIGUSR2) && !sigismember(&set, SIGUSR1),
	      "blocked mask not restored");
	sigaction(SIGHUP, NULL, &sa);
	CHECK(sa.sa_handler == SIG_IGN, "SIGHUP is not ignored");
	sigaction(SIGUSR1, NULL, &sa);
	CHECK(sa.sa_handler == on_usr1, "SIGUSR1 handler lost");
	CHECK(getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, "/run"), "cwd not restored");
	CHECK(umask(0) == 027, "umask not restored");
	CHECK(!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur == 100 && rl.rlim_max == 200,
	      "RLIMIT_NOFILE not restored");
	CHECK(prctl(PR_GET_TIMERSLACK) == 123456, "timer slack not restored");
	CHECK(!prctl(PR_GET_PDEATHSIG, &sig) && sig == SIGTERM, "pdeath signal not restored");
	CHECK(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1, "THP disable not restored");
	CHECK(personality(0xffffffff) == (PER_LINUX | ADDR_NO_RANDOMIZE), "personality not restored");
	CHECK(!open_fds(keep1), "%d fds open besides the image's", open_fds(keep1));
	CHECK(!keep1 || stdin_null(), "fd 0 is not /dev/null");
	CHECK(!keep1 || write(1, "fd1 ok\n", 7) == 7, "write to fd 1: %s", strerror(errno));
	prog_finish();
}
