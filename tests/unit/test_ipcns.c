/*
 * IPC namespaces (lib/restore/ipcns-check.c): the hostile checks of an
 * IPCNS record, one bad field at a time on an otherwise valid entry, and
 * the sysctl name and value filters (lib/proc/sysvipc.c).
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <string.h>

#include "log.h"
#include "proc/proc.h"
#include "restore/ipcns.h"

static void quiet(enum vxcr_log_level lvl, const char *msg, void *arg)
{
	(void)lvl;
	(void)msg;
	(void)arg;
}

/* The valid entry: sysctls, a queue with two messages, a semaphore set of
 * three, a POSIX queue with two messages; a SYSV_SHM record beside it. */
static IpcSysctl sy[4], *sysctls[4];
static IpcPermEntry pq, ps;
static IpcMsgEntry mg[2], *msgs[2];
static IpcMsqEntry q, *msqs[1];
static uint32_t vals[3] = { 0, 1, 32767 };
static IpcSemEntry sm, *sems[1];
static uint8_t bytes[8] = "content";
static IpcMqMsg mm[2], *mqmsgs[2];
static IpcMqEntry mq, *mqs[1];
static IpcnsEntry e;
static SysvShmEntry attached, *sysv[1];

static void perm(IpcPermEntry *p, int id)
{
	ipc_perm_entry__init(p);
	p->has_id = 1;
	p->id = id;
	p->mode = 0600;
}

static void setup(void)
{
	static const char *names[4] = { "kernel/msgmax", "kernel/sem", "kernel/shmmax",
					"fs/mqueue/queues_max" };
	static const char *values[4] = { "100", "250\t32000\t32\t128", "1048576", "4" };

	ipcns_entry__init(&e);
	for (int i = 0; i < 4; i++) {
		ipc_sysctl__init(&sy[i]);
		sy[i].name = (char *)names[i];
		sy[i].value = (char *)values[i];
		sysctls[i] = &sy[i];
	}
	e.sysctls = sysctls;
	e.n_sysctls = 4;
	perm(&pq, 0);
	perm(&ps, 32768);
	for (int i = 0; i < 2; i++) {
		ipc_msg_entry__init(&mg[i]);
		mg[i].mtype = i + 1;
		mg[i].text.data = bytes;
		mg[i].text.len = 7;
		msgs[i] = &mg[i];
		ipc_mq_msg__init(&mm[i]);
		mm[i].prio = 5 - i;
		mm[i].text.data = bytes;
		mm[i].text.len = 7;
		mqmsgs[i] = &mm[i];
	}
	ipc_msq_entry__init(&q);
	q.perm = &pq;
	q.qbytes = 16384;
	q.msgs = msgs;
	q.n_msgs = 2;
	msqs[0] = &q;
	e.msqs = msqs;
	e.n_msqs = 1;
	ipc_sem_entry__init(&sm);
	sm.perm = &ps;
	sm.values = vals;
	sm.n_values = 3;
	sems[0] = &sm;
	e.sems = sems;
	e.n_sems = 1;
	ipc_mq_entry__init(&mq);
	mq.name = "q";
	mq.mode = 0640;
	mq.maxmsg = 10;
	mq.msgsize = 64;
	mq.msgs = mqmsgs;
	mq.n_msgs = 2;
	mqs[0] = &mq;
	e.mqs = mqs;
	e.n_mqs = 1;
	sysv_shm_entry__init(&attached);
	attached.shmid = 2;
	attached.size = 4096;
	sysv[0] = &attached;
}

static int check(void)
{
	return ipcns_check(&e, sysv, 1);
}

#define BAD(...)                                    \
	do {                                        \
		setup();                            \
		__VA_ARGS__;                        \
		CU_ASSERT_EQUAL(check(), -EBADMSG); \
	} while (0)

static void test_valid(void)
{
	setup();
	CU_ASSERT_EQUAL(check(), 0);
}

static void test_sysctls(void)
{
	BAD(sy[0].name = "kernel/core_pattern");
	BAD(sy[0].name = "kernel/msg_next_id");
	BAD(sy[0].value = "-1");
	BAD(sy[0].value = "1 2 3 4 5");
	BAD(sy[0].value = "1\n2");
	BAD(sy[0].value = "");
	BAD(sy[1].name = "kernel/msgmax");
	BAD(sy[0].value = NULL);
}

static void test_msqs(void)
{
	BAD(q.perm = NULL);
	BAD(pq.has_id = 0);
	BAD(pq.id = -1);
	BAD(pq.mode = 04777);
	BAD(mg[0].mtype = 0);
	BAD(mg[1].mtype = -5);
	BAD(mg[0].text.len = 101); /* over msgmax 100 */
	BAD(q.qbytes = 10);	   /* 14 bytes queued */
	BAD(q.qbytes = 0);
	BAD(q.qbytes = (64u << 20) + 1);
	BAD(e.msqs = (IpcMsqEntry *[]){ &q, &q }; e.n_msqs = 2); /* an id twice */
}

static void test_sems(void)
{
	BAD(sm.values = (uint32_t[]){ 0, 1, 32768 });
	BAD(sm.n_values = 0);
	BAD(sy[1].value = "2 32000 32 128"); /* semmsl 2 < 3 */
	BAD(sy[1].value = "250 32000 32 0"); /* semmni 0 */
	BAD(sm.n_pids = 2);
	BAD(sm.perm = NULL);
}

static void test_shms(void)
{
	BAD(attached.size = 2 << 20); /* over shmmax */
	BAD(sy[2].value = "4095");
	BAD(sy[2].name = "kernel/shmmni", sy[2].value = "0");
}

static void test_mqs(void)
{
	BAD(mq.name = NULL);
	BAD(mq.name = "");
	BAD(mq.name = "a/b");
	BAD(mq.name = "..");
	BAD(mq.name = ".");
	BAD(mq.maxmsg = 0);
	BAD(mq.maxmsg = 65537);
	BAD(mq.msgsize = 0);
	BAD(mq.msgsize = (16 << 20) + 1);
	BAD(mq.maxmsg = 1); /* two messages */
	BAD(mm[0].prio = 32768);
	BAD(mm[1].prio = 9); /* a rising priority: not as mq_receive gives them */
	BAD(mm[0].text.len = 65);
	BAD(mq.mode = 01777);
	BAD(sy[3].value = "0");					/* queues_max */
	BAD(e.mqs = (IpcMqEntry *[]){ &mq, &mq }; e.n_mqs = 2); /* a name twice */
}

static void test_names(void)
{
	CU_ASSERT(ipcns_mq_name_ok("queue.1"));
	CU_ASSERT(!ipcns_mq_name_ok("/q"));
	CU_ASSERT(proc_ipc_sysctl_known("fs/mqueue/msgsize_max"));
	CU_ASSERT(!proc_ipc_sysctl_known("kernel/shm_next_id"));
	CU_ASSERT(proc_ipc_sysctl_value_ok("250\t32000\t32\t128"));
	CU_ASSERT(proc_ipc_sysctl_value_ok("18446744073692774399"));
	CU_ASSERT(!proc_ipc_sysctl_value_ok("1 "));
	CU_ASSERT(!proc_ipc_sysctl_value_ok("1  2"));
	CU_ASSERT(!proc_ipc_sysctl_value_ok("123456789012345678901"));
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	vxcr_set_log(quiet, NULL);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("ipcns", NULL, NULL);
	CU_add_test(s, "a valid entry passes", test_valid);
	CU_add_test(s, "sysctls: known names, numbers only, once", test_sysctls);
	CU_add_test(s, "SysV queues: ids, types, msgmax, qbytes", test_msqs);
	CU_add_test(s, "semaphore sets: semmsl, semmni, values", test_sems);
	CU_add_test(s, "SYSV_SHM records: shmmax, shmmni", test_shms);
	CU_add_test(s, "POSIX queues: names, limits, priorities", test_mqs);
	CU_add_test(s, "name and sysctl filters", test_names);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
