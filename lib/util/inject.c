/*
 * Single system calls run inside a ptrace-stopped task; see inject.h.
 */
#define LOG_PREFIX "util/inject: "

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/auxv.h>

#include "log.h"
#include "util/inject.h"

#ifndef PTRACE_GETSIGMASK
#define PTRACE_GETSIGMASK 0x420a
#define PTRACE_SETSIGMASK 0x420b
#endif

/* Kernel-internal restart codes, visible in ax of an interrupted syscall. */
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

#define SCRATCH_DATA_BACK 256 /* data block sits this far before the end */

bool regs_to_resume_form(struct user_regs_struct *regs, bool same_task)
{
	long ax = (long)regs->rax;

	if ((long)regs->orig_rax < 0)
		return false;
	switch (ax) {
	case -ERESTARTSYS:
	case -ERESTARTNOINTR:
	case -ERESTARTNOHAND:
		regs->rax = regs->orig_rax;
		break;
	case -ERESTART_RESTARTBLOCK:
		regs->rax = same_task ? SYS_restart_syscall : regs->orig_rax;
		break;
	default:
		return false;
	}
	regs->rip -= 2;
	regs->orig_rax = (unsigned long)-1;
	return true;
}

/*
 * Copies len bytes between buf and the tracee's addr: process_vm_readv/
 * writev, else /proc/PID/mem, which also reaches areas the tracee cannot
 * write or read itself (FOLL_FORCE).  0 or -errno.
 */
static int tracee_rw(pid_t pid, uint64_t addr, void *buf, size_t len, bool write)
{
	struct iovec l = { buf, len }, r = { (void *)addr, len };
	char path[32];
	ssize_t n;
	int fd;

	n = write ? process_vm_writev(pid, &l, 1, &r, 1, 0) :
		    process_vm_readv(pid, &l, 1, &r, 1, 0);
	if (n == (ssize_t)len)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, (write ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write ? pwrite(fd, buf, len, (off_t)addr) : pread(fd, buf, len, (off_t)addr);
	close(fd);
	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EFAULT;
}

int inject_write(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	return tracee_rw(pid, addr, (void *)buf, len, true);
}

int inject_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	return tracee_rw(pid, addr, buf, len, false);
}

int inject_init(struct inject *in, pid_t tid, uint64_t gadget)
{
	struct user_regs_struct regs;
	uint64_t all = ~0ull;
	uint8_t after = 0;

	memset(in, 0, sizeof(*in));
	in->tid = tid;
	in->gadget = gadget;
	if (ptrace(PTRACE_GETREGS, tid, NULL, &regs)) {
		pr_perror("tid %d: cannot read registers", tid);
		return -errno;
	}
	if (ptrace(PTRACE_GETSIGMASK, tid, sizeof(uint64_t), &in->saved_mask)) {
		pr_perror("tid %d: cannot read the signal mask", tid);
		return -errno;
	}
	regs_to_resume_form(&regs, true);
	in->saved = regs;
	in->saved_valid = true;
	if (ptrace(PTRACE_SETSIGMASK, tid, sizeof(uint64_t), &all)) {
		pr_perror("tid %d: cannot block signals", tid);
		return -errno;
	}
	in->mask_blocked = true;
	if (!inject_read(tid, gadget + 2, &after, 1) && after == 0xcc)
		in->use_int3 = true;
	return 0;
}

/*
 * Waits for the next ptrace stop of tid; returns the stop signal or -errno.
 * *event receives the PTRACE_EVENT_* of an event stop, else 0.
 */
static int wait_stop(pid_t tid, int *event)
{
	int status;

	for (;;) {
		if (waitpid(tid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		*event = status >> 16;
		if (WIFSTOPPED(status))
			return WSTOPSIG(status) & 0x7f;
		/* exited or killed */
		return -ESRCH;
	}
}

static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/*
 * What to do at a stop of tid other than the trap we wait for: 0 resume
 * with no signal (an event stop; a group-stop), a signal number to
 * deliver, or -1 (unexpected).  A stop signal that arrives while we inject
 * (someone's SIGSTOP, or SIGCONT and SIGSTOP again during the dump) is
 * delivered, never swallowed: the group stops and a group-stop report
 * (PTRACE_EVENT_STOP when seized; a stop without siginfo when not) follows,
 * from which the thread is resumed into the injected call while its group
 * stays stopped, as a detached thread will be again.
 */
static int other_stop(struct inject *in, int sig, int event)
{
	siginfo_t si;
	unsigned long msg = 0;

	if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_CLONE ||
	    event == PTRACE_EVENT_VFORK) {
		/* the new task's id in our pid namespace, not the tracee's */
		if (!ptrace(PTRACE_GETEVENTMSG, in->tid, NULL, &msg))
			in->new_tid = (pid_t)msg;
		return 0;
	}
	if (event == PTRACE_EVENT_STOP) {
		if (is_stop_signal(sig))
			in->group_stop = sig;
		return 0;
	}
	if (event || !is_stop_signal(sig))
		return sig == SIGTRAP && event ? 0 : -1;
	if (ptrace(PTRACE_GETSIGINFO, in->tid, NULL, &si)) {
		in->group_stop = sig; /* not seized: a group-stop report */
		return 0;
	}
	return sig;
}

/*
 * Resumes tid with req and expects a SIGTRAP stop (syscall stop or int3).
 * Event stops on the way (an injected clone3 reports PTRACE_EVENT_FORK or
 * _CLONE before it returns) and stop signals are passed through
 * (other_stop()).
 */
static int step_to_trap(struct inject *in, int req)
{
	int sig, event = 0, data;

	if (ptrace(req, in->tid, NULL, NULL))
		return -errno;
	while ((sig = wait_stop(in->tid, &event)) >= 0 && (sig != SIGTRAP || event)) {
		data = other_stop(in, sig, event);
		if (data < 0)
			break;
		if (ptrace(req, in->tid, NULL, (void *)(long)data))
			return -errno;
	}
	if (sig < 0) {
		pr_err("tid %d: died during an injected system call", in->tid);
		return sig;
	}
	if (sig != SIGTRAP || event) {
		pr_err("tid %d: unexpected stop (signal %d) during an injected system call",
		       in->tid, sig);
		return -EINTR;
	}
	return 0;
}

int inject_syscall(struct inject *in, long *ret, long nr, const unsigned long a[6])
{
	struct user_regs_struct regs = in->saved;
	int err;

	regs.rip = in->gadget;
	regs.rax = (unsigned long)nr;
	regs.orig_rax = (unsigned long)-1;
	regs.rdi = a[0];
	regs.rsi = a[1];
	regs.rdx = a[2];
	regs.r10 = a[3];
	regs.r8 = a[4];
	regs.r9 = a[5];
	if (in->frame)
		regs.rsp = in->frame; /* `ret` after the call enters rt_sigreturn */
	if (ptrace(PTRACE_SETREGS, in->tid, NULL, &regs))
		return -errno;
	if (!in->mask_blocked) { /* only now: the frame puts the mask back */
		uint64_t all = ~0ull;

		if (ptrace(PTRACE_SETSIGMASK, in->tid, sizeof(uint64_t), &all))
			return -errno;
		in->mask_blocked = true;
	}
	if (in->use_int3) {
		err = step_to_trap(in, PTRACE_CONT);
	} else {
		err = step_to_trap(in, PTRACE_SYSCALL); /* entry */
		if (!err)
			err = step_to_trap(in, PTRACE_SYSCALL); /* exit */
	}
	if (err)
		return err;
	errno = 0;
	*ret = ptrace(PTRACE_PEEKUSER, in->tid, offsetof(struct user_regs_struct, rax), NULL);
	if (errno)
		return -errno;
	in->calls++;
	return 0;
}

long inject_call(struct inject *in, long nr, unsigned long a0, unsigned long a1, unsigned long a2,
		 unsigned long a3, unsigned long a4, unsigned long a5)
{
	const unsigned long a[6] = { a0, a1, a2, a3, a4, a5 };
	long ret;
	int err;

	err = inject_syscall(in, &ret, nr, a);
	return err ? err : ret;
}

int inject_fini(struct inject *in)
{
	int ret;

	if (!in->saved_valid)
		return 0;
	if (in->mask_blocked &&
	    ptrace(PTRACE_SETSIGMASK, in->tid, sizeof(uint64_t), &in->saved_mask)) {
		pr_perror("tid %d: cannot restore the signal mask", in->tid);
		return -errno;
	}
	in->mask_blocked = false;
	if (ptrace(PTRACE_SETREGS, in->tid, NULL, &in->saved)) {
		pr_perror("tid %d: cannot restore registers", in->tid);
		return -errno;
	}
	in->saved_valid = false;
	ret = inject_put_back_stack(in);
	if (ret)
		pr_err("tid %d: cannot put back its stack bytes: %s", in->tid, strerror(-ret));
	return ret;
}

/* Finds [vdso] start and size in /proc/PID/maps. */
static int find_vdso(pid_t pid, uint64_t *start, uint64_t *size)
{
	char path[32], line[512];
	unsigned long s, e;
	FILE *f;
	int ret = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, "[vdso]"))
			continue;
		if (sscanf(line, "%lx-%lx", &s, &e) == 2) {
			*start = s;
			*size = e - s;
			ret = 0;
		}
		break;
	}
	fclose(f);
	return ret;
}

/* Offset of the first syscall instruction (0f 05) in buf, or -1. */
static long find_syscall_op(const uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++)
		if (buf[i] == 0x0f && buf[i + 1] == 0x05)
			return (long)i;
	return -1;
}

/* A syscall instruction in [start, end) of pid, read in chunks.  0 or -ENOENT. */
static int scan_for_syscall(pid_t pid, uint64_t start, uint64_t end, uint8_t *buf, size_t chunk,
			    uint64_t *gadget)
{
	uint64_t at;
	size_t len;
	long off;

	for (at = start; at + 1 < end; at += len - 1) { /* chunks overlap by a byte */
		len = end - at < chunk ? end - at : chunk;
		if (len < 2 || inject_read(pid, at, buf, len))
			return -ENOENT;
		off = find_syscall_op(buf, len);
		if (off >= 0) {
			*gadget = at + (uint64_t)off;
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * A syscall instruction in an executable area of pid other than [vdso]
 * and [vsyscall] (a program may have moved or unmapped its vdso): in the
 * raw mode the task stops at syscall exit, so what follows the instruction
 * never runs and any 0f 05 in executable bytes will do.  0 or -ENOENT.
 */
static int find_exec_syscall(pid_t pid, uint8_t *buf, size_t chunk, uint64_t *gadget)
{
	char path[32], line[512], perms[8];
	unsigned long long s, e;
	int ret = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (ret && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx-%llx %7s", &s, &e, perms) != 3 || perms[2] != 'x' ||
		    strstr(line, "[vdso]") || strstr(line, "[vsyscall]"))
			continue;
		ret = scan_for_syscall(pid, s, e, buf, chunk, gadget);
	}
	fclose(f);
	return ret;
}

int inject_find_vdso_gadget(pid_t pid, uint64_t *gadget)
{
	const size_t chunk = 64 << 10;
	uint64_t start, size;
	uint8_t *buf;
	int ret;

	buf = malloc(chunk);
	if (!buf)
		return -ENOMEM;
	ret = find_vdso(pid, &start, &size);
	if (!ret)
		ret = scan_for_syscall(pid, start, start + size, buf, chunk, gadget);
	if (ret) {
		pr_debug("pid %d: no syscall instruction in [vdso]: looking in its code", pid);
		ret = find_exec_syscall(pid, buf, chunk, gadget);
	}
	free(buf);
	return ret;
}

/* Appends bytes to the code buffer. */
static size_t emit(uint8_t *code, size_t at, const void *bytes, size_t n)
{
	memcpy(code + at, bytes, n);
	return at + n;
}

/* Appends an instruction whose last 4 bytes are a rip-relative disp to target. */
static size_t emit_riprel(uint8_t *code, size_t at, const void *op, size_t oplen, size_t target)
{
	int32_t disp = (int32_t)((long)target - (long)(at + oplen + 4));

	at = emit(code, at, op, oplen);
	return emit(code, at, &disp, 4);
}

/*
 * Builds the scratch code page: the gadget, then recovery code that restores
 * the saved signal mask and registers from the data block and jumps back.
 * Returns the data block offset.
 */
static size_t build_recovery(uint8_t *code, size_t len, const struct inject *in, uint64_t *data)
{
	static const uint8_t syscall_op[] = { 0x0f, 0x05 };
	static const uint8_t sigmask_op[] = {
		0xb8, 0x0e, 0, 0, 0, /* mov eax, rt_sigprocmask */
		0xbf, 0x02, 0, 0, 0, /* mov edi, SIG_SETMASK */
	};
	static const uint8_t lea_rsi[] = { 0x48, 0x8d, 0x35 };
	static const uint8_t tail_op[] = {
		0x31, 0xd2,		/* xor edx, edx */
		0x41, 0xba, 8, 0, 0, 0, /* mov r10d, 8 */
		0x0f, 0x05,		/* syscall */
	};
	static const uint8_t lea_rsp[] = { 0x48, 0x8d, 0x25 };
	static const uint8_t pops[] = {
		0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, /* r15..r12 */
		0x5d, 0x5b, 0x41, 0x5b, 0x41, 0x5a,		/* rbp rbx r11 r10 */
		0x41, 0x59, 0x41, 0x58, 0x58, 0x59,		/* r9 r8 rax rcx */
		0x5a, 0x5e, 0x5f, 0x9d,				/* rdx rsi rdi popfq */
	};
	static const uint8_t mov_rsp[] = { 0x48, 0x8b, 0x25 };
	static const uint8_t jmp_ind[] = { 0xff, 0x25 };
	const struct user_regs_struct *r = &in->saved;
	size_t d = len - SCRATCH_DATA_BACK, at = 0;

	at = emit(code, at, syscall_op, sizeof(syscall_op));
	at = emit(code, at, sigmask_op, sizeof(sigmask_op));
	at = emit_riprel(code, at, lea_rsi, sizeof(lea_rsi), d + 18 * 8);
	at = emit(code, at, tail_op, sizeof(tail_op));
	at = emit_riprel(code, at, lea_rsp, sizeof(lea_rsp), d);
	at = emit(code, at, pops, sizeof(pops));
	at = emit_riprel(code, at, mov_rsp, sizeof(mov_rsp), d + 16 * 8);
	emit_riprel(code, at, jmp_ind, sizeof(jmp_ind), d + 17 * 8);

	data[0] = r->r15;
	data[1] = r->r14;
	data[2] = r->r13;
	data[3] = r->r12;
	data[4] = r->rbp;
	data[5] = r->rbx;
	data[6] = r->r11;
	data[7] = r->r10;
	data[8] = r->r9;
	data[9] = r->r8;
	data[10] = r->rax;
	data[11] = r->rcx;
	data[12] = r->rdx;
	data[13] = r->rsi;
	data[14] = r->rdi;
	data[15] = r->eflags;
	data[16] = r->rsp;
	data[17] = r->rip;
	data[18] = in->saved_mask;
	return d;
}

int inject_map_scratch(struct inject *in, size_t len)
{
	uint8_t code[128];
	uint64_t data[19];
	size_t d;
	long addr;
	int ret;

	if (len < 2 * 4096 || !in->saved_valid)
		return -EINVAL;
	in->vdso_gadget = in->gadget;
	addr = inject_call(in, SYS_mmap, 0, len, PROT_READ | PROT_WRITE | PROT_EXEC,
			   MAP_PRIVATE | MAP_ANONYMOUS, (unsigned long)-1, 0);
	if (addr < 0 && addr > -4096) {
		pr_err("tid %d: cannot map a scratch area: %s", in->tid, strerror((int)-addr));
		return (int)addr;
	}
	memset(code, 0xcc, sizeof(code));
	d = build_recovery(code, len, in, data);
	ret = inject_write(in->tid, (uint64_t)addr, code, sizeof(code));
	if (!ret)
		ret = inject_write(in->tid, (uint64_t)addr + d, data, sizeof(data));
	if (ret) {
		pr_err("tid %d: cannot write the scratch area: %s", in->tid, strerror(-ret));
		inject_call(in, SYS_munmap, (unsigned long)addr, len, 0, 0, 0, 0);
		return ret;
	}
	in->scratch = (uint64_t)addr;
	in->data = (uint64_t)addr + 4096;
	in->scratch_len = len;
	in->gadget = (uint64_t)addr;
	in->use_int3 = false; /* byte after the gadget is recovery code */
	return 0;
}

int inject_unmap_scratch(struct inject *in)
{
	long ret;

	if (!in->scratch)
		return 0;
	/* Unmap from the vdso gadget: returning into the area would fault. */
	in->gadget = in->vdso_gadget;
	ret = inject_call(in, SYS_munmap, in->scratch, in->scratch_len, 0, 0, 0, 0);
	if (ret) {
		pr_err("tid %d: cannot unmap the scratch area: %s", in->tid, strerror((int)-ret));
		return (int)ret;
	}
	in->scratch = 0;
	return 0;
}
