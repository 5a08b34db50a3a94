/* Subcommands of vxcr.  Each returns the process exit code: 0 ok, 1 failure, 2 usage. */
#ifndef VXCR_CMD_H
#define VXCR_CMD_H

#define EXIT_USAGE 2

int cmd_dump(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_img(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_ctx(int argc, char **argv);

/* Prints "vxcr: <msg>" (from vxcr_last_error() if msg is NULL) to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
