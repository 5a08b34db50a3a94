/*
 * Recoverable syscall injection for the dump side (see inject.h).
 *
 * Every injected call runs from a `syscall` instruction of the target's
 * [vdso] that is followed only by register clears and `ret`, with rsp
 * pointing at a signal frame we wrote below the target's red zone.  The
 * frame's return address is a `mov $15,%eax; syscall` (rt_sigreturn) found
 * in the target's own code (glibc's __restore_rt, Go's and musl's
 * equivalents), and the frame holds the target's registers, its XSAVE state
 * and its signal mask.  So if the dumper dies at any instant, the kernel
 * detaches the target, the call in flight completes, `ret` enters
 * rt_sigreturn and the kernel itself reloads everything the target had:
 * no code of ours runs there, no mapping is added, nothing executable is
 * written.  Call arguments and results live in a data area just below the
 * frame; the bytes of the whole area are saved first and written back by
 * inject_fini().
 */
#define LOG_PREFIX "util/inject: "

#include <cpuid.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <elf.h>

#include "log.h"
#include "util/inject.h"

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

#define RED_ZONE 128
#define FXSAVE_LEN 512
#define XSAVE_MIN_LEN 576 /* legacy area + XSAVE header */
#define XSAVE_MAX_LEN (64u << 10)
#define SW_BYTES_AT 464 /* software-reserved bytes of the legacy area */
#define XSTATE_BV_AT 512
#define FP_MAGIC1 0x46505853u
#define FP_MAGIC2 0x46505845u
#define UC_FP_XSTATE 0x1
#define UC_SIGCONTEXT_SS 0x2
#define UC_STRICT_RESTORE_SS 0x4
#define SS_INVALID 3 /* neither 0, SS_ONSTACK nor SS_DISABLE */
#define SCAN_CHUNK (1u << 20)

/* The kernel's x86_64 struct sigcontext (uapi asm/sigcontext.h). */
struct k_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t di, si, bp, bx, dx, ax, cx, sp, ip, flags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2, fpstate;
	uint64_t reserved1[8];
};

/* The kernel's struct rt_sigframe: what rt_sigreturn reads at rsp - 8. */
struct k_rt_sigframe {
	uint64_t pretcode;
	uint64_t uc_flags, uc_link;
	uint64_t ss_sp;
	int32_t ss_flags, ss_pad;
	uint64_t ss_size;
	struct k_sigcontext mc;
	uint64_t uc_sigmask;
	uint8_t info[128];
};

/* fx_sw_bytes of the XSAVE legacy area's software-reserved part. */
struct k_sw_bytes {
	uint32_t magic1, extended_size;
	uint64_t xfeatures;
	uint32_t xstate_size, padding[7];
};

_Static_assert(sizeof(struct k_sigcontext) == 256, "sigcontext layout");
_Static_assert(sizeof(struct k_rt_sigframe) == 440, "rt_sigframe layout");
_Static_assert(sizeof(struct k_sw_bytes) == 48, "fx_sw_bytes layout");

static const uint8_t sigreturn_tail[] = { 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05 };

/*
 * Is code[0..len) a `syscall` that only clears registers before `ret`
 * (xor r32,r32 in its plain and REX-prefixed forms)?
 */
static bool is_syscall_ret(const uint8_t *code, size_t len)
{
	size_t i = 2;

	if (len < 3 || code[0] != 0x0f || code[1] != 0x05)
		return false;
	while (i < len && i < 40) {
		if (code[i] == 0xc3)
			return true;
		if ((code[i] & 0xf0) == 0x40 && i + 2 < len && code[i + 1] == 0x31 &&
		    code[i + 2] >= 0xc0)
			i += 3;
		else if (code[i] == 0x31 && i + 1 < len && code[i + 1] >= 0xc0)
			i += 2;
		else
			return false;
	}
	return false;
}

/* Offset of a syscall-then-ret gadget in vdso bytes, or -1. */
static long find_syscall_ret(const uint8_t *vdso, size_t len)
{
	size_t i;

	for (i = 0; i + 3 <= len; i++)
		if (is_syscall_ret(vdso + i, len - i))
			return (long)i;
	return -1;
}

/* Offset of `mov $15,%eax; syscall` or `mov $15,%rax; syscall` in buf, or -1. */
static long find_sigreturn(const uint8_t *buf, size_t len)
{
	const uint8_t *p = buf, *end = buf + len;

	while ((p = memmem(p, (size_t)(end - p), sigreturn_tail, sizeof(sigreturn_tail)))) {
		size_t at = (size_t)(p - buf);

		if (at >= 1 && buf[at - 1] == 0xb8)
			return (long)at - 1;
		if (at >= 3 && buf[at - 3] == 0x48 && buf[at - 2] == 0xc7 && buf[at - 1] == 0xc0)
			return (long)at - 3;
		p++;
	}
	return -1;
}

/* Reads [start, end) of pid in chunks, looking for a sigreturn gadget. */
static int scan_area(pid_t pid, const struct proc_vma *v, uint8_t *buf, uint64_t *found)
{
	uint64_t at = v->start;
	long off;

	while (at < v->end) {
		size_t n = v->end - at > SCAN_CHUNK ? SCAN_CHUNK : v->end - at;

		if (inject_read(pid, at, buf, n))
			return -EFAULT;
		off = find_sigreturn(buf, n);
		if (off >= 0) {
			*found = at + (uint64_t)off;
			return 0;
		}
		if (at + n >= v->end)
			break;
		at += n - 8; /* a gadget may straddle two chunks */
	}
	return -ENOENT;
}

static bool same_area(const struct proc_vma *a, const struct proc_vma *b)
{
	return a->start == b->start && a->end == b->end && a->ino == b->ino &&
	       a->dev_major == b->dev_major && a->dev_minor == b->dev_minor && a->pgoff == b->pgoff;
}

/* The area of vmas holding addr, or NULL. */
static const struct proc_vma *area_of(const struct proc_vma_list *vmas, uint64_t addr)
{
	size_t i;

	for (i = 0; i < vmas->n; i++)
		if (vmas->v[i].start <= addr && addr < vmas->v[i].end)
			return &vmas->v[i];
	return NULL;
}

/* True if g's cached sigreturn is still there in pid (same area, same bytes). */
static bool cached_sigreturn_holds(pid_t pid, const struct proc_vma_list *vmas,
				   const struct inject_gadgets *g)
{
	const struct proc_vma *v = g->sigreturn ? area_of(vmas, g->sigreturn) : NULL;
	uint8_t code[16];
	size_t n;

	if (!v || !same_area(v, &g->sigreturn_area) || !(v->prot & PROT_EXEC))
		return false;
	n = v->end - g->sigreturn < sizeof(code) ? v->end - g->sigreturn : sizeof(code);
	return !inject_read(pid, g->sigreturn, code, n) && find_sigreturn(code, n) == 0;
}

/* Executable areas worth scanning: the C library first, then the others. */
static int find_sigreturn_gadget(pid_t pid, const struct proc_vma_list *vmas,
				 struct inject_gadgets *g)
{
	uint8_t *buf;
	int pass, ret = -ENOENT;
	size_t i;

	if (cached_sigreturn_holds(pid, vmas, g))
		return 0;
	buf = malloc(SCAN_CHUNK);
	if (!buf)
		return -ENOMEM;
	for (pass = 0; pass < 2 && ret; pass++) {
		for (i = 0; i < vmas->n && ret; i++) {
			const struct proc_vma *v = &vmas->v[i];
			bool libc = v->name && strstr(v->name, "/libc");

			if (!(v->prot & PROT_EXEC) || !(v->prot & PROT_READ) ||
			    libc != (pass == 0) || !strcmp(v->name ? v->name : "", "[vsyscall]"))
				continue;
			ret = scan_area(pid, v, buf, &g->sigreturn);
			if (!ret)
				g->sigreturn_area = *v;
		}
	}
	g->sigreturn_area.name = NULL; /* not owned: vmas may go */
	free(buf);
	return ret;
}

int inject_find_gadgets(pid_t pid, const struct proc_vma_list *vmas, struct inject_gadgets *g)
{
	const struct proc_vma *vdso = NULL;
	uint8_t *buf;
	long off;
	size_t i, len;
	int ret;

	for (i = 0; i < vmas->n && !vdso; i++)
		if (vmas->v[i].name && !strcmp(vmas->v[i].name, "[vdso]"))
			vdso = &vmas->v[i];
	if (!vdso)
		return -ENOENT;
	len = vdso->end - vdso->start;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	ret = inject_read(pid, vdso->start, buf, len);
	off = ret ? -1 : find_syscall_ret(buf, len);
	free(buf);
	if (off < 0)
		return ret ? ret : -ENOENT;
	g->syscall_ret = vdso->start + (uint64_t)off;
	return find_sigreturn_gadget(pid, vmas, g);
}

/* End of the standard-format XSAVE components present in xstate_bv. */
static size_t xsave_used_len(uint64_t xstate_bv)
{
	unsigned a, b, c, d, i;
	size_t end = XSAVE_MIN_LEN;

	for (i = 2; i < 64; i++) {
		if (!(xstate_bv & (1ull << i)) || !__get_cpuid_count(0xd, i, &a, &b, &c, &d))
			continue;
		if (b + a > end)
			end = b + a;
	}
	return end;
}

/*
 * Builds the fpstate block (XSAVE image with the signal-frame software
 * bytes and the trailing magic) from in->tid's XSAVE area, or from xsave.
 * *out (malloc'ed) gets *len bytes.  0 or -errno.
 */
static int build_fpstate(pid_t tid, const void *xsave, size_t xsave_len, uint8_t **out, size_t *len)
{
	struct iovec iov;
	struct k_sw_bytes sw;
	uint64_t bv;
	uint8_t *buf;
	size_t used;

	buf = calloc(1, XSAVE_MAX_LEN + 4);
	if (!buf)
		return -ENOMEM;
	if (xsave && xsave_len >= XSAVE_MIN_LEN && xsave_len <= XSAVE_MAX_LEN) {
		memcpy(buf, xsave, xsave_len);
	} else {
		iov.iov_base = buf;
		iov.iov_len = XSAVE_MAX_LEN;
		if (ptrace(PTRACE_GETREGSET, tid, NT_X86_XSTATE, &iov) ||
		    iov.iov_len < XSAVE_MIN_LEN) {
			free(buf);
			return -EIO;
		}
		xsave_len = iov.iov_len;
	}
	memcpy(&bv, buf + XSTATE_BV_AT, sizeof(bv));
	used = xsave_used_len(bv);
	if (used > xsave_len) {
		free(buf);
		return -EINVAL;
	}
	memset(&sw, 0, sizeof(sw));
	sw.magic1 = FP_MAGIC1;
	sw.extended_size = (uint32_t)used + 4;
	sw.xfeatures = bv | 3;
	sw.xstate_size = (uint32_t)used;
	memcpy(buf + SW_BYTES_AT, &sw, sizeof(sw));
	memcpy(buf + used, &(uint32_t){ FP_MAGIC2 }, 4);
	*out = buf;
	*len = used + 4;
	return 0;
}

/* Fills the rt_sigframe that puts back regs (resume form) and mask. */
static void fill_frame(struct k_rt_sigframe *f, const struct user_regs_struct *r, uint64_t mask,
		       uint64_t sigreturn, uint64_t fpstate)
{
	memset(f, 0, sizeof(*f));
	f->pretcode = sigreturn;
	f->uc_flags = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	f->ss_flags = SS_INVALID; /* rt_sigreturn leaves the altstack alone */
	f->mc.r8 = r->r8;
	f->mc.r9 = r->r9;
	f->mc.r10 = r->r10;
	f->mc.r11 = r->r11;
	f->mc.r12 = r->r12;
	f->mc.r13 = r->r13;
	f->mc.r14 = r->r14;
	f->mc.r15 = r->r15;
	f->mc.di = r->rdi;
	f->mc.si = r->rsi;
	f->mc.bp = r->rbp;
	f->mc.bx = r->rbx;
	f->mc.dx = r->rdx;
	f->mc.ax = r->rax;
	f->mc.cx = r->rcx;
	f->mc.sp = r->rsp;
	f->mc.ip = r->rip;
	f->mc.flags = r->eflags;
	f->mc.cs = (uint16_t)r->cs;
	f->mc.ss = (uint16_t)r->ss;
	f->mc.fpstate = fpstate;
	f->uc_sigmask = mask;
}

/*
 * Places data area, frame and fpstate below the red zone of regs->rsp and
 * checks they fit in one private anonymous writable area.  0 or -ENOSPC.
 */
static int place_frame(struct inject *in, const struct proc_vma_list *vmas, uint64_t rsp,
		       size_t fp_len, size_t data_len, uint64_t *fp_at)
{
	uint64_t hi = rsp - RED_ZONE, fp, frame, data;
	const struct proc_vma *v;

	if (rsp < (1u << 20) + data_len)
		return -ENOSPC;
	fp = (hi - fp_len) & ~63ull;
	frame = (fp - sizeof(struct k_rt_sigframe)) & ~15ull;
	data = (frame - data_len) & ~63ull;
	v = area_of(vmas, rsp - 1);
	if (!v || v->start > data || v->end < hi || v->shared || v->ino ||
	    (v->prot & (PROT_READ | PROT_WRITE)) != (PROT_READ | PROT_WRITE))
		return -ENOSPC;
	in->frame = frame;
	in->data = data;
	in->stack_lo = data;
	in->stack_len = hi - data;
	*fp_at = fp;
	return 0;
}

int inject_init_frame(struct inject *in, pid_t tid, const struct inject_gadgets *g,
		      const struct proc_vma_list *vmas, const void *xsave, size_t xsave_len,
		      size_t data_len)
{
	struct user_regs_struct raw, frame_regs;
	struct k_rt_sigframe f;
	uint8_t *fp = NULL, *img = NULL;
	size_t fp_len;
	uint64_t fp_at;
	int ret;

	memset(in, 0, sizeof(*in));
	in->tid = tid;
	if (ptrace(PTRACE_GETREGS, tid, NULL, &raw) ||
	    ptrace(PTRACE_GETSIGMASK, tid, sizeof(uint64_t), &in->saved_mask))
		return -errno;
	ret = build_fpstate(tid, xsave, xsave_len, &fp, &fp_len);
	ret = ret ?: place_frame(in, vmas, raw.rsp, fp_len, data_len, &fp_at);
	if (ret)
		goto out;
	ret = -ENOMEM;
	in->stack_save = malloc(in->stack_len);
	img = calloc(1, in->stack_len);
	if (!in->stack_save || !img)
		goto out;
	ret = inject_read(tid, in->stack_lo, in->stack_save, in->stack_len);
	if (ret)
		goto out;
	/* the call after a recovery re-issues an interrupted call in full */
	frame_regs = raw;
	regs_to_resume_form(&frame_regs, false);
	in->saved = raw;
	regs_to_resume_form(&in->saved, true);
	fill_frame(&f, &frame_regs, in->saved_mask, g->sigreturn, fp_at);
	memcpy(img + (in->frame - in->stack_lo), &f, sizeof(f));
	memcpy(img + (fp_at - in->stack_lo), fp, fp_len);
	ret = inject_write(tid, in->stack_lo, img, in->stack_len); /* data zeroed */
	if (ret)
		goto out;
	in->gadget = g->syscall_ret;
	in->saved_valid = true;
out:
	if (ret) {
		free(in->stack_save);
		in->stack_save = NULL;
		in->frame = 0;
	}
	free(img);
	free(fp);
	return ret;
}

int inject_put_back_stack(struct inject *in)
{
	int ret = 0;

	if (in->stack_save)
		ret = inject_write(in->tid, in->stack_lo, in->stack_save, in->stack_len);
	free(in->stack_save);
	in->stack_save = NULL;
	in->frame = 0;
	return ret;
}
