/* cli.h: the `nzk` program's subcommands and the option helpers they share.
 * The program is a thin layer over the library: it parses options, calls
 * library functions, writes results and turns a failure into one line on
 * stderr ("nzk kernel: error: <reason>") and a non-zero exit. */
#ifndef NZK_CLI_H
#define NZK_CLI_H

#include <stddef.h>
#include <stdint.h>

/* Exit codes: 0 success, 1 a failed computation or check, 2 bad usage or
 * bad input. */
enum { NZK_EXIT_OK = 0, NZK_EXIT_FAIL = 1, NZK_EXIT_USAGE = 2 };

typedef struct {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
} nzk_command;

/* The subcommand table, NULL-terminated (nzk.c). */
extern const nzk_command nzk_commands[];

/* Print "nzk <cmd>: error: <fmt...>" on stderr; returns NZK_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print the library's last failure as one line; returns `exit_code`. */
int cli_library_error(const char *cmd, int exit_code);

/* Strict number parsing for option values: the whole string must parse and
 * the result must be finite.  On failure they print one line naming the
 * option and return nonzero. */
int cli_parse_double(const char *cmd, const char *opt, const char *s, double *out);
int cli_parse_size(const char *cmd, const char *opt, const char *s, size_t *out);
int cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out);
/* --seed: an integer in [0, NZK_SEED_MAX] (rng_stream.h), so that every
 * result file can store it as a JSON integer without loss. */
int cli_parse_seed(const char *cmd, const char *s, uint64_t *out);

/* "--opt value" or "--opt=value" at argv[*i]: returns the value (advancing
 * *i past a separate value), NULL if argv[*i] is not `opt`, and "" after
 * printing a usage error when the value is missing or empty. */
const char *cli_opt_value(const char *cmd, int argc, char **argv, int *i, const char *opt);

/* A table of valued options: name without "--", kind ('s' string, 'd'
 * finite double, 'z' size, 'u' seed in [0, 2^63 - 1]) and the offset of
 * the field, in the caller's argument struct, that receives the value. */
typedef struct {
  const char *name;
  char kind;
  size_t off;
} cli_opt;

/* If argv[*i] is one of the n options of `table`, store its value into the
 * struct at `args`, advance *i, set *which to its index and return 1
 * (with *bad = 1 after a usage error); otherwise return 0. */
int cli_parse_table(const char *cmd, const cli_opt *table, size_t n, int argc, char **argv,
                    int *i, void *args, size_t *which, int *bad);

/* Subcommands (one file each, src/cli/cmd_<name>.c). */
int cmd_kernel(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_datasets(int argc, char **argv);
int cmd_reproduce(int argc, char **argv);
int cmd_network(int argc, char **argv);

#endif
