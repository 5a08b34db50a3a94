/*
 * audit: the audit login uid and session id (/proc/self/loginuid,
 * /proc/self/sessionid).  Started with a loginuid set (the harness sets
 * its own first, so vxdump and vxrestore share the session), the root R
 * keeps what it inherited and forks C, which unsets its loginuid (writing
 * 4294967295 also unsets its session) and forks CC, which inherits that.
 * After "go" each compares both ids with what it had; before the fix C and
 * CC came back with vxrestore's.  Mode "new": R also forks D, which sets its
 * loginuid again and so gets a session of its own, which no restore can
 * give back: the dump must refuse it.
 */
#include <stdbool.h>
#include "tree.h"

struct audit_ids {
	unsigned long loginuid, sessionid;
};

static struct audit_ids read_ids(void)
{
	struct audit_ids a = { 0, 0 };
	char buf[32];

	if (prog_read_file("/proc/self/loginuid", buf, sizeof(buf)) < 0)
		prog_fail("/proc/self/loginuid: %s", strerror(errno));
	a.loginuid = strtoul(buf, NULL, 10);
	if (prog_read_file("/proc/self/sessionid", buf, sizeof(buf)) < 0)
		prog_fail("/proc/self/sessionid: %s", strerror(errno));
	a.sessionid = strtoul(buf, NULL, 10);
	return a;
}

static void set_loginuid(const char *v)
{
	int fd = open("/proc/self/loginuid", O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, v, strlen(v)) != (ssize_t)strlen(v))
		prog_fail("write %s to /proc/self/loginuid: %s", v, strerror(errno));
	close(fd);
}

static int rep_w = -1;

/* A member: its ids, ready, and after go the comparison. */
__attribute__((noreturn)) static void member(const char *name)
{
	struct audit_ids was = read_ids(), now;

	tree_send_ready(rep_w);
	prog_wait_go();
	now = read_ids();
	CHECK(now.loginuid == was.loginuid && now.sessionid == was.sessionid,
	      "%s: loginuid %lu session %lu, was %lu and %lu", name, now.loginuid, now.sessionid,
	      was.loginuid, was.sessionid);
	tree_member_finish(rep_w);
}

int main(int argc, char **argv)
{
	bool new_session = argc > 2 && !strcmp(argv[2], "new");
	struct audit_ids r = { 0, 0 }, now;
	pid_t kids[3], members[4];
	int p[2], n, i, nk = 0;

	prog_init(argc, argv, "audit");
	r = read_ids();
	if (r.loginuid == 4294967295ul)
		prog_fail("started without a loginuid (the harness sets one)");
	if (pipe2(p, O_CLOEXEC))
		prog_fail("pipe: %s", strerror(errno));
	rep_w = p[1];
	if ((kids[nk++] = fork()) == 0) {
		set_loginuid("4294967295");
		if (fork() == 0)
			member("CC");
		member("C");
	}
	if (new_session && (kids[nk++] = fork()) == 0) {
		set_loginuid("1000");
		member("D");
	}
	n = tree_collect(&p[0], 1, nk + 1, 0, 10000, -1, members);
	if (n != nk + 1)
		prog_fail("%d of %d members ready", n, nk + 1);
	prog_ready();
	prog_wait_go();
	now = read_ids();
	CHECK(now.loginuid == r.loginuid && now.sessionid == r.sessionid,
	      "R: loginuid %lu session %lu, was %lu and %lu", now.loginuid, now.sessionid,
	      r.loginuid, r.sessionid);
	for (i = 0; i < n; i++)
		kill(members[i], SIGUSR1);
	i = tree_collect(&p[0], 1, n, 1, 10000, -1, NULL);
	CHECK(i == n, "%d of %d members reported", i, n);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	prog_finish();
}
