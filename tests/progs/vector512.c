/*
 * vector512: zmm0-zmm31, the opmask registers k0-k7 and r12-r15 hold
 * patterns while the program spins in inline assembly on a flag that the
 * SIGUSR1 handler sets (like vector.c, with the AVX-512 state: XSAVE
 * components opmask, ZMM_Hi256 and Hi16_ZMM).  After a restore the registers
 * must still hold the patterns.
 *
 * Built without -mavx512f: AVX-512 appears only in inline assembly, and the
 * program exits 77 (with "SKIP" in OUTFILE) before executing any of it when
 * the CPU or the kernel (XCR0) lacks AVX-512F.  The opmask registers are
 * moved with kmovq (64 bits) when the CPU has AVX512BW, else with kmovw.
 */
#include <cpuid.h>
#include <stddef.h>
#include "prog.h"

struct vstate {
	uint8_t in[32][64];	/* offset 0 */
	uint8_t out[32][64];	/* 2048 */
	uint64_t kin[8];	/* 4096 */
	uint64_t kout[8];	/* 4160 */
	uint64_t gin[4];	/* 4224 */
	uint64_t gout[4];	/* 4256 */
	uint64_t fd;		/* 4288 */
	uint64_t msg;		/* 4296 */
	uint64_t len;		/* 4304 */
} __attribute__((aligned(64)));

_Static_assert(offsetof(struct vstate, kin) == 4096, "vstate layout");
_Static_assert(offsetof(struct vstate, gin) == 4224, "vstate layout");
_Static_assert(offsetof(struct vstate, fd) == 4288, "vstate layout");

static volatile int flag;
static struct vstate vs;

static void on_usr1(int sig)
{
	(void)sig;
	flag = 1;
}

/* XCR0 bits the kernel must enable: SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM. */
#define XCR0_AVX512 0xe6ULL

/* 1 if AVX-512F is usable (CPU and OS), and *bw says if AVX512BW is. */
static int have_avx512(int *bw)
{
	unsigned int a, b, c, d, lo, hi;

	*bw = 0;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE))
		return 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & bit_AVX512F))
		return 0;
	*bw = !!(b & bit_AVX512BW);
	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((((uint64_t)hi << 32) | lo) & XCR0_AVX512) == XCR0_AVX512;
}

#define LD(n) "vmovdqu64 " #n "*64(%%rbx), %%zmm" #n "\n\t"
#define ST(n) "vmovdqu64 %%zmm" #n ", 2048+" #n "*64(%%rbx)\n\t"

/*
 * The body of spin_q/spin_w: KMOV is kmovq or kmovw.  zmm16-31 and k0-k7
 * are not listed as clobbers (the compiler, built without AVX-512, never
 * uses them; the psABI makes them call-clobbered anyway).
 */
#define SPIN_ASM(KMOV)                                                          \
	LD(0) LD(1) LD(2) LD(3) LD(4) LD(5) LD(6) LD(7)                         \
	LD(8) LD(9) LD(10) LD(11) LD(12) LD(13) LD(14) LD(15)                   \
	LD(16) LD(17) LD(18) LD(19) LD(20) LD(21) LD(22) LD(23)                 \
	LD(24) LD(25) LD(26) LD(27) LD(28) LD(29) LD(30) LD(31)                 \
	KMOV " 4096(%%rbx), %%k0\n\t" KMOV " 4104(%%rbx), %%k1\n\t"             \
	KMOV " 4112(%%rbx), %%k2\n\t" KMOV " 4120(%%rbx), %%k3\n\t"             \
	KMOV " 4128(%%rbx), %%k4\n\t" KMOV " 4136(%%rbx), %%k5\n\t"             \
	KMOV " 4144(%%rbx), %%k6\n\t" KMOV " 4152(%%rbx), %%k7\n\t"             \
	"mov 4224(%%rbx), %%r12\n\t"                                            \
	"mov 4232(%%rbx), %%r13\n\t"                                            \
	"mov 4240(%%rbx), %%r14\n\t"                                            \
	"mov 4248(%%rbx), %%r15\n\t"                                            \
	"mov $1, %%eax\n\t"		/* write(fd, "ready\n", 6) */           \
	"mov 4288(%%rbx), %%rdi\n\t"                                            \
	"mov 4296(%%rbx), %%rsi\n\t"                                            \
	"mov 4304(%%rbx), %%rdx\n\t"                                            \
	"syscall\n\t"                                                           \
	"1: pause\n\t"                                                          \
	"cmpl $0, %[flag]\n\t"                                                  \
	"je 1b\n\t"                                                             \
	ST(0) ST(1) ST(2) ST(3) ST(4) ST(5) ST(6) ST(7)                         \
	ST(8) ST(9) ST(10) ST(11) ST(12) ST(13) ST(14) ST(15)                   \
	ST(16) ST(17) ST(18) ST(19) ST(20) ST(21) ST(22) ST(23)                 \
	ST(24) ST(25) ST(26) ST(27) ST(28) ST(29) ST(30) ST(31)                 \
	KMOV " %%k0, 4160(%%rbx)\n\t" KMOV " %%k1, 4168(%%rbx)\n\t"             \
	KMOV " %%k2, 4176(%%rbx)\n\t" KMOV " %%k3, 4184(%%rbx)\n\t"             \
	KMOV " %%k4, 4192(%%rbx)\n\t" KMOV " %%k5, 4200(%%rbx)\n\t"             \
	KMOV " %%k6, 4208(%%rbx)\n\t" KMOV " %%k7, 4216(%%rbx)\n\t"             \
	"mov %%r12, 4256(%%rbx)\n\t"                                            \
	"mov %%r13, 4264(%%rbx)\n\t"                                            \
	"mov %%r14, 4272(%%rbx)\n\t"                                            \
	"mov %%r15, 4280(%%rbx)\n\t"                                            \
	"vzeroupper\n\t"

#define SPIN_CLOBBERS                                                          \
	"rax", "rcx", "rdx", "rsi", "rdi", "r11", "r12", "r13", "r14", "r15",   \
	"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",         \
	"xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",   \
	"memory", "cc"

static void spin_q(struct vstate *s)
{
	asm volatile(SPIN_ASM("kmovq") : : "b"(s), [flag] "m"(flag) : SPIN_CLOBBERS);
}

static void spin_w(struct vstate *s)
{
	asm volatile(SPIN_ASM("kmovw") : : "b"(s), [flag] "m"(flag) : SPIN_CLOBBERS);
}

int main(int argc, char **argv)
{
	static const char msg[] = "ready\n";
	uint64_t kmask;
	sigset_t set;
	int fd, i, bw;

	prog_init(argc, argv, "vector512");
	if (!have_avx512(&bw)) {
		prog_say("SKIP vector512: no AVX-512F (CPU or XCR0)\n");
		exit(77);
	}
	if (argc > 2 && !strcmp(argv[2], "--probe"))
		exit(0);
	kmask = bw ? ~0ULL : 0xffffULL;
	signal(SIGUSR1, on_usr1);
	prog_fill(vs.in, sizeof(vs.in), 512);
	prog_fill(vs.kin, sizeof(vs.kin), 513);
	prog_fill(vs.gin, sizeof(vs.gin), 514);
	for (i = 0; i < 8; i++)
		vs.kin[i] &= kmask;
	fd = open(prog_out, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		prog_fail("open %s: %s", prog_out, strerror(errno));
	vs.fd = fd;
	vs.msg = (uintptr_t)msg;
	vs.len = 6;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	if (bw)
		spin_q(&vs);
	else
		spin_w(&vs);
	close(fd);
	for (i = 0; i < 32; i++)
		CHECK(!memcmp(vs.in[i], vs.out[i], 64), "zmm%d differs", i);
	for (i = 0; i < 8; i++)
		CHECK((vs.kout[i] & kmask) == vs.kin[i], "k%d %#llx, was %#llx", i,
		      (unsigned long long)(vs.kout[i] & kmask), (unsigned long long)vs.kin[i]);
	for (i = 0; i < 4; i++)
		CHECK(vs.gin[i] == vs.gout[i], "r%d differs", 12 + i);
	prog_finish();
}
