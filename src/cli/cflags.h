/* cflags.h - the 'fntrace cflags' subcommand. */
#ifndef FNT_CLI_CFLAGS_H
#define FNT_CLI_CFLAGS_H

/* Returns the process exit status. */
int fnt_cmd_cflags(int argc, char **argv);

#endif
