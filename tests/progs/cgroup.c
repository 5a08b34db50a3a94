/*
 * cgroup: a tree whose tasks live in different cgroups, each checking its
 * own membership after restore.  Usage: cgroup OUTFILE V2DIR V1DIR [outside]
 * V2DIR (cgroup v2) and V1DIR (a v1 hierarchy, pids) are groups the
 * harness made, holding kid/, kid/thr/ (v2, threaded) and kid/, rt/ (v1);
 * the program starts in V2DIR and V1DIR.
 *  - the root's thread RT moves itself into V1DIR/rt (v1 tasks are per thread);
 *  - the child moves into V2DIR/kid and V1DIR/kid, and its thread CT into
 *    V2DIR/kid/thr (cgroup.threads; the group is threaded).
 * On "go" every one of the four tasks reads /proc/thread-self/cgroup and
 * checks it against the root's groups after restore (B2, B1): root B2, B1;
 * RT B2, B1/rt; child B2/kid, B1/kid; CT B2/kid/thr, B1/kid; and in every
 * other hierarchy the root's group.  So the tree may be restored below
 * other groups than it was dumped in.
 * With "outside", the root first moves into V2DIR/top: the child (in
 * V2DIR/kid) is then outside the root's subtree, and the dump must refuse.
 */
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "prog.h"

#define MAXL 16

struct line {
	char ctl[128], path[1024];
};

struct cg {
	struct line l[MAXL];
	int n;
};

static const char *v2dir, *v1dir;
static int ask[2], answer[2];   /* main -> its thread: "read yours", and back */
static struct cg thread_cg;

static void parse(const char *text, struct cg *cg)
{
	const char *p = text;

	cg->n = 0;
	while (*p && cg->n < MAXL) {
		struct line *l = &cg->l[cg->n];

		if (sscanf(p, "%*[^:]:%127[^:]:%1023[^\n]", l->ctl, l->path) == 2)
			cg->n++;
		else if (sscanf(p, "%*[^:]::%1023[^\n]", l->path) == 1)
			l->ctl[0] = '\0', cg->n++;
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
}

static void read_mine(struct cg *cg)
{
	char buf[8192];

	if (prog_read_file("/proc/thread-self/cgroup", buf, sizeof(buf)) <= 0)
		prog_fail("read /proc/thread-self/cgroup: %s", strerror(errno));
	parse(buf, cg);
}

static const char *path_of(const struct cg *cg, const char *ctl)
{
	for (int i = 0; i < cg->n; i++)
		if (!strcmp(cg->l[i].ctl, ctl))
			return cg->l[i].path;
	return NULL;
}

static void join(const char *dir, const char *sub, const char *file)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1)
		prog_fail("join %s: %s", path, strerror(errno));
	close(fd);
}

/* A thread: joins its group (sub/file of dir), then reads its own on request. */
struct tspec {
	const char *dir, *sub, *file;
};

static void *thread_main(void *arg)
{
	const struct tspec *t = arg;
	char c;

	join(t->dir, t->sub, t->file);
	read_mine(&thread_cg);
	if (write(answer[1], "j", 1) != 1)
		return NULL;
	for (;;) {
		if (read(ask[0], &c, 1) != 1)
			continue;
		read_mine(&thread_cg);
		if (write(answer[1], "r", 1) != 1)
			return NULL;
	}
	return NULL;
}

static void start_thread(struct tspec *t)
{
	pthread_t th;
	char c;

	if (pipe(ask) || pipe(answer))
		prog_fail("pipe: %s", strerror(errno));
	if (pthread_create(&th, NULL, thread_main, t))
		prog_fail("pthread_create");
	if (read(answer[0], &c, 1) != 1)
		prog_fail("thread did not join its group");
}

static void thread_groups(struct cg *out)
{
	char c;

	if (write(ask[1], "?", 1) != 1 || read(answer[0], &c, 1) != 1)
		prog_fail("thread does not answer");
	*out = thread_cg;
}

/* want = base + suffix ("" for the base itself). */
static void expect(const char *who, const struct cg *cg, const char *ctl, const char *base,
		   const char *suffix)
{
	char want[2100];
	const char *got = path_of(cg, ctl);

	snprintf(want, sizeof(want), "%s%s", strcmp(base, "/") || !*suffix ? base : "",
		 suffix);
	CHECK(got && !strcmp(got, want), "%s: cgroup %s is %s, expected %s", who,
	      ctl[0] ? ctl : "v2", got ? got : "(none)", want);
}

/* cg is in root's groups everywhere but v2 and pids, where it is B + s2, B + s1. */
static void expect_all(const char *who, const struct cg *cg, const struct cg *root, const char *s2,
		       const char *s1)
{
	for (int i = 0; i < root->n; i++) {
		const char *ctl = root->l[i].ctl;
		const char *s = !ctl[0] ? s2 : !strcmp(ctl, "pids") ? s1 : "";

		expect(who, cg, ctl, root->l[i].path, s);
	}
}

static int child_main(void)
{
	static struct tspec ct;
	struct cg me, thr, root;
	char buf[8192];

	join(v2dir, "kid", "cgroup.procs");
	join(v1dir, "kid", "cgroup.procs");
	ct = (struct tspec){ v2dir, "kid/thr", "cgroup.threads" };
	start_thread(&ct);
	kill(getppid(), SIGUSR2); /* set up */
	prog_wait_go();
	snprintf(buf, sizeof(buf), "/proc/%d/cgroup", getppid());
	if (prog_read_file(buf, buf, sizeof(buf)) <= 0)
		prog_fail("read the root's cgroup: %s", strerror(errno));
	parse(buf, &root);
	read_mine(&me);
	thread_groups(&thr);
	expect_all("child", &me, &root, "/kid", "/kid");
	expect_all("child's thread", &thr, &root, "/kid/thr", "/kid");
	if (prog_failure[0]) {
		prog_say("FAIL child: %s\n", prog_failure);
		exit(1);
	}
	exit(0);
}

static volatile sig_atomic_t child_set;
static void on_usr2(int sig)
{
	(void)sig;
	child_set = 1;
}

int main(int argc, char **argv)
{
	static struct tspec rt;
	struct cg me, thr;
	pid_t child;
	int status;

	prog_init(argc, argv, "cgroup");
	if (argc < 4)
		prog_fail("usage: cgroup OUTFILE V2DIR V1DIR [outside]");
	v2dir = argv[2];
	v1dir = argv[3];
	signal(SIGUSR2, on_usr2);
	if (argc > 4 && !strcmp(argv[4], "outside"))
		join(v2dir, "top", "cgroup.procs");
	child = fork();
	if (child < 0)
		prog_fail("fork: %s", strerror(errno));
	if (child == 0)
		child_main();
	rt = (struct tspec){ v1dir, "rt", "tasks" };
	start_thread(&rt);
	while (!child_set)
		usleep(10000);
	prog_ready();
	prog_wait_go();
	read_mine(&me);
	thread_groups(&thr);
	expect_all("root's thread", &thr, &me, "", "/rt");
	kill(child, SIGUSR1);
	if (waitpid(child, &status, 0) != child)
		prog_fail("waitpid: %s", strerror(errno));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed (status %#x)", status);
	prog_finish();
}
