/*
 * BProc moves (vxcr/bproc.h) of this process, for t-bproc-*.sh.
 *
 *   bproc-move OUT move NODE CODE   vx_move(NODE); on the node: memory and
 *                                   counter checked, "PASS moved ..." to
 *                                   OUT, then exit CODE (CODE "wait": wait
 *                                   for signals, "got SIG" for each USR1,
 *                                   die by SIGTERM's default).  A failed
 *                                   move: "BACK errno=E" and the checks
 *                                   here, exit 0.
 *   bproc-move OUT rfork NODE CODE  vx_rfork(NODE): the child checks and
 *                                   exits CODE on the node; the parent
 *                                   waits for it: "RFORK status=..." or
 *                                   "RFORK failed errno=E children=N".
 *   bproc-move OUT vrfork A,B,.. CODE  vx_vrfork: each child checks and
 *                                   exits CODE+rank on its node; the parent
 *                                   reports "VRFORK n= ms=" and each
 *                                   child's status (or errno).
 *   bproc-move OUT vexecmove A,B,.. -  vx_vexecmove of sh -c 'echo
 *                                   rank=$BPROC_RANK; exit 7'; the same.
 *   bproc-move OUT execmove NODE -  vx_execmove of that program: this
 *                                   process becomes its ghost.
 */
#include <pthread.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "prog.h"
#include "vxcr/vxcr.h"
#include "vxcr/bproc.h"

#define MEM_PAGES 2048 /* 8 MiB */

static uint64_t *mem;
static double t_move; /* CLOCK_MONOTONIC before the move: the node is this host */
static uint64_t counter;
static volatile sig_atomic_t got_usr1;

static void fill(void)
{
	mem = mmap(NULL, MEM_PAGES * 4096ul, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	if (mem == MAP_FAILED)
		exit(3);
	for (size_t i = 0; i < MEM_PAGES * 512ul; i++)
		mem[i] = i * 0x9e3779b97f4a7c15ull ^ 0x5a5a;
	for (counter = 0; counter < 1000; counter++)
		;
}

static int check_mem(void)
{
	for (size_t i = 0; i < MEM_PAGES * 512ul; i++)
		if (mem[i] != (i * 0x9e3779b97f4a7c15ull ^ 0x5a5a))
			return -1;
	return counter == 1000 ? 0 : -1;
}

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1++;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* On the node: the checks, then the end asked for. */
static int moved(const char *what, const char *code)
{
	prog_say("PASS %s node=%d pid=%d mem=%s ms=%.1f\n", what, vx_currnode(), (int)getpid(),
		 check_mem() ? "BAD" : "ok", now_ms() - t_move);
	if (strcmp(code, "wait"))
		return atoi(code);
	signal(SIGUSR1, on_usr1);
	for (;;) {
		pause();
		while (got_usr1) {
			got_usr1--;
			prog_say("got USR1 node=%d\n", vx_currnode());
		}
	}
}

static void *idle(void *arg)
{
	for (;;)
		pause();
	return arg;
}

static char *sh_argv[] = { "/bin/sh", "-c", "echo rank=$BPROC_RANK; exit 7", NULL };
static char *sh_envp[] = { "PATH=/usr/bin:/bin", "BPROC_RANK=XXXXXXX", NULL };

/* vrfork / vexecmove of the nodes in list; the parent's side. */
static int fan(const char *how, const char *list, int code)
{
	int nodes[16], n = 0, r, status;
	pid_t pids[16];
	double t0 = now_ms();
	char *end;

	for (const char *p = list; *p && n < 16; p = *end ? end + 1 : end)
		nodes[n++] = (int)strtol(p, &end, 10);
	if (!strcmp(how, "vrfork")) {
		r = vx_vrfork(nodes, n, pids);
		if (r >= 0 && r < n) {
			prog_say("PASS vrforked rank=%d node=%d mem=%s\n", r, vx_currnode(),
				 check_mem() ? "BAD" : "ok");
			return code + r;
		}
	} else {
		r = vx_vexecmove(nodes, n, sh_argv, sh_envp, pids);
	}
	if (r < 0)
		return prog_say("FAN failed errno=%d why=%s\n", errno, vxcr_last_error()), 0;
	prog_say("FAN %s n=%d made=%d ms=%.1f\n", how, n, r, now_ms() - t0);
	for (int i = 0; i < n; i++) {
		if (pids[i] < 0) {
			prog_say("FAN rank=%d errno=%d\n", i, -pids[i]);
			continue;
		}
		if (waitpid(pids[i], &status, 0) != pids[i])
			return prog_say("FAN waitpid: %s\n", strerror(errno)), 1;
		prog_say("FAN rank=%d status=%s %d\n", i, WIFEXITED(status) ? "exit" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	prog_say("FAN children-left=%d\n",
		 waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD ? 0 : 1);
	return 0;
}

int main(int argc, char **argv)
{
	int node, status, e;
	pid_t pid;

	if (argc != 5)
		return 2;
	prog_out = argv[1];
	node = atoi(argv[3]);
	fill();
	if (!strcmp(argv[2], "vrfork") || !strcmp(argv[2], "vexecmove"))
		return fan(argv[2], argv[3], atoi(argv[4]));
	if (!strcmp(argv[2], "move-threaded")) { /* a second thread: EBUSY */
		pthread_t th;

		if (pthread_create(&th, NULL, idle, NULL))
			return 3;
		if (vx_move(node) == 0)
			return prog_say("FAIL moved with threads\n"), 1;
		prog_say("BACK errno=%d node=%d mem=%s why=%s\n", errno, vx_currnode(),
			 check_mem() ? "BAD" : "ok", vxcr_last_error());
		return 0;
	}
	if (!strcmp(argv[2], "execmove")) {
		vx_execmove(node, sh_argv, sh_envp);
		prog_say("EXECMOVE failed errno=%d why=%s\n", errno, vxcr_last_error());
		return 0;
	}
	if (!strcmp(argv[2], "move")) {
		prog_say("before pid=%d node=%d\n", (int)getpid(), vx_currnode());
		t_move = now_ms();
		if (vx_move(node) == 0)
			return moved("moved", argv[4]);
		e = errno;
		prog_say("BACK errno=%d node=%d mem=%s why=%s\n", e, vx_currnode(),
			 check_mem() ? "BAD" : "ok", vxcr_last_error());
		return 0;
	}
	pid = vx_rfork(node);
	if (pid == 0)
		return moved("rforked", argv[4]);
	if (pid < 0) {
		e = errno;
		prog_say("RFORK failed errno=%d children=%d why=%s\n", e,
			 waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD ? 0 : 1,
			 vxcr_last_error());
		return 0;
	}
	prog_say("RFORK pid=%d\n", (int)pid);
	if (waitpid(pid, &status, 0) != pid)
		return prog_say("RFORK waitpid: %s\n", strerror(errno)), 1;
	if (WIFEXITED(status))
		prog_say("RFORK status=exit %d\n", WEXITSTATUS(status));
	else
		prog_say("RFORK status=signal %d\n", WTERMSIG(status));
	return 0;
}
