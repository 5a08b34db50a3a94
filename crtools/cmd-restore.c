/*
 * vxcr restore / vxrestore: restart a process from an image.
 *
 *   vxrestore [-d] [--pidfile F] [--pidns] [--netns] [--rundir DIR] [--manage-cgroups]
 *             [--trusted-keys DIR | --trust-image] [-v] [FILE|-]
 *
 * An image file is restored only if it is trusted: a file only root could
 * have written or replaced (vxcr_open_trusted()), a signature by a key of
 * --trusted-keys DIR, or --trust-image from the user.  stdin is trusted.
 *
 * Without -d it waits for the restored process and exits with its status
 * (128+signal if it was killed, like a shell); a tree whose controlling
 * terminal was outside it becomes the foreground job of ours, and its
 * stops are passed on to the shell that waits for us (job_stopped).  A context image (vxdump
 * --ctx) recreates the context, under its supervisor, and returns once it
 * runs, as `vxcr ctx create` does.  Through the switch (vxcr_restart2():
 * the kernel module when there is one).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/wait.h>

#include "vxcr/vxcr.h"
#include "vxcr/vserver.h"
#include "cmd.h"

static void restore_usage(FILE *f)
{
	fprintf(f, "usage: vxrestore [-d] [--pidfile FILE] [--pidns] [--netns] [--rundir DIR]\n"
		   "                 [--manage-cgroups] [--trusted-keys DIR | --trust-image]\n"
		   "                 [--parent PARENT ...]\n"
		   "                 [--kernel]\n"
		   "                 [-v] [IMAGE|-]\n"
		   "       vxrestore --help | --version\n"
		   "\n"
		   "Restarts the processes of IMAGE (or stdin if it is - or missing) and waits\n"
		   "for the root one: exits with its status (128+N if killed by signal N).\n"
		   "IMAGE must be owned by root and writable by nobody else, in directories\n"
		   "only root can change (sticky ones such as /tmp too), unless it is signed\n"
		   "and --trusted-keys is given, or --trust-image.  A context image recreates\n"
		   "the context (same xid, flags, caps, uname, pids inside) and returns once\n"
		   "it runs.\n"
		   "\n"
		   "  -d, --detach         print the pid and return once it runs\n"
		   "      --pidfile FILE   write the restored pid to FILE (a context: its init)\n"
		   "      --pidns          restore inside a new PID namespace (recorded pids\n"
		   "                       are free there)\n"
		   "      --netns          restore inside a new network namespace with only\n"
		   "                       its loopback, up (a copy beside the original)\n"
		   "      --rundir DIR     a context image: where its record goes (default\n"
		   "                       $VXCR_RUNDIR or /run/vxcr)\n"
		   "      --manage-cgroups create the image's cgroups that are missing below\n"
		   "                       the restored root's (else they must exist)\n"
		   "      --trusted-keys DIR  accept only an image signed by a key DIR/NAME.pub\n"
		   "      --trust-image    restore IMAGE even if others could have written it\n"
		   "      --parent PARENT  an incremental image's parent (vxdump --parent);\n"
		   "                       repeated for a chain, nearest first\n"
		   "      --kernel         the kernel module (vxcr.ko) restores the image's one\n"
		   "                       process (vmad_undump) in a new child with its pid;\n"
		   "                       with -d, --pidfile, --pidns, --trusted-keys only\n");
	cli_common_help(f);
	fprintf(f, "\nExit status: the restored process's (without -d), 0 (with -d, or a\n"
		   "context), 1 failure, 2 usage.\n");
}

static int write_pidfile(const char *path, pid_t pid)
{
	FILE *f = fopen(path, "we");

	if (!f || fprintf(f, "%d\n", pid) < 0 || fclose(f)) {
		cli_error("pidfile %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The restored job stopped (Ctrl-Z, SIGTTIN...): we stop too, with the
 * terminal given back to our group, so the shell that waits for us sees
 * the job stopped.  When continued, fg (the shell gave our group the
 * terminal) hands it to the job again with the termios it had; bg does
 * not.  Either way the job is continued.
 */
static void job_stopped(int tty, pid_t job)
{
	struct termios modes;
	bool have_modes = !tcgetattr(tty, &modes);
	sigset_t ttou, old;

	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, &old);
	if (tcgetpgrp(tty) == job)
		tcsetpgrp(tty, getpgrp());
	sigprocmask(SIG_SETMASK, &old, NULL);
	raise(SIGSTOP);
	/* continued by fg or bg */
	sigprocmask(SIG_BLOCK, &ttou, &old);
	if (tcgetpgrp(tty) == getpgrp()) {
		if (have_modes)
			tcsetattr(tty, TCSADRAIN, &modes);
		tcsetpgrp(tty, job);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	kill(-job, SIGCONT);
}

/*
 * Waits for pid; returns its exit status the shell way.  job > 0: the
 * restored tree's group holds our terminal (its ctty was outside it), so
 * we hand job control over: SIGINT/SIGQUIT from the terminal reach it, not
 * us, and its stops are passed on to the shell waiting for us (a job
 * dumped stopped too: its stop is reported to us once it is let go).
 */
static int wait_restored(pid_t pid, pid_t job)
{
	int status, tty = -1;

	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	if (job > 0)
		tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	for (;;) {
		if (waitpid(pid, &status, tty >= 0 ? WUNTRACED : 0) < 0) {
			if (errno == EINTR)
				continue;
			cli_error("waitpid %d: %s", pid, strerror(errno));
			return 1;
		}
		if (!WIFSTOPPED(status))
			break;
		job_stopped(tty, job);
	}
	if (tty >= 0)
		close(tty);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

#define MAX_PARENTS 64

static void close_fds(int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Opens the --parent images as the image itself is opened (trusted the same
 * way); not stdin.  0, or -1 after one line (fds all -1 or open). */
static int open_parents(const char **paths, size_t n, bool trusted, int *fds)
{
	size_t i;

	for (i = 0; i < n; i++)
		fds[i] = -1;
	for (i = 0; i < n; i++) {
		if (!strcmp(paths[i], "-")) {
			cli_error("restore: --parent cannot be stdin");
			return -1;
		}
		fds[i] = image_open_input("restore: --parent", paths[i], trusted);
		if (fds[i] < 0)
			return -1;
	}
	return 0;
}

int cmd_restore(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "detach", no_argument, NULL, 'd' },
		{ "pidns", no_argument, NULL, 'P' },
		{ "netns", no_argument, NULL, 'N' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "rundir", required_argument, NULL, 'R' },
		{ "trusted-keys", required_argument, NULL, 'K' },
		{ "trust-image", no_argument, NULL, 'T' },
		{ "manage-cgroups", no_argument, NULL, 'C' },
		{ "parent", required_argument, NULL, 'A' },
		{ "kernel", no_argument, NULL, 'k' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct vxcr_restore_opts o;
	struct vxcr_restore_stats st = { 0 };
	const char *pidfile = NULL, *keydir = NULL;
	struct vxcr_keyring *kr = NULL;
	bool trust_image = false, kernel = false;
	const char *parents[MAX_PARENTS];
	int parent_fds[MAX_PARENTS];
	size_t n_parents = 0;
	pid_t pid;
	long ret;
	int c, fd;

	vxcr_restore_opts_init(&o);
	while ((c = getopt_long(argc, argv, ":dvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o.detach = true;
			break;
		case 'P':
			o.pidns = true;
			break;
		case 'N':
			o.netns = true;
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'R':
			o.rundir = optarg;
			break;
		case 'K':
			keydir = optarg;
			break;
		case 'T':
			trust_image = true;
			break;
		case 'C':
			o.manage_cgroups = true;
			break;
		case 'A':
			if (n_parents == MAX_PARENTS) {
				cli_error("restore: at most %d --parent images", MAX_PARENTS);
				return EXIT_USAGE;
			}
			parents[n_parents++] = optarg;
			break;
		case 'k':
			kernel = true;
			break;
		case 'v':
			cli_set_verbose();
			break;
		case 'h':
			restore_usage(stdout);
			return 0;
		case OPT_VERSION:
			return cli_print_version();
		default:
			return cli_bad_option("restore", "vxrestore", c, argv);
		}
	}
	/* the library refuses the options --kernel cannot honour, by name */
	if (kernel && vxcr_kernel_module()) {
		cli_error("restore: --kernel %s", vxcr_last_error());
		return 1;
	}
	if (argc - optind > 1) {
		cli_error("restore: expected one IMAGE, not '%s' too (see vxrestore --help)",
			  argv[optind + 1]);
		return EXIT_USAGE;
	}
	if (keydir && vxcr_keyring_load(keydir, &kr)) {
		cli_error("restore: %s", vxcr_last_error());
		return 1;
	}
	o.trusted_keys = kr;
	fd = open_parents(parents, n_parents, !kr && !trust_image, parent_fds) ?
		     -1 :
		     image_open_input("restore", optind < argc ? argv[optind] : NULL,
				      !kr && !trust_image);
	if (fd < 0) {
		close_fds(parent_fds, n_parents);
		vxcr_keyring_free(kr);
		return 1;
	}
	o.parent_fds = parent_fds;
	o.n_parents = n_parents;
	if (kernel)
		ret = vxcr_kernel_restore(fd, &o, &pid, &st) ?: pid;
	else
		ret = vxcr_restart2(0, fd, &o, &st);
	if (fd != STDIN_FILENO)
		close(fd);
	close_fds(parent_fds, n_parents);
	vxcr_keyring_free(kr);
	if (ret < 0) {
		cli_error(NULL);
		return 1;
	}
	pid = (pid_t)ret;
	/* -v: the library's own info line says what was restored, and how fast */
	if (st.ctx_xid) {
		/* the context's supervisor (not our child) owns it now */
		return pidfile && write_pidfile(pidfile, pid) ? 1 : 0;
	}
	if (pidfile && write_pidfile(pidfile, pid)) {
		kill(pid, SIGKILL);
		waitpid(st.ns_init > 0 ? st.ns_init : pid, NULL, 0);
		return 1;
	}
	if (o.detach) {
		printf("%d\n", pid);
		return 0;
	}
	return wait_restored(st.ns_init > 0 ? st.ns_init : pid, st.ns_init > 0 ? 0 : st.job_pgrp);
}
