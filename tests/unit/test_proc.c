/*
 * Unit tests of the /proc parsers (lib/proc) on literal text.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>
#include <CUnit/Basic.h>

#include "proc/proc.h"

static const char smaps_text[] =
	"55d77218d000-55d77218f000 r--p 00000000 fe:00 247134                     /usr/bin/cat\n"
	"Size:                  8 kB\n"
	"Rss:                   8 kB\n"
	"Anonymous:             0 kB\n"
	"Swap:                  0 kB\n"
	"VmFlags: rd mr mw me \n"
	"55d772200000-55d772221000 rw-p 00000000 00:00 0                          [heap]\n"
	"Rss:                  12 kB\n"
	"Anonymous:            12 kB\n"
	"VmFlags: rd wr mr mw me ac \n"
	"7f0000000000-7f0000100000 rw-s 00000000 00:01 1234                       /dev/zero (deleted)\n"
	"VmFlags: rd wr sh mr mw me ms \n"
	"7f0000100000-7f0000101000 rw-p 00000000 00:00 0                          [anon:my name]\n"
	"VmFlags: rd wr mr mw me ac dd hg wf nr \n"
	"7f0000200000-7f0000201000 r--p 00001000 fe:00 99                         /tmp/a file (deleted)\n"
	"VmFlags: rd mr mw me \n"
	"7f0000300000-7f0000304000 r--p 00000000 00:00 0                          [vvar]\n"
	"VmFlags: rd mr pf io de dd \n"
	"7f0000304000-7f0000306000 r--p 00000000 00:00 0                          [vvar_vclock]\n"
	"VmFlags: rd mr pf io de dd \n"
	"7f0000306000-7f0000308000 r-xp 00000000 00:00 0                          [vdso]\n"
	"VmFlags: rd ex mr mw me de \n"
	"7f0000400000-7f0000401000 ---p 00000000 00:00 0 \n"
	"VmFlags: mr mw me \n"
	"7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]\n"
	"Swap:                  4 kB\n"
	"VmFlags: rd wr mr mw me gd ac \n";

static void test_smaps(void)
{
	struct proc_vma_list l;

	CU_ASSERT_EQUAL_FATAL(proc_parse_smaps(smaps_text, &l), 0);
	CU_ASSERT_EQUAL_FATAL(l.n, 10);
	CU_ASSERT_EQUAL(l.v[0].start, 0x55d77218d000ull);
	CU_ASSERT_EQUAL(l.v[0].end, 0x55d77218f000ull);
	CU_ASSERT_EQUAL(l.v[0].prot, PROT_READ);
	CU_ASSERT_FALSE(l.v[0].shared);
	CU_ASSERT_EQUAL(l.v[0].dev_major, 0xfe);
	CU_ASSERT_EQUAL(l.v[0].ino, 247134);
	CU_ASSERT_STRING_EQUAL(l.v[0].name, "/usr/bin/cat");
	CU_ASSERT_STRING_EQUAL(l.v[1].name, "[heap]");
	CU_ASSERT_EQUAL(l.v[1].prot, PROT_READ | PROT_WRITE);
	CU_ASSERT_EQUAL(l.v[1].anon_kb, 12);
	CU_ASSERT_EQUAL(l.v[1].rss_kb, 12);
	CU_ASSERT_TRUE(l.v[2].shared);
	CU_ASSERT_TRUE(l.v[2].deleted);
	CU_ASSERT_STRING_EQUAL(l.v[2].name, "/dev/zero");
	CU_ASSERT_STRING_EQUAL(l.v[3].name, "[anon:my name]");
	CU_ASSERT_EQUAL(l.v[3].vmflags, PROC_VMF_DD | PROC_VMF_HG | PROC_VMF_WF | PROC_VMF_NR);
	CU_ASSERT_TRUE(l.v[4].deleted);
	CU_ASSERT_STRING_EQUAL(l.v[4].name, "/tmp/a file");
	CU_ASSERT_EQUAL(l.v[4].pgoff, 0x1000);
	CU_ASSERT_STRING_EQUAL(l.v[5].name, "[vvar]");
	CU_ASSERT_TRUE(l.v[5].vmflags & PROC_VMF_PF);
	CU_ASSERT_TRUE(l.v[5].vmflags & PROC_VMF_IO);
	CU_ASSERT_STRING_EQUAL(l.v[6].name, "[vvar_vclock]");
	CU_ASSERT_STRING_EQUAL(l.v[7].name, "[vdso]");
	CU_ASSERT_EQUAL(l.v[7].prot, PROT_READ | PROT_EXEC);
	CU_ASSERT_STRING_EQUAL(l.v[8].name, "");
	CU_ASSERT_EQUAL(l.v[8].prot, 0);
	CU_ASSERT_STRING_EQUAL(l.v[9].name, "[stack]");
	CU_ASSERT_EQUAL(l.v[9].vmflags, PROC_VMF_GD);
	CU_ASSERT_EQUAL(l.v[9].swap_kb, 4);
	proc_vma_list_free(&l);
}

/* Flags restored (issue 11) are parsed; one not known nor derived is kept. */
static void test_smaps_vmflags(void)
{
	struct proc_vma_list l;

	CU_ASSERT_EQUAL_FATAL(proc_parse_smaps("1000-2000 rw-p 00000000 00:00 0\n"
					       "VmFlags: rd wr mr mw me lo lf rr sl gu ac sd \n"
					       "3000-4000 rw-p 00000000 00:00 0\n"
					       "ProtectionKey:         3\n"
					       "VmFlags: rd wr sr ht ui mm de dp zz qq \n",
					       &l),
			      0);
	CU_ASSERT_EQUAL_FATAL(l.n, 2);
	CU_ASSERT_EQUAL(l.v[0].vmflags,
			PROC_VMF_LO | PROC_VMF_LF | PROC_VMF_RR | PROC_VMF_SL | PROC_VMF_GU);
	CU_ASSERT_STRING_EQUAL(l.v[0].other_flag, "");
	CU_ASSERT_EQUAL(l.v[1].vmflags, PROC_VMF_SR | PROC_VMF_HT | PROC_VMF_UI | PROC_VMF_MM |
						PROC_VMF_DE | PROC_VMF_DP);
	CU_ASSERT_STRING_EQUAL(l.v[1].other_flag, "zz");
	CU_ASSERT_EQUAL(l.v[0].pkey, 0);
	CU_ASSERT_EQUAL(l.v[1].pkey, 3);
	proc_vma_list_free(&l);
}

static void test_smaps_bad(void)
{
	struct proc_vma_list l;

	CU_ASSERT_EQUAL(proc_parse_smaps("Size: 4 kB\n", &l), -EINVAL);
	CU_ASSERT_EQUAL(proc_parse_smaps("1000-0800 r--p 0 00:00 0\n", &l), -EINVAL);
	CU_ASSERT_EQUAL(proc_parse_smaps("1000-2000 r--p\n", &l), -EINVAL);
	CU_ASSERT_EQUAL(proc_parse_smaps("", &l), 0);
	CU_ASSERT_EQUAL(l.n, 0);
	/* maps text (no field lines) parses too */
	CU_ASSERT_EQUAL_FATAL(
		proc_parse_smaps("1000-2000 rw-s 00000000 00:05 7 /SYSV00000000 (deleted)\n"
				 "3000-4000 rw-p 00000000 00:00 0\n",
				 &l),
		0);
	CU_ASSERT_EQUAL(l.n, 2);
	CU_ASSERT_STRING_EQUAL(l.v[0].name, "/SYSV00000000");
	CU_ASSERT_TRUE(l.v[0].deleted);
	proc_vma_list_free(&l);
}

static const char status_text[] = "Name:\tcat\n"
				  "Umask:\t0027\n"
				  "State:\tT (stopped)\n"
				  "Tgid:\t5045\n"
				  "Ngid:\t0\n"
				  "Pid:\t5045\n"
				  "PPid:\t5040\n"
				  "TracerPid:\t0\n"
				  "Uid:\t1000\t1001\t1002\t1003\n"
				  "Gid:\t100\t101\t102\t103\n"
				  "FDSize:\t256\n"
				  "Groups:\t4 24 27 1000 \n"
				  "NStgid:\t5045\t12\n"
				  "NSpid:\t5045\t12\n"
				  "Kthread:\t0\n"
				  "Threads:\t3\n"
				  "SigQ:\t0/96365\n"
				  "SigPnd:\t0000000000000000\n"
				  "ShdPnd:\t0000000000000000\n"
				  "SigBlk:\t0000000000010000\n"
				  "SigIgn:\t0000000000001001\n"
				  "SigCgt:\t0000000180004002\n"
				  "CapInh:\t0000000000000000\n"
				  "CapPrm:\t000001fffeffffff\n"
				  "CapEff:\t000001fffeffffff\n"
				  "CapBnd:\t000001ffffffffff\n"
				  "CapAmb:\t0000000000000400\n"
				  "NoNewPrivs:\t1\n"
				  "Seccomp:\t2\n"
				  "Seccomp_filters:\t3\n"
				  "Speculation_Store_Bypass:\tthread force mitigated\n";

static void test_status(void)
{
	struct proc_status s;

	CU_ASSERT_EQUAL_FATAL(proc_parse_status(status_text, &s), 0);
	CU_ASSERT_EQUAL(s.state, 'T');
	CU_ASSERT_EQUAL(s.pid, 5045);
	CU_ASSERT_EQUAL(s.tgid, 5045);
	CU_ASSERT_EQUAL(s.ppid, 5040);
	CU_ASSERT_EQUAL(s.uid[0], 1000);
	CU_ASSERT_EQUAL(s.uid[3], 1003);
	CU_ASSERT_EQUAL(s.gid[1], 101);
	CU_ASSERT_EQUAL_FATAL(s.n_groups, 4);
	CU_ASSERT_EQUAL(s.groups[0], 4);
	CU_ASSERT_EQUAL(s.groups[3], 1000);
	CU_ASSERT_EQUAL(s.cap_prm, 0x1fffeffffffull);
	CU_ASSERT_EQUAL(s.cap_bnd, 0x1ffffffffffull);
	CU_ASSERT_EQUAL(s.cap_amb, 0x400);
	CU_ASSERT_EQUAL(s.cap_inh, 0);
	CU_ASSERT_TRUE(s.has_umask);
	CU_ASSERT_EQUAL(s.umask, 027);
	CU_ASSERT_TRUE(s.no_new_privs);
	CU_ASSERT_FALSE(s.kthread);
	CU_ASSERT_EQUAL(s.threads, 3);
	CU_ASSERT_TRUE(s.has_sig_masks);
	CU_ASSERT_EQUAL(s.sig_ign, 0x1001);	    /* SIGHUP, SIGPIPE */
	CU_ASSERT_EQUAL(s.sig_cgt, 0x180004002ull); /* SIGINT, SIGTERM, 32, 33 */
	CU_ASSERT_TRUE(s.has_seccomp);
	CU_ASSERT_EQUAL(s.seccomp_mode, 2);
	CU_ASSERT_EQUAL(s.seccomp_filters, 3);
	CU_ASSERT_EQUAL(s.nspid, 12); /* pid 12 of a child pid namespace */
	CU_ASSERT_EQUAL(s.ns_levels, 2);
	proc_status_free(&s);

	CU_ASSERT_EQUAL(proc_parse_status("Groups:\t\nState:\tS (sleeping)\nPid:\t1\n"
					  "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n",
					  &s),
			0);
	CU_ASSERT_EQUAL(s.n_groups, 0);
	CU_ASSERT_FALSE(s.has_umask);
	CU_ASSERT_FALSE(s.has_sig_masks);
	CU_ASSERT_FALSE(s.has_seccomp); /* no CONFIG_SECCOMP: no line */
	CU_ASSERT_EQUAL(s.seccomp_mode, 0);
	CU_ASSERT_EQUAL(s.seccomp_filters, 0);
	CU_ASSERT_EQUAL(s.ns_levels, 0); /* no NSpid line */
	proc_status_free(&s);
	CU_ASSERT_EQUAL(proc_parse_status("State:\tR\nPid:\t9\nUid:\t0\t0\t0\t0\n"
					  "Gid:\t0\t0\t0\t0\nSeccomp:\t1\n",
					  &s),
			0);
	CU_ASSERT_TRUE(s.has_seccomp);
	CU_ASSERT_EQUAL(s.seccomp_mode, 1); /* strict, no Seccomp_filters line */
	CU_ASSERT_EQUAL(s.seccomp_filters, 0);
	proc_status_free(&s);
	CU_ASSERT_EQUAL(proc_parse_status("State:\tR\nPid:\t9\nUid:\t0\t0\t0\t0\n"
					  "Gid:\t0\t0\t0\t0\nSeccomp:\t3\n",
					  &s),
			-EINVAL);
	CU_ASSERT_EQUAL(proc_parse_status("State:\tR\nPid:\t9\nUid:\t0\t0\t0\t0\n"
					  "Gid:\t0\t0\t0\t0\nSeccomp:\t22\n",
					  &s),
			-EINVAL);
	CU_ASSERT_EQUAL(proc_parse_status("Name:\tx\nPid:\t1\n", &s), -EINVAL);
	CU_ASSERT_EQUAL(proc_parse_status("State:\tS\nPid:\t1\nUid:\t0 0\nGid:\t0\t0\t0\t0\n", &s),
			-EINVAL);
}

static void test_stat(void)
{
	/* comm with spaces and parentheses: take up to the last ')' */
	static const char text[] =
		"1234 (a b) (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 5 1 0 "
		"555 1000000 100 18446744073709551615 94000000000000 94000000004000 "
		"140730000000000 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94000000008000 "
		"94000000009000 94000001000000 140730000001000 140730000001100 "
		"140730000001100 140730000002000 0\n";
	struct proc_stat st;

	CU_ASSERT_EQUAL_FATAL(proc_parse_stat(text, &st), 0);
	CU_ASSERT_EQUAL(st.pid, 1234);
	CU_ASSERT_STRING_EQUAL(st.comm, "a b) (c)");
	CU_ASSERT_EQUAL(st.state, 'S');
	CU_ASSERT_EQUAL(st.ppid, 1);
	CU_ASSERT_EQUAL(st.pgrp, 1234);
	CU_ASSERT_EQUAL(st.session, 1234);
	CU_ASSERT_EQUAL(st.flags, 4194560);
	CU_ASSERT_EQUAL(st.nice, 5);
	CU_ASSERT_EQUAL(st.num_threads, 1);
	CU_ASSERT_EQUAL(st.start_code, 94000000000000ull);
	CU_ASSERT_EQUAL(st.end_code, 94000000004000ull);
	CU_ASSERT_EQUAL(st.start_stack, 140730000000000ull);
	CU_ASSERT_EQUAL(st.start_data, 94000000008000ull);
	CU_ASSERT_EQUAL(st.end_data, 94000000009000ull);
	CU_ASSERT_EQUAL(st.start_brk, 94000001000000ull);
	CU_ASSERT_EQUAL(st.arg_start, 140730000001000ull);
	CU_ASSERT_EQUAL(st.arg_end, 140730000001100ull);
	CU_ASSERT_EQUAL(st.env_start, 140730000001100ull);
	CU_ASSERT_EQUAL(st.env_end, 140730000002000ull);
	CU_ASSERT_EQUAL(st.exit_code, 0);
	CU_ASSERT_EQUAL(st.exit_signal, 17);

	CU_ASSERT_EQUAL(
		proc_parse_stat("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0\n",
				&st),
		0);
	CU_ASSERT_TRUE(st.flags & PROC_PF_KTHREAD);
	CU_ASSERT_EQUAL(proc_parse_stat("12 (x S 1\n", &st), -EINVAL);
	CU_ASSERT_EQUAL(proc_parse_stat("12 (x) S 1 2\n", &st), -EINVAL);
}

static void test_stat_zombie(void)
{
	/* a zombie: mm fields are 0, exit_code (field 52) holds the status */
	static const char text[] =
		"4321 (sh) Z 1234 1234 1000 0 -1 4227596 0 0 0 0 0 0 0 0 20 0 1 0 "
		"600 0 0 18446744073709551615 0 0 0 0 0 0 0 0 65536 0 0 0 10 0 0 0 0 0 0 "
		"0 0 0 0 0 0 0 768\n";
	struct proc_stat st;

	CU_ASSERT_EQUAL_FATAL(proc_parse_stat(text, &st), 0);
	CU_ASSERT_EQUAL(st.state, 'Z');
	CU_ASSERT_EQUAL(st.ppid, 1234);
	CU_ASSERT_EQUAL(st.session, 1000);
	CU_ASSERT_EQUAL(st.exit_signal, 10);
	CU_ASSERT_EQUAL(st.exit_code, 768);
	CU_ASSERT_EQUAL(st.start_code, 0);
}

static const char timers_text[] = "ID: 2\n"
				  "signal: 12/0000000000001234\n"
				  "notify: signal/tid.29237\n"
				  "ClockID: -6\n"
				  "ID: 1\n"
				  "signal: 10/00007f0000000010\n"
				  "notify: none/pid.29237\n"
				  "ClockID: 0\n"
				  "ID: 0\n"
				  "signal: 14/0000000000000000\n"
				  "notify: thread/pid.29237\n"
				  "ClockID: 1\n";

static void test_timers(void)
{
	struct proc_timer *v = NULL;
	size_t n = 99;

	CU_ASSERT_EQUAL_FATAL(proc_parse_timers(timers_text, &v, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_EQUAL(v[0].id, 2);
	CU_ASSERT_EQUAL(v[0].signo, 12);
	CU_ASSERT_EQUAL(v[0].sigval, 0x1234);
	CU_ASSERT_EQUAL(v[0].notify, 4); /* SIGEV_SIGNAL | SIGEV_THREAD_ID */
	CU_ASSERT_EQUAL(v[0].notify_pid, 29237);
	CU_ASSERT_EQUAL(v[0].clock_id, -6);
	CU_ASSERT_EQUAL(v[1].id, 1);
	CU_ASSERT_EQUAL(v[1].notify, 1); /* SIGEV_NONE */
	CU_ASSERT_EQUAL(v[1].sigval, 0x7f0000000010ull);
	CU_ASSERT_EQUAL(v[1].clock_id, 0);
	CU_ASSERT_EQUAL(v[2].notify, 2); /* SIGEV_THREAD */
	CU_ASSERT_EQUAL(v[2].signo, 14);
	CU_ASSERT_EQUAL(v[2].clock_id, 1);
	free(v);

	CU_ASSERT_EQUAL(proc_parse_timers("", &v, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NULL(v);
	/* incomplete block, bad notify, text before the first ID */
	CU_ASSERT_EQUAL(proc_parse_timers("ID: 1\nsignal: 10/0\nClockID: 0\n", &v, &n), -EINVAL);
	CU_ASSERT_EQUAL(proc_parse_timers("ID: 1\nsignal: 10/0\nnotify: bogus/pid.1\n"
					  "ClockID: 0\n",
					  &v, &n),
			-EINVAL);
	CU_ASSERT_EQUAL(proc_parse_timers("ID: 1\nsignal: 10/0\nnotify: signal\n"
					  "ClockID: 0\n",
					  &v, &n),
			-EINVAL);
	CU_ASSERT_EQUAL(proc_parse_timers("ID: 1\nsignal: 10\nnotify: none/pid.1\n"
					  "ClockID: 0\n",
					  &v, &n),
			-EINVAL);
	CU_ASSERT_EQUAL(proc_parse_timers("junk\nID: 1\n", &v, &n), -EINVAL);
}

/* The parser on what this kernel prints for a timer of our own. */
static void test_timers_self(void)
{
	struct sigevent se = { 0 };
	struct proc_timer *v = NULL;
	size_t n = 0, i;
	char *text;
	timer_t id;
	int found = 0;

	se.sigev_notify = SIGEV_SIGNAL;
	se.sigev_signo = SIGUSR2;
	se.sigev_value.sival_ptr = (void *)0x5678;
	CU_ASSERT_EQUAL_FATAL(timer_create(CLOCK_MONOTONIC, &se, &id), 0);
	if (proc_read_file(0, "timers", &text, NULL)) {
		timer_delete(id);
		return; /* kernel without CONFIG_CHECKPOINT_RESTORE */
	}
	CU_ASSERT_EQUAL(proc_parse_timers(text, &v, &n), 0);
	for (i = 0; i < n; i++) {
		if (v[i].id != (int32_t)(intptr_t)id)
			continue;
		found = 1;
		CU_ASSERT_EQUAL(v[i].signo, SIGUSR2);
		CU_ASSERT_EQUAL(v[i].sigval, 0x5678);
		CU_ASSERT_EQUAL(v[i].notify, 0);
		CU_ASSERT_EQUAL(v[i].notify_pid, getpid());
		CU_ASSERT_EQUAL(v[i].clock_id, CLOCK_MONOTONIC);
	}
	CU_ASSERT_TRUE(found);
	free(v);
	free(text);
	timer_delete(id);
}

static void test_fdinfo(void)
{
	struct proc_fdinfo fi;

	CU_ASSERT_EQUAL_FATAL(proc_parse_fdinfo("pos:\t4096\nflags:\t02100002\nmnt_id:\t24\n"
						"ino:\t3\n",
						&fi),
			      0);
	CU_ASSERT_EQUAL(fi.pos, 4096);
	CU_ASSERT_EQUAL(fi.flags, 02100002);
	CU_ASSERT_EQUAL(fi.mnt_id, 24);
	CU_ASSERT_TRUE(fi.has_ino);
	CU_ASSERT_EQUAL(fi.ino, 3);
	/* eventfd-style extra lines are ignored; ino is optional */
	CU_ASSERT_EQUAL(
		proc_parse_fdinfo("pos:\t0\nflags:\t02\nmnt_id:\t15\neventfd-count: 0\n", &fi), 0);
	CU_ASSERT_FALSE(fi.has_ino);
	CU_ASSERT_EQUAL(proc_parse_fdinfo("flags:\t02\n", &fi), -EINVAL);
}

/* The shared key/value and line-count helpers the fd kinds parse with. */
static void test_fdinfo_fields(void)
{
	const char *text = "pos:\t0\nflags:\t02\neventfd-count:               2a\n"
			   "sigmask:\t0000000000000200\nPid:\t-1\nNSpid:\t-1\n"
			   "tfd: 5 events: 19\ntfd: 6 events: 19\nbad: 12x\nempty:\n";
	const char *val, *end;
	uint64_t v;

	CU_ASSERT_EQUAL(proc_fdinfo_u64(text, "eventfd-count", 16, &v), 0);
	CU_ASSERT_EQUAL(v, 0x2a);
	CU_ASSERT_EQUAL(proc_fdinfo_u64(text, "sigmask", 16, &v), 0);
	CU_ASSERT_EQUAL(v, 0x200);
	CU_ASSERT_EQUAL(proc_fdinfo_u64(text, "flags", 8, &v), 0);
	CU_ASSERT_EQUAL(v, 2);
	CU_ASSERT_EQUAL(proc_fdinfo_u64(text, "missing", 10, &v), -ENOENT);
	CU_ASSERT_EQUAL(proc_fdinfo_u64(text, "bad", 10, &v), -EINVAL);
	CU_ASSERT_EQUAL(proc_fdinfo_u64(text, "empty", 10, &v), -EINVAL);
	CU_ASSERT_EQUAL(proc_fdinfo_u64(text, "Pid", 10, &v), -EINVAL); /* "-1" */
	CU_ASSERT_EQUAL(proc_fdinfo_u64("n: 99999999999999999999\n", "n", 10, &v), -EINVAL);
	CU_ASSERT_EQUAL(proc_fdinfo_u64("n: 7", "n", 10, &v), 0); /* no final newline */
	CU_ASSERT_EQUAL(v, 7);
	/* "Pid" is its own line, not the end of "NSpid" */
	CU_ASSERT_EQUAL_FATAL(proc_fdinfo_field("NSpid:\t3\nPid:\t4\n", "Pid", &val, &end), 0);
	CU_ASSERT_EQUAL(*val, '4');
	CU_ASSERT_EQUAL(end - val, 1);
	CU_ASSERT_EQUAL(proc_fdinfo_count(text, "tfd:"), 2);
	CU_ASSERT_EQUAL(proc_fdinfo_count(text, "inotify "), 0);
	CU_ASSERT_EQUAL(proc_fdinfo_count("", "tfd:"), 0);
}

static void test_auxv(void)
{
	uint64_t in[] = { 33, 0x7fff0000, 6, 4096, 0, 0, 99, 99 }, out[8];
	size_t n;

	CU_ASSERT_EQUAL(proc_parse_auxv(in, sizeof(in), out, 8, &n), 0);
	CU_ASSERT_EQUAL(n, 6);
	CU_ASSERT_EQUAL(out[1], 0x7fff0000);
	CU_ASSERT_EQUAL(out[4], 0);
	CU_ASSERT_EQUAL(proc_parse_auxv(in, 4 * 8, out, 8, &n), -EINVAL);
	CU_ASSERT_EQUAL(proc_parse_auxv(in, sizeof(in), out, 4, &n), -E2BIG);
}

static void test_children_and_deleted(void)
{
	char p[] = "/tmp/x (deleted)", q[] = "/tmp/(deleted)";

	CU_ASSERT_EQUAL(proc_count_pids(""), 0);
	CU_ASSERT_EQUAL(proc_count_pids("12 345 "), 2);
	CU_ASSERT_EQUAL(proc_count_pids("x"), -EINVAL);
	CU_ASSERT_TRUE(proc_strip_deleted(p));
	CU_ASSERT_STRING_EQUAL(p, "/tmp/x");
	CU_ASSERT_FALSE(proc_strip_deleted(q));
}

/* /proc/PID/cgroup lines, hostile ones, and the directory of a group. */
static void test_cgroup(void)
{
	static struct proc_cgroup_line l[4];
	char dir[64], mnt[4096], root[4096];

	CU_ASSERT_EQUAL(proc_parse_cgroup("9:name=systemd:/\n8:cpu,cpuacct:/a b\n0::/x/y\n", l, 4),
			3);
	CU_ASSERT_STRING_EQUAL(l[0].controllers, "name=systemd");
	CU_ASSERT_STRING_EQUAL(l[1].controllers, "cpu,cpuacct");
	CU_ASSERT_STRING_EQUAL(l[1].path, "/a b");
	CU_ASSERT_STRING_EQUAL(l[2].controllers, "");
	CU_ASSERT_STRING_EQUAL(l[2].path, "/x/y");
	CU_ASSERT_EQUAL(proc_parse_cgroup("", l, 4), 0);
	CU_ASSERT_EQUAL(proc_parse_cgroup("0::x\n", l, 4), -EINVAL); /* not absolute */
	CU_ASSERT_EQUAL(proc_parse_cgroup("0:/\n", l, 4), -EINVAL);  /* one colon */
	CU_ASSERT_EQUAL(proc_parse_cgroup("0::\n", l, 4), -EINVAL);  /* no path */
	CU_ASSERT_EQUAL(proc_parse_cgroup("0::/\n1:a:/\n", l, 1), -E2BIG);
	CU_ASSERT_EQUAL(proc_cgroup_dir("/m", "/", "/a/b", dir, sizeof(dir)), 0);
	CU_ASSERT_STRING_EQUAL(dir, "/m/a/b");
	CU_ASSERT_EQUAL(proc_cgroup_dir("/m", "/a", "/a/b", dir, sizeof(dir)), 0);
	CU_ASSERT_STRING_EQUAL(dir, "/m/b");
	CU_ASSERT_EQUAL(proc_cgroup_dir("/m", "/a", "/a", dir, sizeof(dir)), 0);
	CU_ASSERT_STRING_EQUAL(dir, "/m");
	CU_ASSERT_EQUAL(proc_cgroup_dir("/m", "/a", "/ab", dir, sizeof(dir)), -ENOENT);
	CU_ASSERT_EQUAL(proc_cgroup_dir("/m", "/", "/a", dir, 3), -ENAMETOOLONG);
	CU_ASSERT_EQUAL(proc_cgroup_mount("no-such-controller", mnt, sizeof(mnt), root,
					  sizeof(root)),
			-ENOENT);
}

/* The readers against this very process. */
static void test_read_self(void)
{
	struct proc_status s;
	long long v;
	char *text, buf[256];

	CU_ASSERT_EQUAL_FATAL(proc_read_file(0, "status", &text, NULL), 0);
	CU_ASSERT_EQUAL(proc_parse_status(text, &s), 0);
	CU_ASSERT_EQUAL(s.pid, getpid());
	/* 0 here, 2 under a container runtime's filter */
	CU_ASSERT(!s.has_seccomp || s.seccomp_mode == 0 || s.seccomp_mode == 2);
	CU_ASSERT(s.seccomp_mode == 2 || s.seccomp_filters == 0);
	proc_status_free(&s);
	free(text);
	CU_ASSERT_EQUAL(proc_read_long(0, "oom_score_adj", 10, &v), 0);
	CU_ASSERT_EQUAL(proc_readlink(0, "exe", buf, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(proc_read_file(0, "no-such-file", &text, NULL), -ENOENT);
}

static void test_limits(void)
{
	static const char text[] =
		"Limit                     Soft Limit           Hard Limit           Units     \n"
		"Max cpu time              unlimited            unlimited            seconds   \n"
		"Max file size             1048576              unlimited            bytes     \n"
		"Max data size             unlimited            unlimited            bytes     \n"
		"Max stack size            8388608              unlimited            bytes     \n"
		"Max core file size        0                    unlimited            bytes     \n"
		"Max resident set          unlimited            unlimited            bytes     \n"
		"Max processes             95412                95412                processes \n"
		"Max open files            256                  1024                 files     \n"
		"Max locked memory         8388608              8388608              bytes     \n"
		"Max address space         unlimited            unlimited            bytes     \n"
		"Max file locks            unlimited            unlimited            locks     \n"
		"Max pending signals       95412                95412                signals   \n"
		"Max msgqueue size         819200               819200               bytes     \n"
		"Max nice priority         0                    0                    \n"
		"Max realtime priority     0                    0                    \n"
		"Max realtime timeout      unlimited            unlimited            us        \n";
	struct rlimit lim[RLIM_NLIMITS];

	CU_ASSERT_EQUAL(proc_parse_limits(text, lim, RLIM_NLIMITS), RLIM_NLIMITS);
	CU_ASSERT_EQUAL(lim[RLIMIT_CPU].rlim_cur, RLIM_INFINITY);
	CU_ASSERT_EQUAL(lim[RLIMIT_FSIZE].rlim_cur, 1048576);
	CU_ASSERT_EQUAL(lim[RLIMIT_FSIZE].rlim_max, RLIM_INFINITY);
	CU_ASSERT_EQUAL(lim[RLIMIT_NOFILE].rlim_cur, 256);
	CU_ASSERT_EQUAL(lim[RLIMIT_NOFILE].rlim_max, 1024);
	CU_ASSERT_EQUAL(lim[RLIMIT_CORE].rlim_cur, 0);
	CU_ASSERT_EQUAL(lim[RLIMIT_RTTIME].rlim_max, RLIM_INFINITY);
	CU_ASSERT_EQUAL(proc_parse_limits("garbage\n", lim, RLIM_NLIMITS), -EINVAL);
	CU_ASSERT_EQUAL(proc_parse_limits("Limit  x\nMax cpu time  12\n", lim, RLIM_NLIMITS),
			-EINVAL);
}

static void test_sysv_shm(void)
{
	static const char text[] =
		"       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n"
		"         0         16  1600               1048576  7184  7184      1     0     0     0     0 1795353820          0 1795353820                  4096                     0\n"
		"  -1234567      32769   644                  1000    12    13      0  1000   100     0    50          0          0 1795353821                     0                     0\n";
	struct proc_sysv_shm *v = NULL;
	size_t n = 0;

	CU_ASSERT_EQUAL_FATAL(proc_parse_sysv_shm(text, &v, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_EQUAL(v[0].key, 0);
	CU_ASSERT_EQUAL(v[0].shmid, 16);
	CU_ASSERT_EQUAL(v[0].perms, 01600);
	CU_ASSERT_TRUE(v[0].perms & PROC_SHM_DEST);
	CU_ASSERT_EQUAL(v[0].size, 1048576);
	CU_ASSERT_EQUAL(v[0].cpid, 7184);
	CU_ASSERT_EQUAL(v[0].nattch, 1);
	CU_ASSERT_EQUAL(v[1].key, -1234567);
	CU_ASSERT_EQUAL(v[1].shmid, 32769);
	CU_ASSERT_EQUAL(v[1].perms, 0644);
	CU_ASSERT_FALSE(v[1].perms & PROC_SHM_DEST);
	CU_ASSERT_EQUAL(v[1].size, 1000);
	CU_ASSERT_EQUAL(v[1].lpid, 13);
	CU_ASSERT_EQUAL(v[1].nattch, 0);
	CU_ASSERT_EQUAL(v[1].uid, 1000);
	CU_ASSERT_EQUAL(v[1].gid, 100);
	CU_ASSERT_EQUAL(v[1].cuid, 0);
	CU_ASSERT_EQUAL(v[1].cgid, 50);
	free(v);

	/* header only: no segment; no header, short line: refused */
	CU_ASSERT_EQUAL(proc_parse_sysv_shm("key shmid perms size\n", &v, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NULL(v);
	CU_ASSERT_EQUAL(proc_parse_sysv_shm("0 16 1600 4096 1 1 1 0 0 0 0\n", &v, &n), -EINVAL);
	CU_ASSERT_EQUAL(proc_parse_sysv_shm("", &v, &n), -EINVAL);
	/* a short line must not borrow fields from the next one */
	CU_ASSERT_EQUAL(proc_parse_sysv_shm("key shmid\n0 16 1600\n4096 1 1 1 0 0 0 0\n", &v, &n),
			-EINVAL);
	CU_ASSERT_EQUAL(proc_parse_sysv_shm("key shmid\n0 16 1600 x 1 1 1 0 0 0 0\n", &v, &n),
			-EINVAL);
}

/* Our own segment shows up in /proc/sysvipc/shm with what shmctl says. */
static void test_sysv_shm_self(void)
{
	struct proc_sysv_shm *v = NULL;
	size_t n = 0, i;
	char *text;
	int id;

	id = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0640);
	if (id < 0)
		return; /* no SysV IPC here */
	CU_ASSERT_EQUAL(shmctl(id, IPC_RMID, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(proc_read_path("/proc/sysvipc/shm", &text, NULL), 0);
	CU_ASSERT_EQUAL(proc_parse_sysv_shm(text, &v, &n), 0);
	free(text);
	for (i = 0; i < n && v[i].shmid != id; i++)
		;
	/* removed and never attached: gone already */
	CU_ASSERT_EQUAL(i, n);
	free(v);
	id = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0640);
	CU_ASSERT_FATAL(id >= 0);
	CU_ASSERT_EQUAL(proc_read_path("/proc/sysvipc/shm", &text, NULL), 0);
	shmctl(id, IPC_RMID, NULL);
	CU_ASSERT_EQUAL_FATAL(proc_parse_sysv_shm(text, &v, &n), 0);
	free(text);
	for (i = 0; i < n && v[i].shmid != id; i++)
		;
	CU_ASSERT_FATAL(i < n);
	CU_ASSERT_EQUAL(v[i].size, 8192);
	CU_ASSERT_EQUAL(v[i].perms & 0777, 0640);
	CU_ASSERT_EQUAL(v[i].cpid, getpid());
	CU_ASSERT_EQUAL(v[i].uid, getuid());
	free(v);
}

static void test_locks(void)
{
	static const char text[] = "1: LEASE  ACTIVE    READ 10260 fe:00:10953016 0 EOF\n"
				   "2: FLOCK  ADVISORY  WRITE 10260 fe:00:10953017 0 EOF\n"
				   "3: OFDLCK ADVISORY  WRITE -1 fe:00:10953015 20 22\n"
				   "4: POSIX  ADVISORY  READ 10260 fe:00:10953015 100 EOF\n"
				   "5: POSIX  ADVISORY  WRITE 10260 103:1f:10953015 10 14\n"
				   "5: -> POSIX  ADVISORY  WRITE 10274 fe:00:10953015 10 10\n"
				   "6: LEASE  BREAKING  UNLCK 7 00:1a:5 0 EOF\n"
				   "7: POSIX  MANDATORY WRITE 7 00:1a:5 0 0\n";
	struct proc_lock *v;
	size_t n;

	CU_ASSERT_EQUAL_FATAL(proc_parse_locks(text, "", &v, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 8);
	CU_ASSERT_EQUAL(v[0].cls, PROC_LOCK_LEASE);
	CU_ASSERT_EQUAL(v[0].type, F_RDLCK);
	CU_ASSERT_EQUAL(v[0].end, PROC_LOCK_EOF);
	CU_ASSERT_EQUAL(v[1].cls, PROC_LOCK_FLOCK);
	CU_ASSERT_EQUAL(v[1].ino, 10953017);
	CU_ASSERT_EQUAL(v[2].cls, PROC_LOCK_OFD);
	CU_ASSERT_EQUAL(v[2].pid, -1);
	CU_ASSERT_EQUAL(v[2].start, 20);
	CU_ASSERT_EQUAL(v[2].end, 22);
	CU_ASSERT_EQUAL(v[3].cls, PROC_LOCK_POSIX);
	CU_ASSERT_EQUAL(v[3].start, 100);
	CU_ASSERT_EQUAL(v[4].dev_major, 0x103);
	CU_ASSERT_EQUAL(v[4].dev_minor, 0x1f);
	CU_ASSERT_EQUAL(v[4].pid, 10260);
	CU_ASSERT_FALSE(v[4].waiter);
	CU_ASSERT_TRUE(v[5].waiter);
	CU_ASSERT_EQUAL(v[5].pid, 10274);
	CU_ASSERT_TRUE(v[6].breaking);
	CU_ASSERT_EQUAL(v[6].type, F_UNLCK);
	CU_ASSERT_TRUE(v[7].mandatory);
	free(v);
}

static void test_locks_fdinfo(void)
{
	static const char text[] = "pos:\t0\nflags:\t0100002\nmnt_id:\t31\nino:\t10953015\n"
				   "lock:\t1: POSIX  ADVISORY  WRITE 10260 fe:00:10953015 10 14\n"
				   "lock:\t2: POSIX  ADVISORY  READ 10260 fe:00:10953015 100 EOF\n";
	struct proc_lock *v;
	size_t n;

	CU_ASSERT_EQUAL_FATAL(proc_parse_locks(text, "lock:\t", &v, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_EQUAL(v[0].end, 14);
	CU_ASSERT_EQUAL(v[1].type, F_RDLCK);
	free(v);
	CU_ASSERT_EQUAL(proc_parse_locks("pos:\t0\nflags:\t02\n", "lock:\t", &v, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	free(v);
}

/* Every line here must be refused. */
static void test_locks_bad(void)
{
	static const char *const bad[] = {
		"",
		"1: POSIX  ADVISORY  WRITE 10 fe:00:5 10",	 /* no end */
		"1: POSIX  ADVISORY  WRITE 10 fe:00:5 10 14 15", /* one too many */
		"1 POSIX  ADVISORY  WRITE 10 fe:00:5 10 14",	 /* no colon */
		"x: POSIX  ADVISORY  WRITE 10 fe:00:5 10 14",
		"1: POSIXX ADVISORY  WRITE 10 fe:00:5 10 14",
		"1: POSIX  ACTIVE    WRITE 10 fe:00:5 10 14", /* lease mode */
		"1: LEASE  ADVISORY  WRITE 10 fe:00:5 0 EOF", /* lock mode */
		"1: POSIX  ADVISORY  WRIT 10 fe:00:5 10 14",
		"1: POSIX  ADVISORY  WRITE -2 fe:00:5 10 14",
		"1: POSIX  ADVISORY  WRITE +10 fe:00:5 10 14",
		"1: POSIX  ADVISORY  WRITE 99999999999 fe:00:5 10 14",
		"1: POSIX  ADVISORY  WRITE 10 FE:00:5 10 14", /* hex is lower case */
		"1: POSIX  ADVISORY  WRITE 10 fe:00 10 14",
		"1: POSIX  ADVISORY  WRITE 10 fe:00:5x 10 14",
		"1: POSIX  ADVISORY  WRITE 10 fe:00:5 14 10", /* end before start */
		"1: POSIX  ADVISORY  WRITE 10 fe:00:5 -1 10",
		"1: POSIX  ADVISORY  WRITE 10 fe:00:5 010 14", /* leading zero */
		"1: POSIX  ADVISORY  WRITE 10 fe:00:5 9223372036854775808 EOF",
		"1: => POSIX  ADVISORY  WRITE 10 fe:00:5 10 14",
	};
	struct proc_lock l, *v;
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(proc_parse_lock(bad[i], &l), -EINVAL);
	CU_ASSERT_EQUAL(proc_parse_locks("1: POSIX  ADVISORY  WRITE 10 fe:00:5 10 14\ngarbage\n",
					 "", &v, &n),
			-EINVAL);
	CU_ASSERT_PTR_NULL(v);
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("proc", NULL, NULL);
	CU_add_test(s, "smaps", test_smaps);
	CU_add_test(s, "limits", test_limits);
	CU_add_test(s, "smaps malformed / maps", test_smaps_bad);
	CU_add_test(s, "smaps VmFlags restored or refused", test_smaps_vmflags);
	CU_add_test(s, "status", test_status);
	CU_add_test(s, "stat", test_stat);
	CU_add_test(s, "stat of a zombie", test_stat_zombie);
	CU_add_test(s, "timers", test_timers);
	CU_add_test(s, "timers on self", test_timers_self);
	CU_add_test(s, "fdinfo", test_fdinfo);
	CU_add_test(s, "fdinfo fields", test_fdinfo_fields);
	CU_add_test(s, "auxv", test_auxv);
	CU_add_test(s, "children, deleted suffix", test_children_and_deleted);
	CU_add_test(s, "readers on self", test_read_self);
	CU_add_test(s, "cgroup lines and directories", test_cgroup);
	CU_add_test(s, "sysvipc shm", test_sysv_shm);
	CU_add_test(s, "sysvipc shm of our own segment", test_sysv_shm_self);
	CU_add_test(s, "locks", test_locks);
	CU_add_test(s, "locks in fdinfo", test_locks_fdinfo);
	CU_add_test(s, "locks malformed", test_locks_bad);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
