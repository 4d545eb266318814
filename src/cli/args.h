/*
 * args.h - the small flag parser and helpers shared by the mlpc subcommands.
 *
 * Every subcommand describes its flags in a table of cli_flag.  The parser
 * accepts "--flag VALUE" and "--flag=VALUE" for value flags and "--flag" for
 * switches, collects positional arguments, and reports errors as one line on
 * stderr ("mlpc CMD: ...").  A flag that was not given holds its default
 * (the same text --help shows), so help and behaviour cannot drift apart.
 *
 * Only the public header mlpc.h is used by the CLI.
 */
#ifndef MLPC_CLI_ARGS_H
#define MLPC_CLI_ARGS_H

#include <stdint.h>
#include <stdio.h>

#include "mlpc.h"

/* Exit codes of the mlpc tool (documented in `mlpc --help` and docs/cli.md). */
enum {
    CLI_EXIT_OK = 0,       /* success */
    CLI_EXIT_INPUT = 1,    /* bad input file or I/O error */
    CLI_EXIT_USAGE = 2,    /* usage error: unknown flag, bad value, inconsistent flags */
    CLI_EXIT_DIVERGED = 3, /* training diverged (loss became NaN/Inf) */
    CLI_EXIT_INTERNAL = 4  /* internal error (out of memory, unexpected failure) */
};

typedef struct cli_flag {
    const char *name;  /* long name without the leading "--" */
    const char *meta;  /* value name shown in help ("N", "FILE"); NULL: a switch */
    const char *def;   /* default value (also what help shows); NULL: none */
    const char *help;  /* one-line description */
    const char *group; /* heading printed before this flag in help, or NULL */
    /* filled in by cli_parse / cli_config_apply */
    const char *value;  /* the given value, else def */
    int given;          /* set on the command line or in the config file */
    int on;             /* switches: 1 when given (and not set false) */
    const char *origin; /* NULL: command line, else the config file it came from */
    char *owned;        /* storage for values that came from a config file */
} cli_flag;

/* A table entry: CLI_FLAG(name, meta, default, help, group). */
#define CLI_FLAG(name, meta, def, help, group)                                                     \
    {                                                                                              \
        name, meta, def, help, group, NULL, 0, 0, NULL, NULL                                       \
    }

typedef struct cli_cmd {
    const char *name;    /* "train" */
    const char *usage;   /* "mlpc train [flags]" */
    const char *summary; /* text printed after the usage line (may hold '\n') */
    cli_flag *flags;
    int n_flags;
    int max_pos; /* positional arguments accepted */
    const char *pos[1024]; /* at most max_pos of them (<= 1024) */
    int n_pos;
    int help; /* --help or -h was given */
} cli_cmd;

/* Prints "mlpc CMD: <message>\n" on stderr as exactly one line. */
void cli_error(const cli_cmd *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void cli_error_name(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Parses argv[0..argc) (the arguments after the subcommand's name).
 * Returns 0, or an exit code after printing the error. */
int cli_parse(cli_cmd *c, int argc, char **argv);
/* Prints the subcommand's help (usage, summary, every flag with its default). */
void cli_help(const cli_cmd *c, FILE *out);
/* The flag called name (the table must have it). */
cli_flag *cli_flag_get(cli_cmd *c, const char *name);
/* Sets a flag's value from a config file (the text is copied). */
void cli_flag_set_from(cli_flag *f, const char *value, const char *origin);
/* Frees the values copied from config files. */
void cli_cmd_free(cli_cmd *c);

/* Value errors: "mlpc CMD: --batch 0: must be a positive integer", or for a
 * value from a config file "mlpc CMD: config FILE: "batch" 0: ...".
 * Always returns CLI_EXIT_USAGE. */
int cli_bad_value(const cli_cmd *c, const cli_flag *f, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Value conversions; each prints the error and returns CLI_EXIT_USAGE on a
 * bad value, 0 on success. */
/* Sets up a command: clears c and fills in its name, usage, summary and flags. */
void cli_cmd_init(cli_cmd *c, const char *name, const char *usage, const char *summary, cli_flag *flags,
                  int n_flags, int max_pos);
/* cli_parse, then --help: returns the parse error code, -1 when the help was
 * printed (the command should exit 0), or 0 to go on. */
int cli_parse_or_help(cli_cmd *c, int argc, char **argv);
int cli_int(const cli_cmd *c, const cli_flag *f, long min, long max, int *out);
/* --threads N: 1..MLPC_MAX_THREADS, 0 meaning one per CPU core. */
int cli_threads(const cli_cmd *c, const cli_flag *f, int *out);
int cli_u64(const cli_cmd *c, const cli_flag *f, uint64_t *out);
/* kind: 0 any finite, 1 positive, 2 non-negative */
int cli_float(const cli_cmd *c, const cli_flag *f, int kind, double *out);
/* "yes"/"no"/"auto" -> 1/0/-1 */
int cli_header(const cli_cmd *c, const cli_flag *f, int *out);
/* --header, --delimiter and --skip-rows into o; 0 or an exit code. */
int cli_csv_dialect(cli_cmd *c, mlpc_csv_options *o);
int cli_task(const cli_cmd *c, const cli_flag *f, mlpc_task *out);

/* Named enums of the library, parsed with the library's *_parse functions. */
typedef enum cli_enum {
    CLI_E_ACT,
    CLI_E_LOSS,
    CLI_E_INIT,
    CLI_E_OPT,
    CLI_E_SCHED,
    CLI_E_NORM,
    CLI_E_METRIC
} cli_enum;
int cli_enum_parse(const cli_cmd *c, const cli_flag *f, cli_enum kind, int *out);
const char *cli_enum_name(cli_enum kind, int v);

/* Every value of a repeatable flag in argv ("--NAME V" or "--NAME=V"), in
 * order, up to max; returns how many there are (may exceed max). */
int cli_collect(int argc, char **argv, const char *name, const char **out, int max);
/* 1 when the flag's value equals s. */
int cli_is(const cli_flag *f, const char *s);

/* Exit code for a library status. */
int cli_exit_for(mlpc_status s);
/* Reports a library error: "mlpc CMD: <msg>"; when the message does not
 * mention `path` (may be NULL) it is prefixed with "PATH: ". Returns the exit
 * code for the status. */
int cli_lib_error(const cli_cmd *c, const char *path, mlpc_status code, const char *msg);
/* Checks that an input file exists and is a regular file; reports
 * "--FLAG PATH: No such file or directory" (or "PATH: ..." when flag is
 * NULL, for positional arguments). Returns 0 or CLI_EXIT_INPUT. */
int cli_check_input(const cli_cmd *c, const char *flag, const char *path);

#endif
