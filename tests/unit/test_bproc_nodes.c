/*
 * The BProc node list (lib/bproc/nodes.c), parsed as hostile input: good
 * lines with comments and blank ones; each kind of bad line refuses the
 * whole list, naming the line; a number given twice; a line too long.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "vxcr/vxcr.h"
#include "bproc/bproc.h"

static int parse(const char *text, struct bproc_nodes *l)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int ret;

	err_op_begin();
	ret = err_op_end(bproc_nodes_parse(f, "nodes", l));
	fclose(f);
	return ret;
}

static void test_good(void)
{
	struct bproc_nodes l;

	CU_ASSERT_EQUAL(parse("# nodes\n\n0 10.0.0.2:7411 b\n  3\t[fe80::1]:99  # x\n"
			      "4095 host-x.example:1\n",
			      &l),
			0);
	CU_ASSERT_EQUAL(l.n, 3);
	CU_ASSERT_EQUAL(l.v[0].num, 0);
	CU_ASSERT_STRING_EQUAL(l.v[0].addr, "10.0.0.2:7411");
	CU_ASSERT_STRING_EQUAL(l.v[0].key, "b");
	CU_ASSERT_EQUAL(bproc_node_find(&l, 3)->num, 3);
	CU_ASSERT_STRING_EQUAL(bproc_node_find(&l, 3)->addr, "[fe80::1]:99");
	CU_ASSERT_STRING_EQUAL(bproc_node_find(&l, 3)->key, "");
	CU_ASSERT_PTR_NULL(bproc_node_find(&l, 1));
	CU_ASSERT_PTR_NULL(bproc_node_find(&l, -1));
	bproc_nodes_free(&l);
	CU_ASSERT_EQUAL(parse("", &l), 0);
	CU_ASSERT_EQUAL(l.n, 0);
}

static void bad(const char *text, const char *why)
{
	struct bproc_nodes l;

	CU_ASSERT_EQUAL(parse(text, &l), -EINVAL);
	CU_ASSERT_EQUAL(l.n, 0);
	CU_ASSERT_PTR_NULL(l.v);
	CU_ASSERT_PTR_NOT_NULL(strstr(vxcr_last_error(), why));
}

static void test_bad(void)
{
	char big[700];

	bad("0 a:1\n-1 b:2\n", "line 2: the node number");
	bad("4096 a:1\n", "line 1: the node number");
	bad("+1 a:1\n", "the node number");
	bad("01x a:1\n", "the node number");
	bad("0\n", "needs NUMBER HOST:PORT");
	bad("0 a:1 k extra\n", "more than");
	bad("0 host\n", "HOST:PORT");
	bad("0 a;rm:1\n", "HOST:PORT");
	bad("0 a:1 k/../x\n", "key name");
	bad("0 a:1\n0 b:2\n", "line 2: the node number is given twice");
	memset(big, 'a', sizeof(big));
	memcpy(big, "0 ", 2);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	bad(big, "longer than 512");
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("bproc_nodes", NULL, NULL);
	CU_add_test(s, "good lists", test_good);
	CU_add_test(s, "bad lines refuse the list", test_bad);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
