/*
 * dump-refused: counts like counter.c while holding something vxdump
 * refuses (see NOTES), so the harness can check that a refused dump leaves
 * it running.  Usage: dump-refused OUTFILE socket|thread|child
 *
 *   socket  a TCP socket listening on 127.0.0.1 (port chosen by the kernel);
 *           writes "socket FD" to OUTFILE
 *   thread  a second thread that sleeps in a loop
 *   child   a child process that sleeps (killed with SIGKILL when the
 *           program finishes, or by PR_SET_PDEATHSIG); writes "child PID"
 *
 * On SIGUSR1 it checks that its "count N" lines increase strictly and that
 * the socket still listens / the thread and the child still run.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include "prog.h"

static volatile uint64_t counter;
static volatile int thread_beats;
static int have_thread;
static int sock_fd = -1;
static pid_t child_pid = -1;

static void setup_socket(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sock_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (sock_fd < 0 || bind(sock_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(sock_fd, 4))
		prog_fail("TCP socket on 127.0.0.1: %s", strerror(errno));
	prog_say("socket %d\n", sock_fd);
}

static void *thread_main(void *arg)
{
	struct timespec step = { 0, 20 * 1000000L };

	(void)arg;
	for (;;) {
		thread_beats++;
		nanosleep(&step, NULL);
	}
	return NULL;
}

static void setup_thread(void)
{
	pthread_t t;
	int ret = pthread_create(&t, NULL, thread_main, NULL);

	if (ret)
		prog_fail("pthread_create: %s", strerror(ret));
	have_thread = 1;
}

static void setup_child(void)
{
	pid_t parent = getpid();

	child_pid = fork();
	if (child_pid < 0)
		prog_fail("fork: %s", strerror(errno));
	if (child_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() != parent)
			_exit(0);
		for (;;)
			pause();
	}
	prog_say("child %d\n", (int)child_pid);
}

/* The refused object is still there and working. */
static void check_object(void)
{
	struct timespec pause_ts = { 0, 100 * 1000000L };
	socklen_t len = sizeof(int);
	int listening = 0, beats;

	if (sock_fd >= 0) {
		CHECK(!getsockopt(sock_fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) &&
			      listening,
		      "socket fd %d no longer listens", sock_fd);
	}
	if (child_pid > 0) {
		CHECK(waitpid(child_pid, NULL, WNOHANG) == 0, "child %d is gone",
		      (int)child_pid);
		kill(child_pid, SIGKILL);
		waitpid(child_pid, NULL, 0);
	}
	if (have_thread) {
		beats = thread_beats;
		nanosleep(&pause_ts, NULL);
		CHECK(thread_beats > beats, "second thread stopped at %d", beats);
	}
}

int main(int argc, char **argv)
{
	struct timespec step = { 0, 10 * 1000000L };
	const char *mode = argc > 2 ? argv[2] : "";
	sigset_t set;

	prog_init(argc, argv, "dump-refused");
	if (!strcmp(mode, "socket"))
		setup_socket();
	else if (!strcmp(mode, "thread"))
		setup_thread();	/* inherits SIGUSR1 blocked: "go" goes to main */
	else if (!strcmp(mode, "child"))
		setup_child();
	else
		prog_fail("usage: dump-refused OUTFILE socket|thread|child");
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	prog_ready();
	while (!prog_go) {
		counter++;
		if (counter % 20 == 0)
			prog_say("count %llu\n", (unsigned long long)counter);
		nanosleep(&step, NULL);
	}
	prog_check_counts();
	check_object();
	prog_finish();
}
