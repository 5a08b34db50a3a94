/*
 * lib/snap without a process to restore: snapshot names, the channel's
 * environment and messages (vxcr_snap_ready() against pipes of ours), the
 * store's atomic commit and its description's parsing, and serve's
 * messages with fds over a socketpair.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "vxcr/vxcr.h"
#include "vxcr/snap.h"
#include "snap/snap.h"
#include "snap/proto.h"

static void quiet(enum vxcr_log_level lvl, const char *msg, void *arg)
{
	(void)lvl;
	(void)msg;
	(void)arg;
}

static void test_names(void)
{
	char longname[200];

	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CU_ASSERT_EQUAL(vxcr_snap_name_check("py3-numpy_1.2+x"), 0);
	CU_ASSERT_EQUAL(vxcr_snap_name_check(""), -EINVAL);
	CU_ASSERT_EQUAL(vxcr_snap_name_check("a/b"), -EINVAL);
	CU_ASSERT_EQUAL(vxcr_snap_name_check(".."), -EINVAL);
	CU_ASSERT_EQUAL(vxcr_snap_name_check(".x"), -EINVAL);
	CU_ASSERT_EQUAL(vxcr_snap_name_check("a b"), -EINVAL);
	CU_ASSERT_EQUAL(vxcr_snap_name_check(longname), -EINVAL);
	longname[VXCR_SNAP_NAME_MAX] = '\0';
	CU_ASSERT_EQUAL(vxcr_snap_name_check(longname), 0);
}

static void test_chan_env(void)
{
	int fds[2];

	CU_ASSERT_EQUAL(snap_parse_chan("3,4", fds), 0);
	CU_ASSERT(fds[0] == 3 && fds[1] == 4);
	CU_ASSERT_EQUAL(snap_parse_chan("2,4", fds), -EINVAL);
	CU_ASSERT_EQUAL(snap_parse_chan("3,3", fds), -EINVAL);
	CU_ASSERT_EQUAL(snap_parse_chan("3", fds), -EINVAL);
	CU_ASSERT_EQUAL(snap_parse_chan("3,4x", fds), -EINVAL);
	CU_ASSERT_EQUAL(snap_parse_chan("a,b", fds), -EINVAL);
	CU_ASSERT_EQUAL(snap_parse_chan("3,99999999999", fds), -EINVAL);
}

static void test_split(void)
{
	char **argv;
	int argc;

	CU_ASSERT_EQUAL(snap_split_args("ab\0\0c", 6, &argc, &argv), 0);
	CU_ASSERT_EQUAL(argc, 3);
	CU_ASSERT_STRING_EQUAL(argv[0], "ab");
	CU_ASSERT_STRING_EQUAL(argv[1], "");
	CU_ASSERT_STRING_EQUAL(argv[2], "c");
	CU_ASSERT_PTR_NULL(argv[3]);
	free(argv);
	CU_ASSERT_EQUAL(snap_split_args("", 0, &argc, &argv), 0);
	CU_ASSERT_EQUAL(argc, 0);
	free(argv);
	CU_ASSERT_EQUAL(snap_split_args("abc", 3, &argc, &argv), -EBADMSG);
}

/* vxcr_snap_ready() on two pipes of ours with msg (len bytes) waiting. */
static int ready_with(const void *msg, size_t len, int *argc, char ***argv, char *said)
{
	int r[2], w[2], ret;
	char env[32];

	if (pipe(r) || pipe(w))
		return -errno;
	if (write(r[1], msg, len) != (ssize_t)len)
		return -EIO;
	close(r[1]);
	snprintf(env, sizeof(env), "%d,%d", r[0], w[1]);
	setenv(VXCR_SNAP_ENV, env, 1);
	ret = vxcr_snap_ready(argc, argv);
	if (read(w[0], said, 1) != 1)
		*said = 0;
	close(w[0]);
	CU_ASSERT_EQUAL(fcntl(r[0], F_GETFD), -1); /* the channel is closed */
	CU_ASSERT_PTR_NULL(getenv(VXCR_SNAP_ENV));
	return ret;
}

static void test_ready(void)
{
	static const char good[] = "\x05\0\0\0one\0x";
	static const char big[] = "\xff\xff\x7f\0";
	char **argv, said;
	int argc;

	unsetenv(VXCR_SNAP_ENV);
	CU_ASSERT_EQUAL(vxcr_snap_ready(&argc, &argv), 0); /* not under snap */
	CU_ASSERT_EQUAL(argc, 0);
	free(argv);
	CU_ASSERT_EQUAL(ready_with(good, 9, &argc, &argv, &said), -EBADMSG); /* "x" unended */
	CU_ASSERT_EQUAL(said, VXCR_SNAP_READY_SERVE);
	CU_ASSERT_EQUAL(ready_with("\x06\0\0\0one\0x\0", 10, &argc, &argv, &said), 0);
	CU_ASSERT_EQUAL(argc, 2);
	CU_ASSERT_STRING_EQUAL(argv[1], "x");
	free(argv);
	CU_ASSERT_EQUAL(ready_with(big, 4, &argc, &argv, &said), -EBADMSG);
	CU_ASSERT_EQUAL(ready_with("\x09\0\0\0ab", 6, &argc, &argv, &said), -EPIPE);
	setenv(VXCR_SNAP_ENV, "1,2", 1);
	CU_ASSERT_EQUAL(vxcr_snap_ready(&argc, &argv), -EINVAL);
}

static int entries(const char *dir)
{
	char cmd[256];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A %s | wc -l", dir);
	p = popen(cmd, "r");
	if (p && fscanf(p, "%d", &n) != 1)
		n = -1;
	if (p)
		pclose(p);
	return n;
}

/* Commits snapshot name with an image holding text.  0/-errno. */
static int commit(const char *store, const char *name, const char *text, int r, int serve)
{
	const int chan[2] = { r, r + 1 };
	struct snap_new sn;
	int fd, ret;

	ret = snap_new_begin(&sn, store, name);
	if (!ret) {
		fd = openat(sn.tmpfd, SNAP_IMAGE, O_WRONLY | O_CREAT | O_EXCL, 0600);
		ret = fd < 0 || write(fd, text, strlen(text)) < 0 ? -EIO : 0;
		if (fd >= 0)
			close(fd);
	}
	if (!ret)
		ret = snap_new_commit(&sn, chan, serve);
	snap_new_abort(&sn);
	return ret;
}

static void test_store(void)
{
	char tmp[] = "/tmp/test_snap.XXXXXX", store[64], path[128], buf[16] = { 0 };
	struct vxcr_snap_image si;
	FILE *f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(tmp));
	snprintf(store, sizeof(store), "%s/a/store", tmp);
	CU_ASSERT_EQUAL(commit(store, "s", "first", 3, 1), 0);
	CU_ASSERT_EQUAL(commit(store, "s", "second", 5, 0), 0); /* replaces it */
	CU_ASSERT_EQUAL(entries(store), 1);			/* no temporary left */
	CU_ASSERT_EQUAL(vxcr_snap_image_open(store, "s", &si), 0);
	CU_ASSERT(si.chan[0] == 5 && si.chan[1] == 6 && si.serve == 0);
	CU_ASSERT(si.fd > 6); /* above the channel it borrows */
	CU_ASSERT_EQUAL(read(si.fd, buf, sizeof(buf) - 1), 6);
	CU_ASSERT_STRING_EQUAL(buf, "second");
	vxcr_snap_image_close(&si);
	CU_ASSERT_EQUAL(vxcr_snap_image_open(store, "nosuch", &si), -ENOENT);
	CU_ASSERT_EQUAL(commit(store, "../x", "x", 3, 0), -EINVAL);
	snprintf(path, sizeof(path), "%s/s/snap", store);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("vxcr-snap 2\nchannel 3 4\nserve 0\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(vxcr_snap_image_open(store, "s", &si), -EBADMSG); /* newer */
	f = fopen(path, "w");
	fputs("vxcr-snap 1\nchannel 0 4\nserve 0\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(vxcr_snap_image_open(store, "s", &si), -EBADMSG);
	snprintf(path, sizeof(path), "rm -rf %s", tmp);
	CU_ASSERT_EQUAL(system(path), 0);
}

static void test_msgs(void)
{
	struct snap_msg m = { .type = SNAP_MSG_SPAWN, .id = 7, .len = 4 }, got = { 0 };
	static char data[SNAP_SERVE_ARGS_MAX];
	int sp[2], fds[3], n, p[2];

	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
	int three[3] = { p[0], p[1], p[0] };

	CU_ASSERT_EQUAL(snap_msg_send(sp[0], &m, "ab\0", three, 3), 0);
	CU_ASSERT_EQUAL(snap_msg_recv(sp[1], &got, data, fds, &n), 0);
	CU_ASSERT(got.type == SNAP_MSG_SPAWN && got.id == 7 && got.len == 4 && n == 3);
	CU_ASSERT_STRING_EQUAL(data, "ab");
	for (int i = 0; i < n; i++)
		close(fds[i]);
	/* a length that does not match the packet */
	m.len = 100;
	CU_ASSERT_EQUAL(send(sp[0], &m, sizeof(m), 0), (ssize_t)sizeof(m));
	CU_ASSERT_EQUAL(snap_msg_recv(sp[1], &got, data, fds, &n), -EBADMSG);
	CU_ASSERT_EQUAL(n, 0);
	/* a short packet */
	CU_ASSERT_EQUAL(send(sp[0], "xy", 2, 0), 2);
	CU_ASSERT_EQUAL(snap_msg_recv(sp[1], &got, data, fds, &n), -EBADMSG);
	close(sp[0]);
	CU_ASSERT_EQUAL(snap_msg_recv(sp[1], &got, data, fds, &n), -EPIPE);
	close(sp[1]);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	vxcr_set_log(quiet, NULL);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("snap", NULL, NULL);
	CU_add_test(s, "snapshot names", test_names);
	CU_add_test(s, "VXCR_SNAP_FD parsed strictly", test_chan_env);
	CU_add_test(s, "arguments split", test_split);
	CU_add_test(s, "vxcr_snap_ready on pipes", test_ready);
	CU_add_test(s, "the store: atomic replace, description checked", test_store);
	CU_add_test(s, "serve's messages with fds", test_msgs);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
