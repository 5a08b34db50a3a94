/*
 * A process holding UDP sockets for bench/udp.py: "udpsocks READY N Q"
 * opens N UDP sockets bound to 127.0.0.1 (ephemeral ports; RLIMIT_NOFILE
 * raised to fit), then sends Q datagrams of 100 bytes to the first one
 * from the second (so they wait queued), writes READY and sleeps.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	struct rlimit rl;
	int n, q, i, fd, first = -1, second = -1, big = 1 << 24;
	char msg[100];
	FILE *f;

	if (argc != 4)
		return 2;
	n = atoi(argv[2]);
	q = atoi(argv[3]);
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	for (i = 0; i < n; i++) {
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		sa.sin_port = 0;
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return perror("socket/bind"), 1;
		if (i == 0)
			first = fd;
		if (i == 1)
			second = fd;
	}
	if (q && (first < 0 || second < 0))
		return 1;
	if (q)
		setsockopt(first, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	getsockname(first, (struct sockaddr *)&sa, &len);
	memset(msg, 'x', sizeof(msg));
	for (i = 0; i < q; i++)
		if (sendto(second, msg, sizeof(msg), 0, (struct sockaddr *)&sa, len) != sizeof(msg))
			return perror("sendto"), 1;
	usleep(100000);
	f = fopen(argv[1], "w");
	if (!f)
		return 1;
	fputs("ready\n", f);
	fclose(f);
	for (;;)
		pause();
}
