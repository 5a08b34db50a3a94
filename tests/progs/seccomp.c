/*
 * seccomp: seccomp filters across a dump (t-seccomp.sh).
 *
 *   A   whole process, first: getppid -> EPERM
 *   C1  child forked after A (inherits A only); drops CAP_SYS_ADMIN from
 *       its effective and permitted sets, no no_new_privs: restore must
 *       install its filter before it gets its final capabilities
 *   B   whole process, stacked, SECCOMP_FILTER_FLAG_LOG: uname -> EACCES
 *   T1  thread created after B: A and B
 *   T2  thread created after B, adds C for itself only (no TSYNC):
 *       getpgrp -> EPERM
 *   C2  child forked after B: sets no_new_privs, drops CAP_SYS_ADMIN, adds
 *       D: getsid -> EPERM (installed after its final credentials)
 *   F   main thread only, after the rest: rt_sigaction kills the process
 *       (SECCOMP_RET_KILL_PROCESS).  vxdump asks for the dispositions with
 *       injected rt_sigaction calls, so this only survives a dump that
 *       suspends the filters; the program calls no sigaction() after it.
 * With "block-munmap": E on the main thread only, last: munmap of an
 * address below 4 GiB -> EPERM (vxrestore's scratch area sits there; this
 * program's own mappings are higher up); "kill-munmap": the same call
 * kills the process (SECCOMP_RET_KILL_PROCESS).
 *
 * Every task and thread checks, before "ready" and again after "go", that
 * its blocked calls fail with their errno and the others work, and its
 * Seccomp / Seccomp_filters / NoNewPrivs lines in /proc/thread-self/status;
 * the root and both children count across the dump.  The root writes
 * "tids M T1 T2" and "children C1 C2" to OUTFILE.
 *
 * With "strict": a thread enters SECCOMP_MODE_STRICT and loops reading a
 * byte from a pipe the main thread feeds every 10 ms and writing "count N"
 * to OUTFILE (kept open); a dump must be refused and leave it counting.
 */
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/utsname.h>
#include "tree.h"

#define CAP_ADMIN_BIT	21	/* CAP_SYS_ADMIN */

struct expect {
	long nr;
	const char *name;
	int err;		/* errno the call must fail with, 0: must work */
};

/* A task or thread: what it must see. */
struct member {
	const char *who;
	const struct expect *calls;
	int n_calls;
	int filters;		/* Seccomp_filters */
	int nnp;		/* NoNewPrivs */
};

static const struct expect calls_main[] = {
	{ SYS_getppid, "getppid", EPERM }, { SYS_uname, "uname", EACCES },
	{ SYS_getpgrp, "getpgrp", 0 }, { SYS_getsid, "getsid", 0 },
};
static const struct expect calls_t2[] = {
	{ SYS_getppid, "getppid", EPERM }, { SYS_uname, "uname", EACCES },
	{ SYS_getpgrp, "getpgrp", EPERM }, { SYS_getsid, "getsid", 0 },
};
static const struct expect calls_c1[] = {
	{ SYS_getppid, "getppid", EPERM }, { SYS_uname, "uname", 0 },
	{ SYS_getpgrp, "getpgrp", 0 }, { SYS_getsid, "getsid", 0 },
};
static const struct expect calls_c2[] = {
	{ SYS_getppid, "getppid", EPERM }, { SYS_uname, "uname", EACCES },
	{ SYS_getpgrp, "getpgrp", 0 }, { SYS_getsid, "getsid", EPERM },
};

struct worker {
	struct member m;
	pthread_t th;
	pid_t tid;
	bool own_filter;		/* T2: installs C */
	volatile int req, done;		/* check requests from the main thread */
};

static struct worker workers[2];
static volatile int quit;
static volatile uint64_t counter, shadow;
static uint64_t at_ready;
static uint32_t block_munmap;	/* E's action, 0: no E */

/* Installs "nr -> errno err, everything else allowed" in the calling thread. */
static void deny(long nr, int err, unsigned int flags)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog))
		prog_fail("seccomp(deny %ld): %s", nr, strerror(errno));
}

/* E: munmap(addr < 4 GiB) -> action (EPERM or kill), in the calling thread. */
static void deny_low_munmap(uint32_t action)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_munmap, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]) + 4),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, action),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		prog_fail("seccomp(deny munmap): %s", strerror(errno));
}

/* F: rt_sigaction -> SECCOMP_RET_KILL_PROCESS, in the calling thread. */
static void kill_sigaction(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_rt_sigaction, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		prog_fail("seccomp(kill rt_sigaction): %s", strerror(errno));
}

/* The number after "key:" in /proc/thread-self/status, -1 if none. */
static long status_field(const char *status, const char *key)
{
	char want[64];
	const char *p;

	snprintf(want, sizeof(want), "\n%s:", key);
	p = strstr(status, want);
	return p ? strtol(p + strlen(want), NULL, 10) : -1;
}

/* The checks of one task or thread, recorded with CHECK. */
static void check_member(const struct member *m)
{
	static char status[4096];
	struct utsname u;
	int i;

	for (i = 0; i < m->n_calls; i++) {
		const struct expect *e = &m->calls[i];
		long r = e->nr == SYS_uname ? syscall(e->nr, &u) :
			 e->nr == SYS_getsid ? syscall(e->nr, 0) : syscall(e->nr);
		int err = r < 0 ? errno : 0;

		CHECK(err == e->err, "%s (tid %d): %s gave %s, expected %s", m->who, gettid(),
		      e->name, err ? strerror(err) : "success",
		      e->err ? strerror(e->err) : "success");
	}
	if (prog_read_file("/proc/thread-self/status", status, sizeof(status)) <= 0) {
		prog_record_failure("%s: /proc/thread-self/status: %s", m->who, strerror(errno));
		return;
	}
	CHECK(status_field(status, "Seccomp") == 2, "%s: Seccomp %ld, expected 2", m->who,
	      status_field(status, "Seccomp"));
	CHECK(status_field(status, "Seccomp_filters") == m->filters,
	      "%s: Seccomp_filters %ld, expected %d", m->who,
	      status_field(status, "Seccomp_filters"), m->filters);
	CHECK(status_field(status, "NoNewPrivs") == m->nnp, "%s: NoNewPrivs %ld, expected %d",
	      m->who, status_field(status, "NoNewPrivs"), m->nnp);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int seen = 0;

	if (w->own_filter)
		deny(SYS_getpgrp, EPERM, 0);
	__atomic_store_n(&w->tid, gettid(), __ATOMIC_RELEASE);
	while (!quit) {
		if (w->req != seen) {
			seen = w->req;
			check_member(&w->m);
			__atomic_store_n(&w->done, seen, __ATOMIC_RELEASE);
		}
		tree_sleep_ms(2);
	}
	return NULL;
}

/* Has each worker run its checks, one after the other. */
static void check_workers(void)
{
	long long end;
	int i;

	for (i = 0; i < 2; i++) {
		struct worker *w = &workers[i];
		int want = w->req + 1;

		w->req = want;
		end = tree_now_ms() + 10000;
		while (__atomic_load_n(&w->done, __ATOMIC_ACQUIRE) != want && tree_now_ms() < end)
			tree_sleep_ms(1);
		CHECK(w->done == want, "%s did not answer", w->m.who);
	}
}

static void drop_cap_admin(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct c[2];

	if (syscall(SYS_capget, &h, c))
		prog_fail("capget: %s", strerror(errno));
	c[0].effective &= ~(1u << CAP_ADMIN_BIT);
	c[0].permitted &= ~(1u << CAP_ADMIN_BIT);
	c[0].inheritable &= ~(1u << CAP_ADMIN_BIT);
	if (syscall(SYS_capset, &h, c))
		prog_fail("capset: %s", strerror(errno));
}

/* A child: its own setup, ready, count until go, check, report, exit. */
static void run_child(int up_fd, const struct member *m, bool nnp)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		prog_fail("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	drop_cap_admin();
	if (nnp)
		deny(SYS_getsid, EPERM, 0);	/* D: allowed by no_new_privs alone */
	check_member(m);
	if (prog_failure[0])
		tree_member_finish(up_fd);
	tree_send_ready(up_fd);
	at_ready = counter;
	tree_count_until_go(&counter, &shadow, 5, 0);
	check_member(m);
	tree_check_counter(&counter, &shadow, at_ready, m->who);
	tree_member_finish(up_fd);
}

static pid_t spawn(int *fd, const struct member *m, bool nnp)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		prog_fail("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		prog_fail("fork: %s", strerror(errno));
	if (!pid) {
		close(p[0]);
		run_child(p[1], m, nnp);
	}
	close(p[1]);
	*fd = p[0];
	return pid;
}

static void start_worker(int i, const char *who, const struct expect *calls, int filters,
			 bool own)
{
	struct worker *w = &workers[i];

	w->m = (struct member){ who, calls, 4, filters, 0 };
	w->own_filter = own;
	if (pthread_create(&w->th, NULL, worker_main, w))
		prog_fail("pthread_create failed");
	while (!__atomic_load_n(&w->tid, __ATOMIC_ACQUIRE))
		tree_sleep_ms(1);
}

/* ---- strict mode ---- */

static int feed[2];
static volatile int strict_on;
static volatile pid_t strict_tid;

/* Only read, write, _exit and sigreturn from here on (no libc formatting). */
static void *strict_main(void *arg)
{
	char line[32], digits[24], c;
	uint64_t n = 0, v;
	int len, k;

	(void)arg;
	strict_tid = gettid();
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_STRICT, 0, NULL))
		prog_fail("seccomp strict: %s", strerror(errno));
	__atomic_store_n(&strict_on, 1, __ATOMIC_RELEASE);
	for (;;) {
		if (read(feed[0], &c, 1) != 1)
			continue;
		if (++n % 5)
			continue;
		for (v = n, len = 0; v || !len; v /= 10)
			digits[len++] = '0' + v % 10;
		memcpy(line, "count ", 6);
		for (k = 0; k < len; k++)
			line[6 + k] = digits[len - 1 - k];
		line[6 + len] = '\n';
		if (write(prog_out_fd, line, 7 + len) < 0)
			continue;
		__atomic_store_n(&counter, n, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void run_strict(void)
{
	char status[4096], path[64];
	pthread_t th;
	pid_t tid;
	uint64_t before;

	prog_keep_out_open();
	if (pipe(feed))
		prog_fail("pipe: %s", strerror(errno));
	if (pthread_create(&th, NULL, strict_main, NULL))
		prog_fail("pthread_create failed");
	while (!__atomic_load_n(&strict_on, __ATOMIC_ACQUIRE))
		tree_sleep_ms(1);
	tid = strict_tid;
	prog_say("strict %d\n", tid);
	prog_ready();
	{
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		while (!prog_go) {
			if (write(feed[1], "x", 1) != 1)
				prog_fail("feed: %s", strerror(errno));
			tree_sleep_ms(10);
		}
		sigprocmask(SIG_BLOCK, &set, NULL);
	}
	before = __atomic_load_n(&counter, __ATOMIC_ACQUIRE);
	for (int i = 0; i < 20; i++) {
		if (write(feed[1], "x", 1) != 1)
			break;
		tree_sleep_ms(5);
	}
	tree_sleep_ms(50);
	CHECK(__atomic_load_n(&counter, __ATOMIC_ACQUIRE) > before,
	      "strict thread %d stopped counting at %llu", tid, (unsigned long long)before);
	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	if (prog_read_file(path, status, sizeof(status)) > 0)
		CHECK(status_field(status, "Seccomp") == 1, "strict thread %d: Seccomp %ld",
		      tid, status_field(status, "Seccomp"));
	else
		prog_record_failure("strict thread %d gone", tid);
	prog_finish();
}

int main(int argc, char **argv)
{
	struct member m_main = { "main", calls_main, 4, 3, 0 };
	struct member m_c1 = { "child 1", calls_c1, 4, 1, 0 };
	struct member m_c2 = { "child 2", calls_c2, 4, 3, 1 };
	int fds[2], n;
	pid_t kids[2];

	prog_init(argc, argv, "seccomp");
	if (argc > 2 && !strcmp(argv[2], "strict"))
		run_strict();
	if (argc > 2 && !strcmp(argv[2], "block-munmap"))
		block_munmap = SECCOMP_RET_ERRNO | EPERM;
	if (argc > 2 && !strcmp(argv[2], "kill-munmap"))
		block_munmap = SECCOMP_RET_KILL_PROCESS;
	deny(SYS_getppid, EPERM, 0);				/* A */
	kids[0] = spawn(&fds[0], &m_c1, false);			/* C1 */
	deny(SYS_uname, EACCES, SECCOMP_FILTER_FLAG_LOG);	/* B */
	start_worker(0, "thread 1", calls_main, 2, false);	/* T1 */
	start_worker(1, "thread 2", calls_t2, 3, true);		/* T2 + C */
	kids[1] = spawn(&fds[1], &m_c2, true);			/* C2 + D */
	kill_sigaction();					/* F */
	if (block_munmap) {
		deny_low_munmap(block_munmap);			/* E */
		m_main.filters++;
	}
	check_member(&m_main);
	check_workers();
	n = tree_collect(fds, 2, 2, 0, 20000, -1, NULL);
	if (n != 2 || prog_failure[0])
		prog_fail("setup: %d of 2 children ready; %s", n, prog_failure);
	prog_say("tids %d %d %d\n", gettid(), workers[0].tid, workers[1].tid);
	prog_say("children %d %d\n", kids[0], kids[1]);
	prog_ready();
	at_ready = counter;
	tree_count_until_go(&counter, &shadow, 5, 20);
	kill(kids[0], SIGUSR1);
	kill(kids[1], SIGUSR1);
	check_member(&m_main);
	check_workers();
	tree_check_counter(&counter, &shadow, at_ready, "main");
	n = tree_collect(fds, 2, 2, 1, 20000, -1, NULL);
	CHECK(n == 2, "%d of 2 children reported", n);
	quit = 1;
	pthread_join(workers[0].th, NULL);
	pthread_join(workers[1].th, NULL);
	waitpid(kids[0], NULL, 0);
	waitpid(kids[1], NULL, 0);
	prog_check_counts();
	prog_finish();
}
