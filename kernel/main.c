// SPDX-License-Identifier: GPL-2.0
/*
 * vxcr.ko: registers /dev/vserver, whose one ioctl (VSERVER_IOC_CALL,
 * lib/switch/kmod.h) carries a vserver() call into switch.c.
 *
 * The device is root's (mode 0600); a handler still checks the caller's
 * capabilities itself (a chmod must not hand out contexts).  An open file
 * holds a reference on the module (fops.owner), so rmmod waits for the
 * last close; a call runs in the caller's process context and may sleep.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

#include "kmod.h"
#include "vxcr.h"

/*
 * The device's one ioctl.  Its size bits are not checked here: a caller
 * built against a grown struct vserver_ioc gets -EINVAL from the struct's
 * size field (switch.c), as kmod.h promises.  Any other ioctl: -ENOTTY.
 */
static long vx_dev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	if (_IOC_TYPE(cmd) != VSERVER_IOC_MAGIC || _IOC_NR(cmd) != _IOC_NR(VSERVER_IOC_CALL) ||
	    _IOC_DIR(cmd) != _IOC_DIR(VSERVER_IOC_CALL))
		return -ENOTTY;
	return vx_switch_ioctl((void __user *)arg);
}

static const struct file_operations vx_dev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = vx_dev_ioctl,
	/* 64-bit callers only, as the userspace engine: a 32-bit caller's
	 * ioctl fails with -ENOTTY */
	.compat_ioctl = NULL,
	.llseek = noop_llseek,
};

static struct miscdevice vx_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vserver",
	.fops = &vx_dev_fops,
	.mode = 0600,
};

static int __init vx_init(void)
{
	int ret;

	ret = vx_ctx_init();
	if (ret)
		return ret;
	ret = misc_register(&vx_dev);
	if (ret)
		goto out_ctx;
	pr_info(VX_MOD_NAME ": /dev/vserver ready (API %#x)\n", VXCR_VCI_VERSION);
	return 0;

out_ctx:
	vx_ctx_exit();
	return ret;
}

static void __exit vx_exit(void)
{
	misc_deregister(&vx_dev);
	vx_ctx_exit();
}

module_init(vx_init);
module_exit(vx_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vxcr: vserver contexts and checkpoint/restart");
MODULE_VERSION("0.1");
