/*
 * The input of a harness as the library reads images: from an fd (see
 * fuzz.h).  One memfd per process, rewritten for each input.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "lf/fuzz.h"

static int input_fd = -1;

int fuzz_input_fd(const uint8_t *data, size_t size)
{
	if (input_fd < 0)
		input_fd = memfd_create("fuzz-input", MFD_CLOEXEC);
	if (input_fd < 0 || ftruncate(input_fd, 0) ||
	    pwrite(input_fd, data, size, 0) != (ssize_t)size ||
	    lseek(input_fd, 0, SEEK_SET))
		return -1;
	return input_fd;
}
