/*
 * Unit tests of the mountinfo parser (lib/proc/mountinfo.c) on literal
 * text, hostile lines included, and of restore's MOUNTS path and option
 * checks (lib/restore/mntns.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>

#include "proc/mountinfo.h"
#include "restore/restore.h"
#include "restore/mntns.h"

static const char good[] =
	"22 27 0:21 / /proc rw,relatime - proc proc rw\n"
	"27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard\n"
	"91 27 0:41 / /tmp/a\\040b rw,nosuid,relatime master:3 propagate_from:2 - tmpfs tm "
	"rw,size=2048k,mode=750\n"
	"92 91 0:42 /sub\\134dir /tmp/x ro,relatime unbindable - tmpfs nested rw\n"
	"93 91 0:43 / /tmp/y rw shared:7 master:2 - fuse.sshfs host:/x rw\n"
	"94 91 0:44 / /tmp/new\\012line rw - tmpfs t rw\n" /* the kernel's escape: kept */
	"95 27 0:4 net:[4026532174] /run/netns/n rw master:2 - nsfs nsfs rw\n"; /* ip netns */

static void test_good(void)
{
	struct proc_mount_list l;

	CU_ASSERT_EQUAL_FATAL(proc_parse_mountinfo(good, &l), 0);
	CU_ASSERT_EQUAL_FATAL(l.n, 7);
	CU_ASSERT_STRING_EQUAL(l.v[6].root, "net:[4026532174]");
	CU_ASSERT_STRING_EQUAL(l.v[6].fstype, "nsfs");
	CU_ASSERT_STRING_EQUAL(l.v[5].point, "/tmp/new\nline"); /* restore refuses it */
	CU_ASSERT_EQUAL(l.v[0].id, 22);
	CU_ASSERT_EQUAL(l.v[0].parent, 27);
	CU_ASSERT_EQUAL(l.v[0].major, 0);
	CU_ASSERT_EQUAL(l.v[0].minor, 21);
	CU_ASSERT_STRING_EQUAL(l.v[0].point, "/proc");
	CU_ASSERT_STRING_EQUAL(l.v[0].super, "rw");
	CU_ASSERT_EQUAL(l.v[1].shared, 1);
	CU_ASSERT_EQUAL(l.v[1].major, 254);
	CU_ASSERT_STRING_EQUAL(l.v[2].point, "/tmp/a b");
	CU_ASSERT_EQUAL(l.v[2].master, 3);
	CU_ASSERT_EQUAL(l.v[2].propagate_from, 2);
	CU_ASSERT_STRING_EQUAL(l.v[2].super, "rw,size=2048k,mode=750");
	CU_ASSERT_STRING_EQUAL(l.v[2].source, "tm");
	CU_ASSERT_STRING_EQUAL(l.v[3].root, "/sub\\dir");
	CU_ASSERT(l.v[3].unbindable);
	CU_ASSERT_STRING_EQUAL(l.v[4].fstype, "fuse.sshfs");
	CU_ASSERT_EQUAL(l.v[4].shared, 7);
	CU_ASSERT_EQUAL(l.v[4].master, 2);
	CU_ASSERT_PTR_EQUAL(proc_mount_by_id(&l, 92), &l.v[3]);
	CU_ASSERT_PTR_NULL(proc_mount_by_id(&l, 1));
	CU_ASSERT(proc_mount_has_opt(l.v[2].opts, "nosuid"));
	CU_ASSERT(!proc_mount_has_opt(l.v[2].opts, "nosu"));
	CU_ASSERT(!proc_mount_has_opt(l.v[2].opts, "ro"));
	proc_mount_list_free(&l);
}

/* Each line alone must be refused, and leave an empty list. */
static const char *const bad[] = {
	"22 27 0:21 / /proc rw,relatime - proc proc rw",	 /* no newline */
	"22 27 0:21 / /proc rw,relatime proc proc rw\n",	 /* no separator */
	"22 27 0:21 / /proc rw,relatime -\n",			 /* nothing after it */
	"22 27 0:21 / /proc rw,relatime - proc proc\n",		 /* no super options */
	"22  27 0:21 / /proc rw - proc proc rw\n",		 /* two spaces */
	"-1 27 0:21 / /proc rw - proc proc rw\n",		 /* negative id */
	"022 27 0:21 / /proc rw - proc proc rw\n",		 /* leading zero */
	"4294967296 27 0:21 / /proc rw - proc proc rw\n",	 /* id past u32 */
	"22 27 0x15 / /proc rw - proc proc rw\n",		 /* bad device */
	"22 27 0:21 / proc rw - proc proc rw\n",		 /* relative point */
	"22 27 0:21 x /proc rw - proc proc rw\n",		 /* relative root */
	"22 27 0:4 net:[] /proc rw - nsfs nsfs rw\n",		 /* no nsfs number */
	"22 27 0:4 net:[1]x /proc rw - nsfs nsfs rw\n",		 /* after the nsfs name */
	"22 27 0:4 Net:[1] /proc rw - nsfs nsfs rw\n",		 /* not an nsfs name */
	"22 27 0:21 / /p\\400 rw - proc proc rw\n",		 /* escape out of range */
	"22 27 0:21 / /p\\000x rw - proc proc rw\n",		 /* escaped NUL */
	"22 27 0:21 / /p\\12 rw - proc proc rw\n",		 /* short escape */
	"22 27 0:21 / /p\x01 rw - proc proc rw\n",		 /* control byte */
	"22 27 0:21 / /p rw shared:0 - proc proc rw\n",		 /* group 0 */
	"22 27 0:21 / /p rw shared:1 shared:2 - proc proc rw\n", /* twice */
	"22 27 0:21 / /p rw private - proc proc rw\n",		 /* unknown tag */
	"22 27 0:21 / /p rw master: - proc proc rw\n",		 /* empty group */
	"22 27 0:21 / /p rw - proc proc rw extra\n",		 /* space in super */
	"22 27 0:21 / /p rw - proc proc rw\n22 1 0:1 / / rw - ext4 x rw\n", /* same id */
	"22 27 0:21 / /p rw - proc\n",					    /* no source */
};

static void test_bad(void)
{
	struct proc_mount_list l;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		l.n = 99;
		CU_ASSERT_EQUAL(proc_parse_mountinfo(bad[i], &l), -EINVAL);
		CU_ASSERT_EQUAL(l.n, 0);
		CU_ASSERT_PTR_NULL(l.v);
	}
}

/* A point longer than the field limit, and a line that never ends. */
static void test_long(void)
{
	struct proc_mount_list l;
	size_t n = PROC_MNT_FIELD_MAX + 16;
	char *s = malloc(n + 64);

	CU_ASSERT_FATAL(s != NULL);
	strcpy(s, "1 2 0:1 / /");
	memset(s + strlen(s), 'a', n);
	strcpy(s + 11 + n, " rw - tmpfs t rw\n");
	CU_ASSERT_EQUAL(proc_parse_mountinfo(s, &l), -EINVAL);
	CU_ASSERT_EQUAL(proc_parse_mountinfo("", &l), 0);
	CU_ASSERT_EQUAL(l.n, 0);
	free(s);
}

static void test_read_self(void)
{
	struct proc_mount_list l;

	CU_ASSERT_EQUAL_FATAL(proc_read_mountinfo(0, &l), 0);
	CU_ASSERT(l.n > 0);
	proc_mount_list_free(&l);
}

static void test_restore_checks(void)
{
	CU_ASSERT(mntns_clean_path("/", false));
	CU_ASSERT(mntns_clean_path("/a/b.c/..d", false));
	CU_ASSERT(!mntns_clean_path("/a/../b", false));
	CU_ASSERT(!mntns_clean_path("/a/./b", false));
	CU_ASSERT(!mntns_clean_path("/a//b", false));
	CU_ASSERT(!mntns_clean_path("/a/", false));
	CU_ASSERT(!mntns_clean_path("a", false));
	CU_ASSERT(!mntns_clean_path("", false));
	CU_ASSERT(mntns_clean_path("", true));
	CU_ASSERT(!mntns_clean_path("/", true));
	CU_ASSERT(!mntns_clean_path("/a\nb", false));
	CU_ASSERT(mntns_fresh_type("tmpfs"));
	CU_ASSERT(!mntns_fresh_type("ext4"));
	CU_ASSERT(!mntns_fresh_type("ramfs"));
	CU_ASSERT(mntns_super_ok("tmpfs", "rw,size=1024k,mode=1777,inode64"));
	CU_ASSERT(mntns_super_ok("tmpfs", "ro,size=0k"));
	CU_ASSERT(!mntns_super_ok("tmpfs", "rw,size=1k,x=y"));
	CU_ASSERT(!mntns_super_ok("tmpfs", "rw,mode=1777,uid=0/../"));
	CU_ASSERT(!mntns_super_ok("tmpfs", "rw,,size=1k"));
	CU_ASSERT(!mntns_super_ok("proc", "rw,size=1k"));
	CU_ASSERT(mntns_super_ok("proc", "rw,hidepid=invisible"));
	CU_ASSERT(mntns_super_ok("devpts", "rw,mode=600,ptmxmode=000"));
	CU_ASSERT(!mntns_super_ok("ext4", "rw"));
	CU_ASSERT(mntns_opts_ok("ro,nosuid,nodev,noexec,relatime"));
	CU_ASSERT(!mntns_opts_ok("rw,shared"));
	CU_ASSERT(!mntns_opts_ok(""));
}

/* A tmpfs at point with nodes: root 1, dir "d" 2, file "d/f" 3, and a
 * host mount 9 at "/h"; FILE fe names path and tmpfs_node node. */
static int files_check(const char *point, const char *path, uint32_t node, FileKind kind,
		       bool deleted)
{
	MountEntry m[2], *mv[2] = { &m[0], &m[1] };
	TmpfsNode n[3], *nv[3] = { &n[0], &n[1], &n[2] };
	static const char *const names[3] = { "", "d", "f" };
	MountsEntry ms;
	FileEntry fe;
	struct rst_file rf = { .fe = &fe };
	struct rst_image img;

	mounts_entry__init(&ms);
	ms.n_mounts = 2;
	ms.mounts = mv;
	ms.n_nodes = 3;
	ms.nodes = nv;
	for (int i = 0; i < 2; i++) {
		mount_entry__init(&m[i]);
		m[i].id = i ? 9 : 5;
		m[i].kind = i ? MOUNT_KIND__MNT_HOST : MOUNT_KIND__MNT_FRESH;
		m[i].fstype = "tmpfs";
		m[i].point = (char *)(i ? "/h" : point);
	}
	for (int i = 0; i < 3; i++) {
		tmpfs_node__init(&n[i]);
		n[i].id = (uint32_t)i + 1;
		n[i].mount = 5;
		n[i].parent = (uint32_t)i; /* 0, 1, 2 */
		n[i].name = (char *)names[i];
		n[i].mode = (i < 2 ? S_IFDIR : S_IFREG) | 0644;
	}
	file_entry__init(&fe);
	fe.id = 1;
	fe.kind = kind;
	fe.path = (char *)path;
	fe.has_tmpfs_node = true;
	fe.tmpfs_node = node;
	fe.deleted = deleted;
	memset(&img, 0, sizeof(img));
	img.mounts = &ms;
	img.files = &rf;
	img.nr_files = 1;
	return mntns_files_check_image(&img);
}

static void test_files_check(void)
{
	CU_ASSERT(!files_check("/m/t", "/m/t/d/f", 3, FILE_KIND__FILE_REG, false));
	CU_ASSERT(!files_check("/m/t", "/m/t/d/f", 3, FILE_KIND__FILE_MAPONLY, false));
	CU_ASSERT(!files_check("/m/t", "/m/t/d", 2, FILE_KIND__FILE_DIR, false));
	CU_ASSERT(!files_check("/m/t", "/m/t", 1, FILE_KIND__FILE_DIR, false));
	CU_ASSERT(!files_check("/", "/d/f", 3, FILE_KIND__FILE_REG, false));
	CU_ASSERT(!files_check("/", "/", 1, FILE_KIND__FILE_DIR, false));
	CU_ASSERT(files_check("/", "//d/f", 3, FILE_KIND__FILE_REG, false));
	CU_ASSERT(files_check("/m/t", "/m/t/d/./f", 3, FILE_KIND__FILE_REG, false));
	CU_ASSERT(files_check("/m/t", "/m/t/d/f/", 3, FILE_KIND__FILE_REG, false));
	CU_ASSERT(files_check("/m/t", "/m/t/f", 3, FILE_KIND__FILE_REG, false));
	CU_ASSERT(files_check("/m/t", "/m/t/d/f", 2, FILE_KIND__FILE_REG, false));
	CU_ASSERT(files_check("/m/t", "/m/t/d/f", 3, FILE_KIND__FILE_DIR, false));
	CU_ASSERT(files_check("/m/t", "/m/t/d/f", 3, FILE_KIND__FILE_CHR, false));
	CU_ASSERT(files_check("/m/t", "/m/t/d/f", 3, FILE_KIND__FILE_REG, true));
	CU_ASSERT(files_check("/m/t", "/m/t/d/f", 4, FILE_KIND__FILE_REG, false));
	CU_ASSERT(files_check("/m/t", "/m/t/d/f", 0, FILE_KIND__FILE_REG, false));
	CU_ASSERT(files_check("/m/t", "/etc/passwd", 3, FILE_KIND__FILE_REG, false));
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("mountinfo", NULL, NULL);
	CU_add_test(s, "well-formed lines", test_good);
	CU_add_test(s, "hostile lines", test_bad);
	CU_add_test(s, "long fields", test_long);
	CU_add_test(s, "our own mountinfo", test_read_self);
	CU_add_test(s, "restore's path and option checks", test_restore_checks);
	CU_add_test(s, "files held on a tmpfs: the image checks", test_files_check);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
