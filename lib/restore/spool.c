/*
 * Restoring from a pipe while the original still holds the pid.
 *
 * `vxdump PID | vxrestore -` is a natural way to move a process: the dumper
 * kills the original only after the whole image is written, but the
 * restorer wants the pid as soon as it has read the records before the
 * pages.  Waiting would deadlock (the dumper blocks on the full pipe), so
 * when the image comes from a source that is still being written (a pipe,
 * a socket: IMG_SOURCE_LIVE) and the pid is busy, the rest of the image is
 * read into a memory sink (checked up to and including the trailer), then
 * we wait a bounded time for the pid to be released and replay the spooled
 * records from it as a memory source, in place.
 */
#define LOG_PREFIX "restore/spool: "

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "restore/restore.h"

#define SPOOL_WAIT_MS 10000

struct spool_hdr {
	uint32_t type;
	uint32_t flags;
	uint64_t length;
};

/* Appends one record (a spool_hdr, the payload, zeros up to a multiple of
 * 8 bytes, so that headers and payloads stay aligned) to the spool. */
static int spool_record(struct img_sink *sp, const struct img_record *rec)
{
	static const uint8_t zeros[8];
	struct spool_hdr h = { rec->type, rec->flags, rec->length };
	struct iovec iov[3] = {
		{ &h, sizeof(h) },
		{ (void *)rec->payload, rec->length },
		{ (void *)zeros, -rec->length & 7 },
	};

	return img_sink_writev_all(sp, iov, 3);
}

/* Reads the rest of the image (pending record first) into a memory sink,
 * then opens it as a memory source to replay from. */
static int spool_rest(struct rst_image *img)
{
	struct img_record rec = img->stream.pending;
	const void *data;
	size_t len;
	int more = 1, ret;

	ret = img_sink_mem(0, &img->stream.spool);
	if (ret) {
		pr_err("cannot create a spool for the image: %s\n", strerror(-ret));
		return ret;
	}
	while (more > 0 && !ret) {
		ret = spool_record(img->stream.spool, &rec);
		if (ret)
			break; /* logged, naming the spool */
		more = img_read_record(img->stream.rd, &rec);
		if (more < 0) {
			pr_err("image: %s\n", img_reader_error(img->stream.rd));
			ret = more;
		}
	}
	if (ret)
		return ret;
	data = img_sink_mem_data(img->stream.spool, &len);
	ret = img_source_mem(data, len, &img->stream.spool_src);
	if (ret)
		return ret;
	img->stream.spool_index = img->stream.pending.index;
	return 0;
}

/*
 * Called when the image's pid is busy.  Fails at once for an image that is
 * complete where it is (a file, memory: nobody is going to release the pid
 * for us); for one still being written (a pipe, socket or channel), spools
 * the rest and waits up to SPOOL_WAIT_MS for the pid.  Returns 0 or -EEXIST.
 */
int spool_wait_pid(struct rst_image *img)
{
	const struct img_source *src = img_reader_source(img->stream.rd);
	pid_t pid = rst_tree_busy_pid(img);
	struct timespec ts = { 0, 5 * 1000000 };
	int i, ret;

	if (!(src->flags & IMG_SOURCE_LIVE) || !img->stream.have_pending) {
		pr_err("pid %d is in use (vxrestore --pidns restores into a new PID namespace)\n",
		       pid);
		return -EEXIST;
	}
	pr_info("pid %d is in use; reading the rest of the image and waiting for it\n", pid);
	ret = spool_rest(img);
	if (ret)
		return ret;
	for (i = 0; i < SPOOL_WAIT_MS / 5 && (pid = rst_tree_busy_pid(img)); i++)
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
 * one (its payload in place, no copy), else from the image reader.  1 with
 * *rec filled, 0 at the end (the trailer has been checked), -errno (logged).
 */
int restore_next_record(struct rst_image *img, struct img_record *rec)
{
	struct img_source *sp = img->stream.spool_src;
	const struct spool_hdr *h;
	const void *payload;
	int ret;

	if (!sp) {
		ret = img_read_record(img->stream.rd, rec);
		if (ret < 0)
			pr_err("image: %s\n", img_reader_error(img->stream.rd));
		return ret;
	}
	h = img_source_mem_take(sp, sizeof(*h));
	if (!h)
		return 0; /* we wrote it: it ends between records */
	payload = img_source_mem_take(sp, h->length + (-h->length & 7));
	if (!payload) {
		pr_err("cannot read the image spool: record %llu cut\n",
		       (unsigned long long)img->stream.spool_index);
		return -EIO;
	}
	rec->type = h->type;
	rec->flags = h->flags;
	rec->length = h->length;
	rec->payload = payload;
	rec->index = img->stream.spool_index++;
	return 1;
}

void spool_free(struct rst_image *img)
{
	img_source_free(img->stream.spool_src);
	img->stream.spool_src = NULL;
	img_sink_free(img->stream.spool);
	img->stream.spool = NULL;
}
