/*
 * vmad_execdump: run a program and write its image just after its exec,
 * before it runs one instruction of the new program; then kill it.
 *
 * All of it happens in a helper process (helper.c), so the program is the
 * helper's child and every SIGCHLD of it goes there, not to the caller.
 * The helper forks the program's process, seizes it (PTRACE_SEIZE with
 * PTRACE_O_TRACEEXEC and PTRACE_O_EXITKILL) and lets it exec; at the exec
 * event stop it queues SIGSTOP and detaches, so the process, on its way
 * back to user mode, enters a group stop before its first instruction.
 * The library's dump then takes it (root_stop_ours: recorded as running)
 * and kills it.  The helper reports the program's pid first, so a caller
 * whose helper died kills what may be left of the program.
 */
#define LOG_PREFIX "vmad: "
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include "log.h"
#include "error.h"
#include "util/report.h"
#include "vxcr/vmadump.h"
#include "vmad/dump.h"

struct exec_job {
	char *const *argv;
	char *const *envp;
	int fd;
	unsigned int flags;
	struct vmad_libs libs;
};

/* What the helper tells the caller: the program's pid, then the outcome. */
struct exec_report {
	int64_t bytes;
	int32_t pid;
};

/* The program's process: waits for the start byte on go, then execs. */
static void __attribute__((noreturn)) exec_child(const struct exec_job *j, int go, int err_w)
{
	int e;
	char c;

	if (read(go, &c, 1) != 1)
		_exit(127);
	close(go);
	if (j->fd > 2)
		close(j->fd);
	execve(j->argv[0], j->argv, j->envp);
	e = errno;
	if (write(err_w, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/* Waits for pid's next stop (a group stop too) or end: the status, or -1
 * if it is gone. */
static int wait_child(pid_t pid)
{
	int status;
	pid_t r;

	do
		r = waitpid(pid, &status, __WALL | WUNTRACED);
	while (r < 0 && errno == EINTR);
	return r == pid ? status : -1;
}

/*
 * Runs the program in pid (seized, waiting on go) up to its exec stop and
 * leaves it group-stopped there, untraced.  0 or -errno (logged).
 */
static int stop_after_exec(pid_t pid, int go_w, int err_r)
{
	int status, e = 0;

	if (write(go_w, "g", 1) != 1)
		return -EPIPE;
	for (;;) {
		status = wait_child(pid);
		if (status < 0 || WIFEXITED(status) || WIFSIGNALED(status)) {
			if (read(err_r, &e, sizeof(e)) == sizeof(e) && e > 0) {
				errno = e;
				pr_perror("vmad_execdump: cannot exec");
				return -e;
			}
			pr_err("vmad_execdump: the program's process ended before its exec\n");
			return -ECHILD;
		}
		if (WIFSTOPPED(status) && (status >> 8) == (SIGTRAP | (PTRACE_EVENT_EXEC << 8)))
			break;
		/* another stop (a signal before the exec): passed on */
		ptrace(PTRACE_CONT, pid, 0,
		       (void *)(long)(WSTOPSIG(status) == SIGTRAP ? 0 : WSTOPSIG(status)));
	}
	/* pending when it leaves the exec: stops before its first instruction */
	if (kill(pid, SIGSTOP) || ptrace(PTRACE_DETACH, pid, 0, 0)) {
		pr_perror("vmad_execdump: cannot stop pid %d after its exec", pid);
		return -errno;
	}
	status = wait_child(pid);
	if (status < 0 || !WIFSTOPPED(status)) {
		pr_err("vmad_execdump: pid %d did not stop after its exec\n", pid);
		return -ECHILD;
	}
	return 0;
}

/* Forks the program's process, seized: its pid, or -errno (logged). */
static pid_t start_program(const struct exec_job *j, int *go_w, int *err_r)
{
	int go[2], err[2];
	pid_t pid;

	if (pipe2(go, O_CLOEXEC))
		return -errno;
	if (pipe2(err, O_CLOEXEC)) {
		close(go[0]);
		close(go[1]);
		return -errno;
	}
	pid = fork();
	if (pid == 0) {
		close(go[1]);
		close(err[0]);
		exec_child(j, go[0], err[1]);
	}
	close(go[0]);
	close(err[1]);
	*go_w = go[1];
	*err_r = err[0];
	if (pid < 0)
		return -errno;
	if (ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL)) {
		pr_perror("vmad_execdump: cannot seize pid %d", pid);
		kill(pid, SIGKILL);
		wait_child(pid);
		return -EPERM;
	}
	return pid;
}

/* The dump of the stopped program pid: 0 with *bytes, or -errno. */
static int dump_program(const struct exec_job *j, pid_t pid, int64_t *bytes)
{
	struct vxcr_dump_stats st;
	struct vxcr_dump_opts o;
	int ret;

	vxcr_dump_opts_init(&o);
	o.root_only = true;
	o.root_stop_ours = true;
	o.file_contents = j->flags;
	o.file_refs = (const char *const *)j->libs.paths;
	o.n_file_refs = j->libs.n;
	ret = vmadump_target(pid, j->fd, &o, &st); /* kills it once the image is complete */
	*bytes = (int64_t)st.image_bytes;
	return ret;
}

/* In the helper: the program from fork to kill, told on h->res[1]. */

/* The program (pid > 0) killed and reaped, and our ends of its pipes
 * closed. */
static void program_gone(pid_t pid, int go_w, int err_r)
{
	int status;

	if (pid > 0) {
		kill(pid, SIGKILL);
		do
			status = wait_child(pid);
		while (status >= 0 && !WIFEXITED(status) && !WIFSIGNALED(status));
	}
	if (go_w >= 0)
		close(go_w);
	if (err_r >= 0)
		close(err_r);
}
static void exec_run(void *arg, const struct vmad_helper *h)
{
	const struct exec_job *j = arg;
	struct exec_report rep = { 0, 0 };
	int go_w = -1, err_r = -1, ret;
	pid_t pid;

	if (!vmadump_helper_wait_go(h))
		return;
	pid = start_program(j, &go_w, &err_r);
	ret = pid < 0 ? (int)pid : 0;
	if (!ret) {
		rep.pid = pid;
		ret = report_send(h->res[1], 0, &rep, sizeof(rep));
	}
	ret = ret ?: stop_after_exec(pid, go_w, err_r);
	ret = ret ?: dump_program(j, pid, &rep.bytes);
	program_gone(pid, go_w, err_r); /* killed by the dump already, unless it failed */
	report_send(h->res[1], ret, &rep, sizeof(rep));
}

static int execdump_check(char *const argv[], int fd, unsigned int flags)
{
	int fl = fd < 0 ? -1 : fcntl(fd, F_GETFL);

	if (!argv || !argv[0] || !argv[0][0]) {
		err_set(-EINVAL, "vmad_execdump: no program (argv[0])");
		return -EINVAL;
	}
	if (flags & ~VMAD_DUMP_ALL) {
		err_set(-EINVAL, "vmad_execdump: unknown flags %#x", flags & ~VMAD_DUMP_ALL);
		return -EINVAL;
	}
	if (fl < 0 || (fl & O_PATH) || (fl & O_ACCMODE) == O_RDONLY) {
		err_set(-EBADF, "vmad_execdump: fd %d is not open for writing", fd);
		return -EBADF;
	}
	return 0;
}

/*
 * The caller's side: the helper's first report names the program's pid,
 * the second the outcome.  A helper that dies between them leaves the
 * program maybe stopped: it is killed.  The bytes, or -errno.
 */
static long execdump_wait(struct vmad_helper *h)
{
	struct exec_report rep = { 0, 0 };
	int ret;

	if (vmadump_helper_go(h))
		return -EPIPE;
	ret = report_recv(h->res[0], &rep, sizeof(rep));
	if (!ret)
		ret = report_recv(h->res[0], &rep, sizeof(rep));
	if (ret == 1 && rep.pid > 0)
		kill(rep.pid, SIGKILL);
	if (ret == 1) {
		err_set(-EINTR, "vmad_execdump: the helper process died before the image was "
				"complete");
		return -EINTR;
	}
	return ret < 0 ? ret : (long)rep.bytes;
}

static long execdump(char *const argv[], char *const envp[], int fd, unsigned int flags)
{
	struct exec_job job = { argv, envp ? envp : environ, fd, flags, { NULL, 0 } };
	struct vmad_helper h = { .run = exec_run, .arg = &job };
	long ret;

	ret = execdump_check(argv, fd, flags);
	ret = ret ?: vmadump_libs_copy(&job.libs);
	if (ret)
		return ret;
	ret = vmadump_helper_start(&h);
	ret = ret ?: execdump_wait(&h);
	vmadump_helper_close(&h);
	vmadump_libs_free(&job.libs);
	return ret;
}

long vmad_execdump(char *const argv[], char *const envp[], int fd, unsigned int flags)
{
	int saved_errno = errno;
	long ret;

	err_op_begin();
	ret = err_op_end_long(execdump(argv, envp, fd, flags));
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	errno = saved_errno;
	return ret;
}

pid_t vmadump_exec_stopped(char *const argv[], char *const envp[])
{
	struct exec_job j = { argv, envp ? envp : environ, -1, 0, { NULL, 0 } };
	int go_w = -1, err_r = -1, ret;
	pid_t pid = start_program(&j, &go_w, &err_r);

	ret = pid < 0 ? (int)pid : stop_after_exec(pid, go_w, err_r);
	program_gone(ret ? pid : 0, go_w, err_r);
	return ret ? ret : pid;
}
