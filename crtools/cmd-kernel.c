/*
 * vxdump --kernel: the kernel module checkpoints one process (task_dump).
 * We stop it the way the library's dump does, PTRACE_SEIZE and
 * PTRACE_INTERRUPT of every thread (no SIGSTOP its parent would see), ask
 * vxcr_task_dump() for the image, then kill it once the image is complete
 * (or let it go on with --leave-running); on any failure every thread is
 * let go as it was.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "vxcr/vxcr.h"
#include "vxcr/vserver.h"
#include "cmd.h"

#define MAX_THREADS 4096

struct kstop {
	pid_t pid;
	size_t n;
	pid_t tid[MAX_THREADS];
	int sig[MAX_THREADS]; /* a signal caught on its way in: given back */
};

static bool seized(const struct kstop *k, pid_t tid)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (k->tid[i] == tid)
			return true;
	return false;
}

/* Seizes, interrupts and waits for one thread: 0, 1 (gone), -1 (a line). */
static int stop_thread(struct kstop *k, pid_t tid)
{
	int status;

	if (ptrace(PTRACE_SEIZE, tid, 0, 0)) {
		if (errno == ESRCH)
			return 1;
		cli_error("dump: --kernel: cannot stop pid %d: ptrace: %s", tid, strerror(errno));
		return -1;
	}
	k->tid[k->n] = tid;
	k->sig[k->n++] = 0;
	ptrace(PTRACE_INTERRUPT, tid, 0, 0);
	while (waitpid(tid, &status, __WALL) < 0) {
		if (errno != EINTR) {
			cli_error("dump: --kernel: waitpid %d: %s", tid, strerror(errno));
			return -1;
		}
	}
	if (!WIFSTOPPED(status)) {
		k->n--;
		if (tid == k->pid) {
			cli_error("dump: --kernel: pid %d exited", tid);
			return -1;
		}
		return 1;
	}
	if (status >> 16 != PTRACE_EVENT_STOP)
		k->sig[k->n - 1] = WSTOPSIG(status); /* signal-delivery stop */
	return 0;
}

/* Stops every thread of k->pid, listing them until a pass finds no new
 * one (a thread made meanwhile by one not yet stopped).  0 or -1. */
static int stop_all(struct kstop *k)
{
	char path[64];
	bool more = true;
	struct dirent *d;
	DIR *dir;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", k->pid);
	while (more && !ret) {
		dir = opendir(path);
		if (!dir) {
			cli_error("dump: --kernel: pid %d: %s", k->pid, strerror(errno));
			return -1;
		}
		more = false;
		while (!ret && (d = readdir(dir))) {
			pid_t tid = atoi(d->d_name);

			if (tid <= 0 || seized(k, tid))
				continue;
			if (k->n == MAX_THREADS) {
				cli_error("dump: --kernel: pid %d has more than %d threads", k->pid,
					  MAX_THREADS);
				ret = -1;
				break;
			}
			more = true;
			ret = stop_thread(k, tid) < 0 ? -1 : 0;
		}
		closedir(dir);
	}
	return ret;
}

static void let_go(struct kstop *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		ptrace(PTRACE_DETACH, k->tid[i], 0, k->sig[i]);
	k->n = 0;
}

/* Refuses what task_dump would not dump right, once everything is stopped:
 * children (a tree) and a signal caught on its way in (it would be lost). */
static int check_stopped(const struct kstop *k)
{
	char path[96];
	size_t i;
	int c;

	for (i = 0; i < k->n; i++) {
		FILE *f;

		if (k->sig[i]) {
			cli_error("dump: --kernel: pid %d was stopped with signal %d on its way "
				  "in; try again",
				  k->tid[i], k->sig[i]);
			return -1;
		}
		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", k->pid, k->tid[i]);
		f = fopen(path, "re");
		if (!f)
			continue;
		c = fgetc(f);
		fclose(f);
		if (c != EOF) {
			cli_error(
				"dump: --kernel: pid %d has children (a tree): the kernel dumps one "
				"process (vxdump without --kernel dumps trees)",
				k->pid);
			return -1;
		}
	}
	return 0;
}

/* Makes the image complete: the -o file replaced and synced, or stdout
 * synced when it is a file. */
static int finish_output(struct out_file *of, bool sync)
{
	struct stat st;
	int ret;

	if (of) {
		ret = out_file_commit(of, sync);
		if (ret)
			cli_error("%s", of->err);
		return ret ? -1 : 0;
	}
	if (sync && !fstat(STDOUT_FILENO, &st) && S_ISREG(st.st_mode) && fsync(STDOUT_FILENO)) {
		cli_error("dump: fsync of stdout: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int kernel_dump(pid_t pid, struct out_file *of, unsigned int flags, bool sync, bool leave_running)
{
	struct kstop *k;
	long ret;

	if (vxcr_kernel_module()) {
		cli_error("dump: --kernel %s", vxcr_last_error());
		return 1;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		cli_error("dump: out of memory");
		return 1;
	}
	k->pid = pid;
	signal(SIGPIPE, SIG_IGN);
	ret = stop_all(k) ?: check_stopped(k);
	if (!ret) {
		ret = vxcr_task_dump(pid, of ? of->fd : STDOUT_FILENO, flags);
		if (ret < 0)
			cli_error("dump: %s", vxcr_last_error());
		else
			ret = finish_output(of, sync);
	}
	if (!ret && !leave_running)
		kill(pid, SIGKILL);
	let_go(k);
	free(k);
	return ret ? 1 : 0;
}

/* --kernel-store LIST: VMAD_DUMP_* classes by name (libs,exec,other,all). */
int kernel_store_flags(const char *opt, const char *arg, unsigned int *flags)
{
	char *s = strdup(arg), *tok, *save = NULL;
	int ret = 0;

	if (!s)
		return -1;
	*flags = 0;
	for (tok = strtok_r(s, ",", &save); tok && !ret; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "libs"))
			*flags |= VMAD_DUMP_LIBS;
		else if (!strcmp(tok, "exec"))
			*flags |= VMAD_DUMP_EXEC;
		else if (!strcmp(tok, "other"))
			*flags |= VMAD_DUMP_OTHER;
		else if (!strcmp(tok, "all"))
			*flags |= VMAD_DUMP_ALL;
		else
			ret = -1;
	}
	free(s);
	if (ret || !*flags)
		cli_error("dump: %s takes libs, exec, other or all, comma-separated, not '%s'", opt,
			  arg);
	return ret || !*flags ? -1 : 0;
}
