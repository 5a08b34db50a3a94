/*
 * identity: umask, cwd (a directory next to OUTFILE), personality
 * (ADDR_NO_RANDOMIZE), comm (PR_SET_NAME), timer slack, nice value,
 * oom_score_adj, a running ITIMER_REAL (remaining time and interval), and
 * the mm fields PR_SET_MM_MAP brings back: auxv, cmdline, environ, exe link,
 * code/data/brk/arg/env addresses as /proc/self shows them.
 */
#include <sys/auxv.h>
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

/* The mm fields that PR_SET_MM_MAP restores, as the process itself sees them. */
struct mm_view {
	char auxv[1024], cmdline[4096], environ[16384], exe[4096];
	ssize_t auxv_n, cmdline_n, environ_n;
	unsigned long start_code, end_code, start_data, end_data, start_brk;
	unsigned long arg_start, arg_end, env_start, env_end;
};

static ssize_t slurp(const char *path, char *buf, size_t len)
{
	ssize_t n = prog_read_file(path, buf, len);

	return n < 0 ? -1 : n;
}

/* Fields 26-28 and 45-51 of /proc/self/stat (after the comm). */
static void get_mm_view(struct mm_view *m)
{
	char stat[2048], *p;
	unsigned long v[52] = { 0 };
	int i;

	memset(m, 0, sizeof(*m));
	m->auxv_n = slurp("/proc/self/auxv", m->auxv, sizeof(m->auxv));
	m->cmdline_n = slurp("/proc/self/cmdline", m->cmdline, sizeof(m->cmdline));
	m->environ_n = slurp("/proc/self/environ", m->environ, sizeof(m->environ));
	if (readlink("/proc/self/exe", m->exe, sizeof(m->exe) - 1) < 0)
		m->exe[0] = '\0';
	if (slurp("/proc/self/stat", stat, sizeof(stat)) < 0 || !(p = strrchr(stat, ')')))
		return;
	p += 2;
	for (i = 3; i <= 51 && p; i++) {
		v[i] = strtoul(p, NULL, 10);
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	m->start_code = v[26];
	m->end_code = v[27];
	m->start_data = v[45];
	m->end_data = v[46];
	m->start_brk = v[47];
	m->arg_start = v[48];
	m->arg_end = v[49];
	m->env_start = v[50];
	m->env_end = v[51];
}

static void check_mm_view(const struct mm_view *b, const struct mm_view *a)
{
	CHECK(a->auxv_n == b->auxv_n && b->auxv_n > 0 && !memcmp(a->auxv, b->auxv, a->auxv_n),
	      "auxv differs (%zd bytes, was %zd)", a->auxv_n, b->auxv_n);
	CHECK(a->cmdline_n == b->cmdline_n && !memcmp(a->cmdline, b->cmdline, a->cmdline_n),
	      "cmdline differs");
	CHECK(a->environ_n == b->environ_n && !memcmp(a->environ, b->environ, a->environ_n),
	      "environ differs");
	CHECK(!strcmp(a->exe, b->exe), "exe %s, was %s", a->exe, b->exe);
	CHECK(b->start_code && b->arg_start && b->env_end > b->env_start,
	      "could not read the mm fields from /proc/self/stat");
	CHECK(a->start_code == b->start_code && a->end_code == b->end_code &&
	      a->start_data == b->start_data && a->end_data == b->end_data &&
	      a->start_brk == b->start_brk, "code/data/brk fields differ");
	CHECK(a->arg_start == b->arg_start && a->arg_end == b->arg_end &&
	      a->env_start == b->env_start && a->env_end == b->env_end,
	      "arg/env fields differ");
	CHECK(getauxval(AT_PAGESZ) == 4096, "AT_PAGESZ %lu", getauxval(AT_PAGESZ));
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
	static struct mm_view mb, ma;
	double t0, t1, r0, r1;

	prog_init(argc, argv, "identity");
	setup();
	get_ident(&b);
	get_mm_view(&mb);
	getitimer(ITIMER_REAL, &it0);
	t0 = now_s();
	prog_ready();
	prog_wait_go();
	getitimer(ITIMER_REAL, &it1);
	t1 = now_s();
	get_ident(&a);
	get_mm_view(&ma);
	check_mm_view(&mb, &ma);
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
