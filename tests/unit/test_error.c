/*
 * Errors as values (lib/error.c, lib/util/report.c): the first error of
 * an operation sticks, a caller's context wraps it, a public call starts
 * a fresh one unless nested, a success clears it, a worker thread posts
 * into its starter's, a forked child's error comes back with its payload,
 * and the log line keeps its module prefix while the error has none.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#define LOG_PREFIX "test/error: "
#include "log.h"
#include "util/report.h"

static char last_line[512];

static void keep_line(enum vxcr_log_level lvl, const char *msg, void *arg)
{
	(void)lvl;
	(void)arg;
	snprintf(last_line, sizeof(last_line), "%s", msg);
}

static void test_first_sticks(void)
{
	err_op_begin();
	errno = ENOENT;
	pr_perror("open /x");
	CU_ASSERT_EQUAL(errno, ENOENT);	/* logging keeps errno */
	pr_err("cannot finish the image: %s\n", strerror(EPIPE));
	CU_ASSERT_STRING_EQUAL(last_line, "test/error: cannot finish the image: Broken pipe");
	CU_ASSERT_EQUAL(err_op_end(-EPIPE), -EPIPE);
	CU_ASSERT_STRING_EQUAL(vxcr_last_error(), "open /x: No such file or directory");
	CU_ASSERT_EQUAL(vxcr_error()->code, -ENOENT);
}

static void test_wrap_and_clear(void)
{
	err_op_begin();
	pr_err("pid 5: gone\n");
	err_wrap("context %u", 7);
	CU_ASSERT_EQUAL(err_op_end(-ESRCH), -ESRCH);
	CU_ASSERT_STRING_EQUAL(vxcr_last_error(), "context 7: pid 5: gone");
	CU_ASSERT_EQUAL(vxcr_error()->code, -ESRCH);	/* pr_err knew no code */

	err_op_begin();
	pr_err("refused: fd 3\n");
	err_clear();	/* handled */
	pr_err("1 object cannot be checkpointed\n");
	err_op_end(-EOPNOTSUPP);
	CU_ASSERT_STRING_EQUAL(vxcr_last_error(), "1 object cannot be checkpointed");
}

static void test_ops(void)
{
	err_op_begin();
	pr_err("stale\n");
	err_op_end(-EIO);
	err_op_begin();		/* a new operation: a fresh error */
	CU_ASSERT_FALSE(err_is_set());
	err_op_begin();		/* nested: shares it */
	pr_err("inner\n");
	err_op_end(-EINVAL);
	CU_ASSERT_TRUE(err_is_set());
	pr_err("outer\n");
	err_op_end(-EINVAL);
	CU_ASSERT_STRING_EQUAL(vxcr_last_error(), "inner");

	err_op_begin();
	pr_err("recovered from\n");
	CU_ASSERT_EQUAL(err_op_end(0), 0);	/* success: no error */
	CU_ASSERT_STRING_EQUAL(vxcr_last_error(), "");

	err_op_begin();
	err_op_end(-EACCES);	/* nobody said why: the code's text */
	CU_ASSERT_STRING_EQUAL(vxcr_last_error(), strerror(EACCES));
}

static void *worker(void *arg)
{
	err_attach(arg);
	pr_err("write to fd 1: %s\n", strerror(EPIPE));
	return NULL;
}

static void test_worker(void)
{
	pthread_t t;

	err_op_begin();
	CU_ASSERT_EQUAL(pthread_create(&t, NULL, worker, err_current()), 0);
	pthread_join(t, NULL);
	pr_err("cannot finish the image\n");
	err_op_end(-EPIPE);
	CU_ASSERT_STRING_EQUAL(vxcr_last_error(), "write to fd 1: Broken pipe");
}

static void test_report(void)
{
	int p[2], ret, st;
	pid_t pid, got = 0;

	/* a child that fails: its error and code become ours */
	CU_ASSERT_EQUAL(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		err_clear();
		pr_err("pid %d is in use\n", 42);
		report_send(p[1], -EEXIST, NULL, 0);
		_exit(1);
	}
	close(p[1]);
	err_op_begin();
	ret = report_recv(p[0], &got, sizeof(got));
	err_op_end(ret);
	close(p[0]);
	waitpid(pid, &st, 0);
	CU_ASSERT_EQUAL(ret, -EEXIST);
	CU_ASSERT_STRING_EQUAL(vxcr_last_error(), "pid 42 is in use");

	/* a child that succeeds: its payload; then EOF says "no report" */
	CU_ASSERT_EQUAL(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		pid_t me = getpid();

		_exit(report_send(p[1], 0, &me, sizeof(me)) ? 1 : 0);
	}
	close(p[1]);
	CU_ASSERT_EQUAL(report_recv(p[0], &got, sizeof(got)), 0);
	CU_ASSERT_EQUAL(got, pid);
	CU_ASSERT_EQUAL(report_recv(p[0], &got, sizeof(got)), 1);
	close(p[0]);
	waitpid(pid, &st, 0);
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	vxcr_set_log(keep_line, NULL);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("error", NULL, NULL);
	CU_add_test(s, "the first error sticks, without the prefix", test_first_sticks);
	CU_add_test(s, "context wraps, a handled error clears", test_wrap_and_clear);
	CU_add_test(s, "operations: fresh, nested, success", test_ops);
	CU_add_test(s, "a worker thread's error is the operation's", test_worker);
	CU_add_test(s, "a forked child's report", test_report);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
