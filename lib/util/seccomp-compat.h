/*
 * ptrace and seccomp constants that older libc / kernel headers lack
 * (linux/ptrace.h and linux/seccomp.h values, stable ABI).
 */
#ifndef VXCR_SECCOMP_COMPAT_H
#define VXCR_SECCOMP_COMPAT_H

#ifndef PTRACE_O_SUSPEND_SECCOMP
#define PTRACE_O_SUSPEND_SECCOMP (1 << 21)
#endif
#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c /* Linux 4.4 */
#endif
#ifndef PTRACE_SECCOMP_GET_METADATA
#define PTRACE_SECCOMP_GET_METADATA 0x420d /* Linux 4.16 */
#endif
#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif

#endif
