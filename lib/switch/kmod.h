/*
 * The switch's kernel-module provider: the ioctl on /dev/vserver that
 * carries one vserver() call.  Shared with kernel/ (vxcr.ko, issue 17);
 * fixed-width fields, no implicit padding, pointers as __u64.
 *
 * The client fills size = sizeof(struct vserver_ioc), cmd (already
 * validated by the switch, _v0 forms converted), id, data (user pointer,
 * 0 if the command takes none) and data_size (bytes of the command's
 * struct, 0 if none).  The module returns 0 with result = the command's
 * return value (>= 0; a checkpoint id needs 64 bits, which ioctl's int
 * return cannot carry), or fails the ioctl with the command's errno.
 * A size the module does not know: -EINVAL; extensions append fields and
 * grow size.  An unknown command: -ENOSYS, as in the switch.
 *
 * The module checks the ioctl's type, number and direction, not its size
 * bits: a caller built against a grown struct gets -EINVAL from the size
 * field, not -ENOTTY.  Any other ioctl on the device: -ENOTTY.
 *
 * Magic 0xE3, not 0xEC: Documentation/userspace-api/ioctl/ioctl-number.rst
 * (torvalds/linux, 6.1 and later versions) registers 0xEC 00-01 to the
 * ChromeOS EC driver, and 6.1's include/linux/platform_data/
 * cros_ec_chardev.h uses 0xEC numbers 0-2 (our number 1 was its
 * CROS_EC_DEV_IOCRDMEM's).  0xE3 is not in that list, and no _IO*(0xE3, ...)
 * or 0xE3 ioctl base is in 6.1's include/ or arch/ headers.  Ours: 0xE3
 * numbers 00-0F (0x01 used).
 */
#ifndef VXCR_SWITCH_KMOD_H
#define VXCR_SWITCH_KMOD_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define VSERVER_DEV_PATH "/dev/vserver"
#define VSERVER_DEV_ENV "VXCR_VSERVER_DEV"

struct vserver_ioc {
	__u32 size;
	__u32 cmd;
	__u32 id;
	__u32 data_size;
	__u64 data;
	__s64 result;
};

#define VSERVER_IOC_MAGIC 0xE3
#define VSERVER_IOC_CALL _IOWR(VSERVER_IOC_MAGIC, 0x01, struct vserver_ioc)

#endif
