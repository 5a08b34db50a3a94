/*
 * Files held on a tmpfs of the tree's own mount namespace (issue 14):
 * tmpfs-held OUTFILE DIR, DIR a tmpfs the tree mounted (and /dev/shm one
 * too).  Holds DIR/log open for append after 3 lines (position 12), DIR/data
 * read-write at position 5, a FIFO DIR/fifo read-write with 2 bytes in
 * it, a MAP_SHARED mapping of DIR/shared that a child
 * also maps (it waits for the parent's 'G' in it and answers 'C'), a POSIX
 * semaphore (sem_open: a MAP_SHARED file /dev/shm/sem.NAME) taken once
 * (value 2), and its cwd in DIR.  After the restore: the positions, the
 * contents, the sharing both ways (the child sees the parent's write, the
 * parent the child's), the fd and the mapping the same file, the
 * semaphore's value.
 */
#include <semaphore.h>
#include <time.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "prog.h"

#define LINE "abc\n"

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int open_in(const char *dir, const char *name, int flags)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, flags | O_CLOEXEC, 0644);
	if (fd < 0)
		prog_fail("open %s: %s", path, strerror(errno));
	return fd;
}

/* The child: waits for the parent's 'G' (after the restore), answers 'C'. */
static void __attribute__((noreturn)) child(volatile char *map)
{
	for (int i = 0; i < 100000 && map[0] != 'G'; i++)
		sleep_ms(10);
	map[1] = map[0] == 'G' ? 'C' : 'X';
	_exit(0);
}

int main(int argc, char **argv)
{
	volatile char *map;
	int logfd, datafd, fifofd, shfd, dfd, st, val = -1;
	char buf[64] = "";
	sem_t *sem;
	pid_t c;

	prog_init(argc, argv, "tmpfs-held");
	if (argc < 3)
		prog_fail("usage: tmpfs-held OUTFILE DIR");
	logfd = open_in(argv[2], "log", O_WRONLY | O_APPEND | O_CREAT);
	for (int i = 0; i < 3; i++)
		if (write(logfd, LINE, 4) != 4)
			prog_fail("write log: %s", strerror(errno));
	if (flock(logfd, LOCK_EX))
		prog_fail("flock: %s", strerror(errno));
	datafd = open_in(argv[2], "data", O_RDWR | O_CREAT);
	if (write(datafd, "0123456789", 10) != 10 || lseek(datafd, 5, SEEK_SET) != 5)
		prog_fail("data: %s", strerror(errno));
	dfd = open(argv[2], O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || mkfifoat(dfd, "fifo", 0600))
		prog_fail("mkfifo: %s", strerror(errno));
	close(dfd);
	fifofd = open_in(argv[2], "fifo", O_RDWR);
	if (write(fifofd, "zz", 2) != 2)
		prog_fail("write fifo: %s", strerror(errno));
	shfd = open_in(argv[2], "shared", O_RDWR | O_CREAT);
	if (ftruncate(shfd, 4096))
		prog_fail("ftruncate: %s", strerror(errno));
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, shfd, 0);
	if (map == MAP_FAILED)
		prog_fail("mmap: %s", strerror(errno));
	close(shfd);
	memcpy((char *)map + 100, "before", 6);
	sem = sem_open("/vxcr-tmpfs-held", O_CREAT | O_EXCL, 0600, 3);
	if (sem == SEM_FAILED || sem_wait(sem))
		prog_fail("sem_open: %s", strerror(errno));
	if (chdir(argv[2]))
		prog_fail("chdir: %s", strerror(errno));
	c = fork();
	if (c < 0)
		prog_fail("fork: %s", strerror(errno));
	if (c == 0)
		child(map);
	prog_ready();
	prog_wait_go();

	/* the fds: positions, append, contents */
	CHECK(lseek(logfd, 0, SEEK_CUR) == 12, "log position %lld, want 12",
	      (long long)lseek(logfd, 0, SEEK_CUR));
	CHECK(lseek(datafd, 0, SEEK_CUR) == 5, "data position %lld, want 5",
	      (long long)lseek(datafd, 0, SEEK_CUR));
	CHECK(read(datafd, buf, 5) == 5 && !memcmp(buf, "56789", 5), "data read \"%.5s\"", buf);
	CHECK(write(logfd, "def\n", 4) == 4, "write log: %s", strerror(errno));
	CHECK(lseek(logfd, 0, SEEK_CUR) == 16, "log position after append %lld",
	      (long long)lseek(logfd, 0, SEEK_CUR));
	CHECK((fcntl(logfd, F_GETFL) & O_APPEND), "log lost O_APPEND");
	memset(buf, 0, sizeof(buf));
	CHECK(read(fifofd, buf, 2) == 2 && !memcmp(buf, "zz", 2), "fifo read \"%.2s\"", buf);
	shfd = open("log", O_RDONLY | O_CLOEXEC); /* the flock is on the restored file */
	CHECK(shfd >= 0 && flock(shfd, LOCK_SH | LOCK_NB) && errno == EWOULDBLOCK,
	      "the log's flock is not held");
	close(shfd);
	shfd = open("shared", O_RDONLY | O_CLOEXEC); /* through the cwd */
	CHECK(shfd >= 0, "open shared in the cwd: %s", strerror(errno));
	/* the mapping: contents, the same file as the path, shared with the child */
	CHECK(!memcmp((char *)map + 100, "before", 6), "mapping lost its contents");
	memcpy((char *)map + 200, "after", 5);
	CHECK(shfd >= 0 && pread(shfd, buf, 5, 200) == 5 && !memcmp(buf, "after", 5),
	      "the mapping is not the file at its path");
	map[0] = 'G';
	for (int i = 0; i < 500 && map[1] != 'C'; i++)
		sleep_ms(10);
	CHECK(map[1] == 'C', "the child's write is not seen (map[1] = %#x)", map[1]);
	CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && !WEXITSTATUS(st), "child status %#x", st);
	/* the semaphore */
	CHECK(!sem_getvalue(sem, &val) && val == 2, "semaphore value %d, want 2", val);
	CHECK(!sem_trywait(sem) && !sem_getvalue(sem, &val) && val == 1,
	      "semaphore after a wait: %d", val);
	prog_finish();
}
