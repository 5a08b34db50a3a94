/*
 * epoll: epoll instances restored with every item, its key and readiness.
 *
 * Default mode, parent P and child K:
 *   A  fr    FIFO read end, EPOLLIN (level), "abc" queued: reported
 *      efd1  eventfd (count 1), EPOLLIN|EPOLLONESHOT, fired before the
 *            dump: stays quiet until EPOLL_CTL_MOD re-arms it
 *      X     a pipe's read end added as fd X, then dup'ed to Y and fd X
 *            made another eventfd: DEL(X) fails with ENOENT, the item still
 *            reports the pipe; with the pipe back on X, DEL(X) works
 *      B     epoll B (epoll inside epoll), EPOLLIN
 *      efd3  eventfd, EPOLLIN|EPOLLEXCLUSIVE (MOD refused by the kernel)
 *      Q     a pipe's read end held only by K (P closed it)
 *   B  efd2  eventfd (count 5), EPOLLET, edge reported before the dump:
 *            no spurious event after restore, a new write reports it
 *   C  efd4  eventfd (count 2), EPOLLET, edge not reported yet: reported
 *            once after restore
 *   S  ps    a pipe's read end, "xyz" queued, EPOLLIN|EPOLLONESHOT fired;
 *            S is shared by P and K, and K blocks in epoll_wait(S) across
 *            the dump.  After "go" K must still be blocked; P re-arms the
 *            item with EPOLL_CTL_MOD and K wakes for the bytes queued at
 *            dump time, and answers on a pipe.
 *   W  a child stopped (SIGSTOP) inside epoll_wait on its own epoll, a
 *      byte queued for it after the stop: continued after restore, it
 *      wakes for that byte (see waiter())
 *   D  one pipe's read end under each number 30-109, all closed: numbers
 *      vxrestore itself uses while it adds them; every one reports, DEL
 *      by number works
 * Each epoll's items (tfd, events, data), read from fdinfo before the
 * dump, must be the same after restore, also through A2, a dup of A
 * (one description: the first events of A are read through it).
 *
 * Mode "many" (argv[2]): see many().
 *
 * Modes whose dump must be refused (argv[2]):
 *   orphan     the tree is child K (it says "child PID"); its epoll's
 *              target is held only by P, outside the tree
 *   ambiguous  an EPOLLET item whose edge was reported and a level item,
 *              both ready: whether the edge is pending cannot be told
 *   deadshot   a fired EPOLLONESHOT item on a pipe drained since
 *   uring      an item on an io_uring fd, a kind the dump refuses: one
 *              line for that fd, none for the item
 */
#include <libgen.h>
#include <stdbool.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "prog.h"

#define D1 0x1111222233334444ULL
#define D2 0x2222ULL
#define D3 0x3333000000000003ULL
#define D4 0x4444ULL
#define D5 0x5555ULL
#define D6 0x6666ULL
#define D7 0x7777ULL
#define D8 0x8888ULL
#define D9 0x9999ULL
#define K_OK 100
#define MANY 4000
#define HIGH_LO 30
#define HIGH_HI 109

static int fr, fw, efd1, efd2, efd3, efd4, pa[2], pq[2], ps[2], pd[2], rep[2];
static int pw[2], rep2[2];
static int A, A2, B, C, S, D, X, Y;
static char before[5][4096];

static int mkep(void)
{
	int fd = epoll_create1(0);

	if (fd < 0)
		prog_fail("epoll_create1: %s", strerror(errno));
	return fd;
}

static void add(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event e = { .events = events, .data.u64 = data };

	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e))
		prog_fail("EPOLL_CTL_ADD %d to %d: %s", fd, ep, strerror(errno));
}

static int efd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK);

	if (fd < 0)
		prog_fail("eventfd: %s", strerror(errno));
	return fd;
}

static void put(int fd, uint64_t v)
{
	if (write(fd, &v, sizeof(v)) != sizeof(v))
		prog_fail("write eventfd %d: %s", fd, strerror(errno));
}

static void mkpipe(int p[2])
{
	if (pipe2(p, O_NONBLOCK))
		prog_fail("pipe: %s", strerror(errno));
}

/* epoll_wait(ep, 0): n events, their data in out. */
static int ready(int ep, uint64_t *out, int max)
{
	struct epoll_event ev[16];
	int n, i;

	n = epoll_wait(ep, ev, max < 16 ? max : 16, 0);
	for (i = 0; i < n; i++)
		out[i] = ev[i].data.u64;
	return n;
}

static bool has(const uint64_t *v, int n, uint64_t d)
{
	int i;

	for (i = 0; i < n; i++)
		if (v[i] == d)
			return true;
	return false;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ep's items as sorted "tfd events data" lines, in out. */
static void items_of(int ep, char *out, size_t len)
{
	char path[64], line[256], *lines[128];
	unsigned long long data;
	unsigned ev;
	int tfd, n = 0, i;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ep);
	f = fopen(path, "re");
	if (!f)
		prog_fail("%s: %s", path, strerror(errno));
	while (n < 128 && fgets(line, sizeof(line), f))
		if (sscanf(line, "tfd: %d events: %x data: %llx", &tfd, &ev, &data) == 3 &&
		    asprintf(&lines[n], "%d %x %llx;", tfd, ev, data) > 0)
			n++;
	fclose(f);
	qsort(lines, n, sizeof(lines[0]), cmp_line);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		strncat(out, lines[i], len - strlen(out) - 1);
		free(lines[i]);
	}
}

/*
 * W: blocks in epoll_wait on its own epoll (a pipe's read end, level),
 * is stopped there by P, which then writes a byte: the byte is queued at
 * dump time while W sits in its interrupted epoll_wait.  After restore P
 * continues it; it must wake for that byte and answer on rep2.
 */
static void waiter(void)
{
	struct epoll_event ev;
	uint8_t code = K_OK;
	char c = 0;
	int ep = mkep(), n;

	add(ep, pw[0], EPOLLIN, D9);
	if (write(rep2[1], "w", 1) != 1)
		_exit(1);
	do
		n = epoll_wait(ep, &ev, 1, -1);
	while (n < 0 && errno == EINTR);
	if (n != 1 || ev.data.u64 != D9)
		code = 1;
	else if (read(pw[0], &c, 1) != 1 || c != 'w')
		code = 2;
	if (write(rep2[1], &code, 1) != 1)
		_exit(1);
	_exit(0);
}

/* State letter of task pid (/proc/PID/stat), or 0. */
static char task_state(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* Starts W and stops it in epoll_wait, then queues its byte. */
static pid_t start_waiter(void)
{
	char c;
	pid_t w;
	int i;

	mkpipe(pw);
	if (pipe(rep2))
		prog_fail("pipe: %s", strerror(errno));
	w = fork();
	if (w < 0)
		prog_fail("fork: %s", strerror(errno));
	if (w == 0)
		waiter();
	if (read(rep2[0], &c, 1) != 1)
		prog_fail("W did not start");
	for (i = 0; i < 100 && task_state(w) != 'S'; i++)
		usleep(20000); /* on its way into epoll_wait */
	usleep(500000);
	kill(w, SIGSTOP);
	for (i = 0; i < 500 && task_state(w) != 'T'; i++)
		usleep(20000);
	if (task_state(w) != 'T')
		prog_fail("W %d did not stop", (int)w);
	if (write(pw[1], "w", 1) != 1)
		prog_fail("write pw: %s", strerror(errno));
	return w;
}

/* W after restore: continued, it wakes for the byte queued at dump time. */
static void check_waiter(pid_t w)
{
	struct pollfd pf = { .fd = rep2[0], .events = POLLIN };
	uint8_t code = 0;
	int status;

	kill(w, SIGCONT);
	if (poll(&pf, 1, 10000) != 1 || read(rep2[0], &code, 1) != 1)
		code = 0;
	CHECK(code == K_OK, "W: check %u failed (or it did not wake)", code);
	if (waitpid(w, &status, 0) != w || !WIFEXITED(status) || WEXITSTATUS(status))
		CHECK(0, "W %d did not exit cleanly", (int)w);
}

/* K: blocks in epoll_wait(S) across the dump; answers on rep. */
static void child(void)
{
	struct epoll_event ev;
	char buf[8] = "";
	uint8_t code = K_OK;
	int n;

	do
		n = epoll_wait(S, &ev, 1, -1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		code = 1;
	else if (ev.data.u64 != D8)
		code = 2;
	else if (read(ps[0], buf, sizeof(buf)) != 3 || memcmp(buf, "xyz", 3))
		code = 3;
	if (write(rep[1], &code, 1) != 1)
		_exit(1);
	_exit(0);
}

static void setup_fifo(const char *out)
{
	char *dir = strdup(out), path[4096];

	snprintf(path, sizeof(path), "%s/epoll.fifo", dirname(dir));
	free(dir);
	unlink(path);
	if (mkfifo(path, 0600))
		prog_fail("mkfifo %s: %s", path, strerror(errno));
	fr = open(path, O_RDONLY | O_NONBLOCK);
	fw = open(path, O_WRONLY | O_NONBLOCK);
	if (fr < 0 || fw < 0 || write(fw, "abc", 3) != 3)
		prog_fail("fifo %s: %s", path, strerror(errno));
	unlink(path); /* a removed FIFO: restored as a ghost */
}

/*
 * D: one pipe's read end added under every number HIGH_LO..HIGH_HI, each
 * closed at once: numbers that, at restore, lie among vxrestore's own
 * (report fd, staged descriptions), which are moved aside for each add.
 */
static void setup_high(void)
{
	int fd;

	D = mkep();
	mkpipe(pd);
	for (fd = HIGH_LO; fd <= HIGH_HI; fd++) {
		if (dup2(pd[0], fd) != fd)
			prog_fail("dup2 %d: %s", fd, strerror(errno));
		add(D, fd, EPOLLIN, (uint64_t)fd);
		close(fd);
	}
}

/* D after restore: every number reports, DEL works by number. */
static void check_high(void)
{
	struct epoll_event ev[HIGH_HI - HIGH_LO + 2];
	const int n_high = HIGH_HI - HIGH_LO + 1, mid = (HIGH_LO + HIGH_HI) / 2;
	int n, i, sum = 0;

	CHECK(write(pd[1], "h", 1) == 1, "write pd");
	n = epoll_wait(D, ev, n_high + 1, 0);
	for (i = 0; i < n; i++)
		sum += (int)ev[i].data.u64;
	CHECK(n == n_high && sum == (HIGH_LO + HIGH_HI) * n_high / 2,
	      "D: %d events (sum %d), expected one per number %d-%d", n, sum, HIGH_LO, HIGH_HI);
	CHECK(dup2(pd[0], mid) == mid, "dup2");
	CHECK(!epoll_ctl(D, EPOLL_CTL_DEL, mid, NULL), "D: DEL of fd %d: %s", mid, strerror(errno));
	close(mid);
	n = epoll_wait(D, ev, n_high + 1, 0);
	CHECK(n == n_high - 1, "D: %d events after DEL of one, expected %d", n, n_high - 1);
}

/* Builds A, B, C, S and their items as the head comment says. */
static void setup(const char *out)
{
	uint64_t got[16];
	int other;

	setup_fifo(out);
	efd1 = efd(), efd2 = efd(), efd3 = efd(), efd4 = efd();
	mkpipe(pa), mkpipe(pq), mkpipe(ps), mkpipe(rep);
	A = mkep(), B = mkep(), C = mkep(), S = mkep();

	add(B, efd2, EPOLLIN | EPOLLET, D6);
	put(efd2, 5);
	if (ready(B, got, 16) != 1 || ready(B, got, 16) != 0)
		prog_fail("B: the edge of efd2 is not reported once");

	add(C, efd4, EPOLLIN | EPOLLET, D7);
	put(efd4, 2);

	add(A, fr, EPOLLIN, D1);
	add(A, efd1, EPOLLIN | EPOLLONESHOT, D2);
	put(efd1, 1);
	if (ready(A, got, 16) != 2 || !has(got, 2, D2))
		prog_fail("A: efd1's oneshot did not fire");
	X = pa[0];
	add(A, X, EPOLLIN, D3);
	Y = dup(X);
	other = efd();
	if (Y < 0 || dup2(other, X) != X)
		prog_fail("dup: %s", strerror(errno));
	close(other);
	add(A, B, EPOLLIN, D4);
	add(A, efd3, EPOLLIN | EPOLLEXCLUSIVE, D5);
	add(A, pq[0], EPOLLIN | EPOLLRDHUP, D9);

	A2 = dup(A);
	if (A2 < 0)
		prog_fail("dup: %s", strerror(errno));
	add(S, ps[0], EPOLLIN | EPOLLONESHOT, D8);
	if (write(ps[1], "xyz", 3) != 3 || ready(S, got, 16) != 1)
		prog_fail("S: the oneshot did not fire");
	setup_high();
	items_of(A, before[0], sizeof(before[0]));
	items_of(B, before[1], sizeof(before[1]));
	items_of(C, before[2], sizeof(before[2]));
	items_of(S, before[3], sizeof(before[3]));
	items_of(D, before[4], sizeof(before[4]));
}

/* A, B, C after restore: readiness, MOD and DEL by the recorded numbers. */
static void check_abc(void)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = D2 };
	uint64_t got[16];
	int n;

	n = ready(A2, got, 16);
	CHECK(n == 1 && got[0] == D1, "A: %d events after restore, expected only the FIFO's", n);
	CHECK(ready(C, got, 16) == 1 && got[0] == D7, "C: the pending edge is not reported");
	CHECK(ready(C, got, 16) == 0, "C: the edge is reported twice");
	CHECK(ready(B, got, 16) == 0, "B: the edge reported before the dump fires again");
	put(efd2, 1);
	n = ready(A, got, 16);
	CHECK(has(got, n, D4), "A: epoll B inside it is not reported once B is ready");
	CHECK(ready(B, got, 16) == 1 && got[0] == D6, "B: a new edge is not reported");

	CHECK(!epoll_ctl(A, EPOLL_CTL_MOD, efd1, &e), "A: MOD efd1: %s", strerror(errno));
	n = ready(A, got, 16);
	CHECK(has(got, n, D2), "A: efd1 re-armed does not fire");
	e.events = EPOLLIN;
	CHECK(epoll_ctl(A, EPOLL_CTL_MOD, efd3, &e) && errno == EINVAL,
	      "A: MOD of an EPOLLEXCLUSIVE item is not refused");
	put(efd3, 1);
	n = ready(A, got, 16);
	CHECK(has(got, n, D5), "A: the EPOLLEXCLUSIVE item does not fire");

	CHECK(epoll_ctl(A, EPOLL_CTL_DEL, X, NULL) && errno == ENOENT,
	      "A: DEL of fd %d (now an eventfd) did not fail with ENOENT", X);
	CHECK(write(pa[1], "q", 1) == 1, "write pa");
	n = ready(A, got, 16);
	CHECK(has(got, n, D3), "A: the item added as fd %d does not report its pipe", X);
	CHECK(dup2(Y, X) == X, "dup2");
	CHECK(!epoll_ctl(A, EPOLL_CTL_DEL, X, NULL), "A: DEL of fd %d: %s", X, strerror(errno));
	n = ready(A, got, 16);
	CHECK(!has(got, n, D3), "A: the item of fd %d is still there after DEL", X);
	CHECK(write(pq[1], "q", 1) == 1, "write pq");
	n = ready(A, got, 16);
	CHECK(has(got, n, D9), "A: the item on the pipe only K holds does not fire");
}

/* S and K: K still blocked until P re-arms the item, then wakes. */
static void check_shared(pid_t k)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = D8 };
	struct pollfd pf = { .fd = rep[0], .events = POLLIN };
	uint8_t code = 0;
	int status;

	CHECK(poll(&pf, 1, 2000) == 0, "K woke up before its item was re-armed");
	CHECK(!epoll_ctl(S, EPOLL_CTL_MOD, ps[0], &e), "S: MOD: %s", strerror(errno));
	if (poll(&pf, 1, 10000) != 1 || read(rep[0], &code, 1) != 1)
		code = 0;
	CHECK(code == K_OK, "K: check %u failed (or no answer)", code);
	if (waitpid(k, &status, 0) != k || !WIFEXITED(status) || WEXITSTATUS(status))
		CHECK(0, "K %d did not exit cleanly", (int)k);
}

static void check_items(void)
{
	const int eps[6] = { A, B, C, S, D, A2 };
	char now[4096];
	int i;

	for (i = 0; i < 6; i++) {
		items_of(eps[i], now, sizeof(now));
		CHECK(!strcmp(now, before[i % 5]), "epoll %c: items \"%.200s\", were \"%.200s\"",
		      "ABCSDa"[i], now, before[i % 5]);
	}
}

/* The dump of these is refused; each waits to be killed. */
static void refused_mode(const char *mode)
{
	uint64_t got[4];
	pid_t k;
	int p[2], ep;

	mkpipe(p);
	if (!strcmp(mode, "orphan")) {
		k = fork();
		if (k < 0)
			prog_fail("fork: %s", strerror(errno));
		if (k > 0)
			for (;;)
				pause();
		ep = mkep();
		add(ep, p[0], EPOLLIN, D1);
		close(p[0]);
		close(p[1]);
		prog_say("child %d\n", (int)getpid());
	} else if (!strcmp(mode, "ambiguous")) {
		ep = mkep();
		efd1 = efd();
		add(ep, efd1, EPOLLIN | EPOLLET, D1);
		put(efd1, 1);
		if (ready(ep, got, 4) != 1)
			prog_fail("the edge did not fire");
		add(ep, p[1], EPOLLOUT, D2);
	} else if (!strcmp(mode, "deadshot")) {
		ep = mkep();
		add(ep, p[0], EPOLLIN | EPOLLONESHOT, D1);
		if (write(p[1], "d", 1) != 1 || ready(ep, got, 4) != 1 || read(p[0], got, 1) != 1)
			prog_fail("the oneshot did not fire");
	} else if (!strcmp(mode, "uring")) {
		char params[120] = ""; /* struct io_uring_params */
		int ring = (int)syscall(SYS_io_uring_setup, 4, params);

		if (ring < 0)
			prog_fail("io_uring_setup: %s", strerror(errno));
		ep = mkep();
		add(ep, ring, EPOLLIN, D1);
	} else {
		prog_fail("unknown mode %s", mode);
	}
	prog_ready();
	for (;;)
		pause();
}

/*
 * Mode "many": MANY eventfds in one epoll, item i with data i, every odd
 * one ready (count 1); after restore epoll_wait reports exactly the odd
 * ones and fdinfo lists MANY items.
 */
static void many(void)
{
	static struct epoll_event ev[MANY + 1];
	static int fds[MANY];
	char path[64], line[256];
	int ep = mkep(), i, n, lines = 0, odd = 0;
	struct rlimit rl;
	FILE *f;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < MANY + 64) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (i = 0; i < MANY; i++) {
		fds[i] = efd();
		add(ep, fds[i], EPOLLIN, (uint64_t)i);
		if (i & 1)
			put(fds[i], 1);
	}
	prog_ready();
	prog_wait_go();
	n = epoll_wait(ep, ev, MANY + 1, 0);
	for (i = 0; i < n; i++)
		odd += (ev[i].data.u64 & 1) && ev[i].data.u64 < MANY;
	CHECK(n == MANY / 2 && odd == n, "%d ready (%d odd), expected %d", n, odd, MANY / 2);
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ep);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		lines += !strncmp(line, "tfd:", 4);
	if (f)
		fclose(f);
	CHECK(lines == MANY, "fdinfo lists %d items, expected %d", lines, MANY);
	prog_finish();
}

int main(int argc, char **argv)
{
	pid_t k, w;

	prog_init(argc, argv, "epoll");
	if (argc > 2 && !strcmp(argv[2], "many"))
		many();
	if (argc > 2)
		refused_mode(argv[2]);
	setup(argv[1]);
	k = fork();
	if (k < 0)
		prog_fail("fork: %s", strerror(errno));
	if (k == 0)
		child();
	close(pq[0]);
	w = start_waiter();
	prog_ready();
	prog_wait_go();

	check_items();
	check_abc();
	check_high();
	check_shared(k);
	check_waiter(w);
	prog_finish();
}
