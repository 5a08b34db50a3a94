/*
 * identity: umask, cwd (a directory next to OUTFILE), personality
 * (ADDR_NO_RANDOMIZE), comm (PR_SET_NAME), timer slack, nice value,
 * oom_score_adj and a running ITIMER_REAL (remaining time and interval).
 */
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include "prog.h"

struct ident {
	mode_t umask;
	char cwd[4096];
	int persona;
	char comm[17];
	long slack;
	int nice;
	int oom;
};

static int read_oom(void)
{
	char buf[32];

	if (prog_read_file("/proc/self/oom_score_adj", buf, sizeof(buf)) < 0)
		return -9999;
	return atoi(buf);
}

static void get_ident(struct ident *i)
{
	memset(i, 0, sizeof(*i));
	i->umask = umask(0);
	umask(i->umask);
	if (!getcwd(i->cwd, sizeof(i->cwd)))
		i->cwd[0] = '\0';
	i->persona = personality(0xffffffff);
	prctl(PR_GET_NAME, i->comm, 0, 0, 0);
	i->slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	errno = 0;
	i->nice = getpriority(PRIO_PROCESS, 0);
	i->oom = read_oom();
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void setup(void)
{
	struct itimerval it = { { 500, 0 }, { 1000, 0 } };
	char dir[4200];
	int fd;

	umask(027);
	snprintf(dir, sizeof(dir), "%s/identity-cwd.%d", prog_dir(), getpid());
	if (mkdir(dir, 0700) || chdir(dir))
		prog_fail("cwd %s: %s", dir, strerror(errno));
	if (personality(personality(0xffffffff) | ADDR_NO_RANDOMIZE) < 0)
		prog_fail("personality: %s", strerror(errno));
	prctl(PR_SET_NAME, "vxcr-identity", 0, 0, 0);
	prctl(PR_SET_TIMERSLACK, 123456, 0, 0, 0);
	if (setpriority(PRIO_PROCESS, 0, 7))
		prog_fail("setpriority: %s", strerror(errno));
	fd = open("/proc/self/oom_score_adj", O_WRONLY);
	if (fd < 0 || write(fd, "345", 3) != 3)
		prog_fail("oom_score_adj: %s", strerror(errno));
	close(fd);
	if (setitimer(ITIMER_REAL, &it, NULL))
		prog_fail("setitimer: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	struct itimerval it0, it1;
	struct ident b, a;
	double t0, t1, r0, r1;

	prog_init(argc, argv, "identity");
	setup();
	get_ident(&b);
	getitimer(ITIMER_REAL, &it0);
	t0 = now_s();
	prog_ready();
	prog_wait_go();
	getitimer(ITIMER_REAL, &it1);
	t1 = now_s();
	get_ident(&a);
	CHECK(a.umask == b.umask, "umask %03o, was %03o", a.umask, b.umask);
	CHECK(!strcmp(a.cwd, b.cwd), "cwd %s, was %s", a.cwd, b.cwd);
	CHECK(a.persona == b.persona, "personality %#x, was %#x", a.persona, b.persona);
	CHECK(!strcmp(a.comm, b.comm), "comm %s, was %s", a.comm, b.comm);
	CHECK(a.slack == b.slack, "timer slack %ld, was %ld", a.slack, b.slack);
	CHECK(a.nice == b.nice, "nice %d, was %d", a.nice, b.nice);
	CHECK(a.oom == b.oom, "oom_score_adj %d, was %d", a.oom, b.oom);
	r0 = it0.it_value.tv_sec + it0.it_value.tv_usec / 1e6;
	r1 = it1.it_value.tv_sec + it1.it_value.tv_usec / 1e6;
	CHECK(r1 > 0 && r1 <= r0 + 0.01 && r1 >= r0 - (t1 - t0) - 2.0,
	      "ITIMER_REAL remaining %.3f s, was %.3f s %.3f s ago", r1, r0, t1 - t0);
	CHECK(it1.it_interval.tv_sec == 500 && it1.it_interval.tv_usec == 0,
	      "ITIMER_REAL interval %ld.%06ld", (long)it1.it_interval.tv_sec,
	      (long)it1.it_interval.tv_usec);
	prog_finish();
}
