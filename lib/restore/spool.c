/*
 * Restoring from a pipe while the original still holds the pid.
 *
 * `vxdump PID | vxrestore -` is a natural way to move a process: the dumper
 * kills the original only after the whole image is written, but the
 * restorer wants the pid as soon as it has read the records before the
 * pages.  Waiting would deadlock (the dumper blocks on the full pipe), so
 * when the image comes from a stream that cannot seek and the pid is busy,
 * the rest of the image is read into an anonymous memory file (checked up
 * to and including the trailer), then we wait a bounded time for the pid to
 * be released and replay the spooled records.
 */
#define LOG_PREFIX "restore/spool: "

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include "log.h"
#include "restore/restore.h"

#define SPOOL_WAIT_MS	10000

struct spool_hdr {
	uint32_t type;
	uint32_t flags;
	uint64_t length;
};

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	ssize_t n;

	while (len) {
		n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int spool_record(int fd, const struct img_record *rec)
{
	struct spool_hdr h = { rec->type, rec->flags, rec->length };
	int ret;

	ret = write_all(fd, &h, sizeof(h));
	if (!ret)
		ret = write_all(fd, rec->payload, rec->length);
	return ret;
}

/* Reads the rest of the image (pending record first) into a memfd. */
static int spool_rest(struct rst_image *img)
{
	struct img_record rec = img->stream.pending;
	int fd, more = 1, ret = 0;

	fd = memfd_create("vxcr-spool", MFD_CLOEXEC);
	if (fd < 0) {
		pr_perror("cannot create a spool for the image");
		return -errno;
	}
	while (more > 0 && !ret) {
		ret = spool_record(fd, &rec);
		if (ret) {
			pr_err("cannot spool the image: %s\n", strerror(-ret));
			break;
		}
		more = img_read_record(img->stream.rd, &rec);
		if (more < 0) {
			pr_err("image: %s\n", img_reader_error(img->stream.rd));
			ret = more;
		}
	}
	if (ret || lseek(fd, 0, SEEK_SET)) {
		close(fd);
		return ret ? ret : -errno;
	}
	img->stream.spool_fd = fd;
	img->stream.spool_index = img->stream.pending.index;
	return 0;
}

/*
 * Called when the image's pid is busy.  Fails at once for a seekable image
 * (nobody is going to release the pid for us); for a stream, spools the
 * rest and waits up to SPOOL_WAIT_MS for the pid.  Returns 0 or -EEXIST.
 */
int spool_wait_pid(struct rst_image *img)
{
	pid_t pid = tree_busy_pid(img);
	struct timespec ts = { 0, 5 * 1000000 };
	int i, ret;

	if (lseek(img->img_fd, 0, SEEK_CUR) >= 0 || errno != ESPIPE || !img->stream.have_pending) {
		pr_err("pid %d is in use (vxrestore --pidns restores into a new PID namespace)\n",
		       pid);
		return -EEXIST;
	}
	pr_info("pid %d is in use; reading the rest of the image and waiting for it\n", pid);
	ret = spool_rest(img);
	if (ret)
		return ret;
	for (i = 0; i < SPOOL_WAIT_MS / 5 && (pid = tree_busy_pid(img)); i++)
		nanosleep(&ts, NULL);
	if (pid) {
		pr_err("pid %d is in use (still, %d s after the image was complete)\n", pid,
		       SPOOL_WAIT_MS / 1000);
		return -EEXIST;
	}
	return restore_next_record(img, &img->stream.pending) == 1 ? 0 : -EBADMSG;
}

/*
 * Next record after the first PAGES record: from the spool when there is
 * one, else from the image reader.  1 with *rec filled, 0 at the end (the
 * trailer has been checked), -errno (logged).
 */
int restore_next_record(struct rst_image *img, struct img_record *rec)
{
	struct spool_hdr h;
	void *nb;
	int ret;

	if (img->stream.spool_fd < 0) {
		ret = img_read_record(img->stream.rd, rec);
		if (ret < 0)
			pr_err("image: %s\n", img_reader_error(img->stream.rd));
		return ret;
	}
	ret = read_all(img->stream.spool_fd, &h, sizeof(h));
	if (ret == -ENODATA)
		return 0;
	if (!ret && h.length > img->stream.spool_cap) {
		nb = realloc(img->stream.spool_buf, h.length);
		if (!nb)
			return -ENOMEM;
		img->stream.spool_buf = nb;
		img->stream.spool_cap = h.length;
	}
	if (!ret)
		ret = read_all(img->stream.spool_fd, img->stream.spool_buf, h.length);
	if (ret) {
		pr_err("cannot read the image spool: %s\n", strerror(-ret));
		return ret;
	}
	rec->type = h.type;
	rec->flags = h.flags;
	rec->length = h.length;
	rec->payload = img->stream.spool_buf;
	rec->index = img->stream.spool_index++;
	return 1;
}

void spool_free(struct rst_image *img)
{
	if (img->stream.spool_fd >= 0)
		close(img->stream.spool_fd);
	img->stream.spool_fd = -1;
	free(img->stream.spool_buf);
	img->stream.spool_buf = NULL;
}
