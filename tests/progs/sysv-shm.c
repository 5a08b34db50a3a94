/*
 * sysv-shm: a persistent SysV segment (a key, no IPC_RMID), so that a
 * default-mode dump leaves it behind when it kills the program, and
 * restore must decide whether the segment it finds is the image's own.
 *
 *   sysv-shm OUTFILE          the test program: creates the segment with
 *                             key 0x5653xxxx (xxxx from its pid), fills it
 *                             with a pattern, says "ready shmid N", waits
 *                             for go; then checks id, key and contents
 *                             and removes the segment as it exits
 *   sysv-shm OUTFILE poke ID  flips one byte of segment ID (a change made
 *                             by someone else after the dump)
 *   sysv-shm OUTFILE squat ID UID
 *                             creates a segment of the same size at id ID
 *                             owned by UID, filled with 'S'
 *   sysv-shm OUTFILE sum ID   prints a checksum of segment ID's contents
 */
#include <sys/ipc.h>
#include <sys/shm.h>
#include "prog.h"

#define SEG_LEN (5 * 4096 + 100)

static uint64_t sum(const uint8_t *p)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < SEG_LEN; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static uint8_t *attach(int id)
{
	void *p = shmat(id, NULL, 0);

	if (p == (void *)-1)
		prog_fail("shmat %d: %s", id, strerror(errno));
	return p;
}

/* The helper modes: poke, squat, sum. */
static int helper(char **argv)
{
	int id = atoi(argv[3]);
	struct shmid_ds ds;
	uint8_t *p;
	FILE *f;

	if (!strcmp(argv[2], "poke")) {
		p = attach(id);
		p[100] ^= 0xff;
		return 0;
	}
	if (!strcmp(argv[2], "sum")) {
		printf("%llu\n", (unsigned long long)sum(attach(id)));
		return 0;
	}
	f = fopen("/proc/sys/kernel/shm_next_id", "w");
	if (!f || fprintf(f, "%d", id) < 0 || fclose(f))
		prog_fail("shm_next_id: %s", strerror(errno));
	id = shmget(IPC_PRIVATE, SEG_LEN, IPC_CREAT | 0600);
	if (id < 0 || shmctl(id, IPC_STAT, &ds))
		prog_fail("shmget: %s", strerror(errno));
	memset(attach(id), 'S', SEG_LEN);
	ds.shm_perm.uid = (uid_t)atoi(argv[4]);
	if (shmctl(id, IPC_SET, &ds))
		prog_fail("IPC_SET: %s", strerror(errno));
	printf("%d\n", id);
	return 0;
}

int main(int argc, char **argv)
{
	key_t key;
	int id;
	uint8_t *p;
	uint64_t want;
	size_t i;

	if (argc >= 4)
		return helper(argv);
	prog_init(argc, argv, "sysv-shm");
	key = (key_t)(0x56530000 | (getpid() & 0xffff));
	id = shmget(key, SEG_LEN, IPC_CREAT | IPC_EXCL | 0640);
	if (id < 0)
		prog_fail("shmget: %s", strerror(errno));
	p = attach(id);
	for (i = 0; i < SEG_LEN; i += 64)	/* some pages stay zero */
		if ((i / 4096) != 2)
			p[i] = (uint8_t)(i * 7 + 1);
	want = sum(p);
	prog_say("shmid %d\n", id);
	prog_ready();
	prog_wait_go();
	CHECK(shmget(key, 0, 0) == id, "key %#x: id %d, was %d", key, shmget(key, 0, 0), id);
	CHECK(sum(p) == want, "segment contents differ after restore");
	shmctl(id, IPC_RMID, NULL);
	prog_finish();
}
