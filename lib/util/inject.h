/*
 * Running single system calls inside a ptrace-stopped task.
 *
 * The tracee must be in a ptrace-stop (seized and interrupted, or stopped
 * after PTRACE_TRACEME).  inject_init() saves its registers; each
 * inject_syscall() points rip at a syscall instruction (the gadget), loads
 * the number and arguments, and steps the tracee through syscall entry and
 * exit with PTRACE_SYSCALL; inject_fini() puts the saved registers back.
 *
 * Dump side safety: if the dumper dies while a tracee runs injected code,
 * the kernel detaches the tracee and it resumes with whatever registers it
 * had.  inject_init_frame() (inject-frame.c) therefore runs every call from
 * a vdso `syscall; ret` with rsp at a signal frame written below the
 * tracee's red zone, whose return address is an rt_sigreturn sequence of
 * the tracee's own code: a tracee orphaned at any instant finishes the
 * call in flight and the kernel reloads its registers, XSAVE state and
 * signal mask from that frame.  Nothing is mapped and no code is written.
 *
 * Fallback when a tracee has no such code or no room on its stack:
 * inject_map_scratch() maps a scratch area whose gadget is followed by
 * code that reloads the saved registers and jumps back; only the mmap that
 * creates it and the munmap that removes it run from the vdso gadget and
 * are not covered.
 */
#ifndef VXCR_INJECT_H
#define VXCR_INJECT_H

#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>
#include <sys/user.h>

#include "proc/proc.h"

struct inject {
	pid_t tid;
	uint64_t gadget;  /* address of a "syscall" instruction */
	uint64_t scratch; /* scratch area in the tracee, 0 if none */
	uint64_t scratch_len;
	uint64_t vdso_gadget;	       /* syscall instruction in [vdso], if found */
	struct user_regs_struct saved; /* registers to put back (resume form) */
	uint64_t saved_mask;	       /* blocked signals to put back */
	bool saved_valid;
	bool use_int3;	     /* gadget is "syscall; int3": one stop per call */
	unsigned long calls; /* injected calls so far (statistics) */
	pid_t new_tid;	     /* task made by the last injected clone, as we
					 * number it (PTRACE_GETEVENTMSG), else 0 */
	bool mask_blocked;   /* every signal blocked for the calls */
	int group_stop;	     /* a stop signal that stopped its group meanwhile, 0 */
	uint64_t data;	     /* tracee memory for arguments and results */
	uint64_t frame;	     /* recovery signal frame (frame mode), else 0 */
	uint64_t stack_lo;   /* frame mode: the stack bytes we use ... */
	size_t stack_len;
	void *stack_save; /* ... and what they held before */
};

/* Code of the tracee that frame-mode injection runs through. */
struct inject_gadgets {
	uint64_t syscall_ret;		/* [vdso]: syscall, register clears, ret */
	uint64_t sigreturn;		/* mov $15,%eax (or %rax); syscall */
	struct proc_vma sigreturn_area; /* where it was found (name not kept) */
};

/*
 * Rewrites regs of a task interrupted inside a system call so that, set
 * verbatim, the task re-issues that call.  same_task: the task keeps its
 * kernel restart block (dump --leave-running), so -ERESTART_RESTARTBLOCK
 * becomes restart_syscall; otherwise (restore into a new process) the
 * original call is issued again with its original arguments.
 * Returns true if regs were changed.
 */
bool regs_to_resume_form(struct user_regs_struct *regs, bool same_task);

/*
 * Saves tid's registers (converted to resume form) and blocked mask, blocks
 * every signal for the duration (PTRACE_SETSIGMASK) and uses gadget.  If the
 * byte after the gadget's "0f 05" is an int3 (0xcc), calls take one stop
 * each (PTRACE_CONT to the int3) instead of two (syscall entry and exit);
 * clear in->use_int3 before a call that unmaps the gadget itself.  0/-errno
 */
int inject_init(struct inject *in, pid_t tid, uint64_t gadget);

/*
 * Runs syscall nr(a[0..5]) in the tracee.  *ret gets the raw result (a
 * negative errno on failure inside the tracee).  Returns 0, or -errno when
 * ptrace itself failed (e.g. -ESRCH, the tracee died).
 */
int inject_syscall(struct inject *in, long *ret, long nr, const unsigned long a[6]);

/* Convenience wrapper: result of the syscall, or -errno of ptrace. */
long inject_call(struct inject *in, long nr, unsigned long a0, unsigned long a1, unsigned long a2,
		 unsigned long a3, unsigned long a4, unsigned long a5);

/*
 * Puts the saved signal mask back, then the registers (a tracee orphaned
 * between the two still recovers through its frame or scratch code), then
 * in frame mode the stack bytes the frame and data area covered.  0/-errno
 */
int inject_fini(struct inject *in);

/*
 * Finds g's gadgets in pid (vmas: its /proc/PID/maps).  A sigreturn found
 * for an earlier process of the same layout is checked and reused.
 * 0, -ENOENT when pid has none (frame mode impossible), or -errno.
 */
int inject_find_gadgets(pid_t pid, const struct proc_vma_list *vmas, struct inject_gadgets *g);

/*
 * Frame mode (dump side; see the head comment): saves tid's registers,
 * mask and stack bytes, writes the recovery frame (from xsave, the
 * thread's NT_X86_XSTATE area, or read here when NULL) and a zeroed data area of
 * data_len bytes at in->data.  Signals are blocked at the first call, once
 * the frame is in place.  0, -ENOSPC when the stack area holding rsp has
 * no room (use inject_init() + inject_map_scratch()), or -errno.
 */
int inject_init_frame(struct inject *in, pid_t tid, const struct inject_gadgets *g,
		      const struct proc_vma_list *vmas, const void *xsave, size_t xsave_len,
		      size_t data_len);
/* Writes back the stack bytes frame mode used (inject_fini() calls it). */
int inject_put_back_stack(struct inject *in);

/* Finds a syscall instruction in pid's [vdso], else in its other executable areas.  0/-errno */
int inject_find_vdso_gadget(pid_t pid, uint64_t *gadget);

/*
 * Dump side: maps len bytes (>= 2 pages) in the tracee with a self-recovering
 * gadget (see above) and switches in->gadget to it.  The area's first page
 * holds code; the rest is free scratch memory for syscall arguments starting
 * at in->data = in->scratch + 4096, up to the last 256 bytes.  0/-errno
 */
int inject_map_scratch(struct inject *in, size_t len);
/* Unmaps the scratch area (run before inject_fini). 0/-errno */
int inject_unmap_scratch(struct inject *in);

/* Copies to/from tracee memory (process_vm_writev/readv, /proc/pid/mem fallback). */
int inject_write(pid_t pid, uint64_t addr, const void *buf, size_t len);
int inject_read(pid_t pid, uint64_t addr, void *buf, size_t len);

#endif
