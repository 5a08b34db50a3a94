/*
 * vector: ymm0-ymm15 and r12-r15 hold patterns while the program spins in
 * inline assembly on a flag that the SIGUSR1 handler sets.  Between loading
 * the registers and storing them back nothing but the "ready" write(2) and
 * the flag test runs, so after a restore the registers must still hold the
 * patterns: FPU/vector state (XSAVE) and GPRs came back.
 */
#include "prog.h"

struct vstate {
	uint8_t in[16][32];	/* offset 0 */
	uint8_t out[16][32];	/* 512 */
	uint64_t gin[4];	/* 1024 */
	uint64_t gout[4];	/* 1056 */
	uint64_t fd;		/* 1088 */
	uint64_t msg;		/* 1096 */
	uint64_t len;		/* 1104 */
} __attribute__((aligned(32)));

static volatile int flag;
static struct vstate vs;

static void on_usr1(int sig)
{
	(void)sig;
	flag = 1;
}

#define LD(n) "vmovdqu " #n "*32(%%rbx), %%ymm" #n "\n\t"
#define ST(n) "vmovdqu %%ymm" #n ", 512+" #n "*32(%%rbx)\n\t"

static void spin(struct vstate *s)
{
	asm volatile(
		LD(0) LD(1) LD(2) LD(3) LD(4) LD(5) LD(6) LD(7)
		LD(8) LD(9) LD(10) LD(11) LD(12) LD(13) LD(14) LD(15)
		"mov 1024(%%rbx), %%r12\n\t"
		"mov 1032(%%rbx), %%r13\n\t"
		"mov 1040(%%rbx), %%r14\n\t"
		"mov 1048(%%rbx), %%r15\n\t"
		"mov $1, %%eax\n\t"		/* write(fd, "ready\n", 6) */
		"mov 1088(%%rbx), %%rdi\n\t"
		"mov 1096(%%rbx), %%rsi\n\t"
		"mov 1104(%%rbx), %%rdx\n\t"
		"syscall\n\t"
		"1: pause\n\t"
		"cmpl $0, %[flag]\n\t"
		"je 1b\n\t"
		ST(0) ST(1) ST(2) ST(3) ST(4) ST(5) ST(6) ST(7)
		ST(8) ST(9) ST(10) ST(11) ST(12) ST(13) ST(14) ST(15)
		"mov %%r12, 1056(%%rbx)\n\t"
		"mov %%r13, 1064(%%rbx)\n\t"
		"mov %%r14, 1072(%%rbx)\n\t"
		"mov %%r15, 1080(%%rbx)\n\t"
		"vzeroupper\n\t"
		:
		: "b"(s), [flag] "m"(flag)
		: "rax", "rcx", "rdx", "rsi", "rdi", "r11", "r12", "r13", "r14", "r15",
		  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
		  "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
		  "memory", "cc");
}

int main(int argc, char **argv)
{
	static const char msg[] = "ready\n";
	sigset_t set;
	int fd, i;

	prog_init(argc, argv, "vector");
	signal(SIGUSR1, on_usr1);
	prog_fill(vs.in, sizeof(vs.in), 77);
	prog_fill(vs.gin, sizeof(vs.gin), 78);
	fd = open(prog_out, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		prog_fail("open %s: %s", prog_out, strerror(errno));
	vs.fd = fd;
	vs.msg = (uintptr_t)msg;
	vs.len = 6;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	spin(&vs);
	close(fd);
	for (i = 0; i < 16; i++)
		CHECK(!memcmp(vs.in[i], vs.out[i], 32), "ymm%d differs", i);
	for (i = 0; i < 4; i++)
		CHECK(vs.gin[i] == vs.gout[i], "r%d differs", 12 + i);
	prog_finish();
}
