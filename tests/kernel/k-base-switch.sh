# The switch's shared answer table against vxcr.ko: through vserver() (the
# library picks the module, as on the host it picks the userspace engine:
# tests/integration/t-switch-answers.sh), then the same rows through the raw
# ioctl, and the ioctl's own cases: struct sizes, data sizes, other ioctl
# numbers, bad user pointers (-EFAULT, never an oops), a user not root.
. "$VXK/tests/lib.sh"

switch-answers "$NAME/vserver"
switch-answers --raw "$NAME"
