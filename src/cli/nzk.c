/* nzk.c: entry point of the `nzk` program; dispatches to a subcommand. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_errno.h>

const nzk_command nzk_commands[] = {
  {"kernel", "T1: Monte Carlo NZK against its moment formula", cmd_kernel},
  {"train", "train a linear model by FO, ZO, kernel GD and the closed form", cmd_train},
  {"datasets", "list the image data sets, or draw and preprocess a two-class set", cmd_datasets},
  {"network", "T4: MLPs by FO and ZO next to their linearization; the width sweep",
   cmd_network},
  {"reproduce", "run every experiment and write the report (the main job)", cmd_reproduce},
  {NULL, NULL, NULL},
};

static void print_help(FILE *out)
{
  fprintf(out,
          "usage: nzk <command> [options]\n\n"
          "Verifies how models evolve under zeroth-order optimisation: the neural\n"
          "zeroth-order kernel (NZK), its moment formulas and the training dynamics.\n\n"
          "commands:\n");
  for (const nzk_command *c = nzk_commands; c->name; c++)
    fprintf(out, "  %-10s %s\n", c->name, c->summary);
  fprintf(out, "\n'nzk <command> --help' describes each command's options.\n"
               "Environment: NZK_LOG_LEVEL (error, warn, info, debug), NZK_SEED.\n");
}

/* The library reports bad input through status codes (NZK_FAIL) and never
 * calls GSL's error handler itself; GSL calls it only when it is misused
 * (an out-of-range view, a shape mismatch inside GSL), which is a bug in
 * this program.  Say so in one line and abort rather than go on with a
 * result GSL has refused to compute. */
static void gsl_misuse_handler(const char *reason, const char *file, int line, int gsl_errno)
{
  fprintf(stderr, "nzk: internal error: GSL reported '%s' (%s:%d, code %d)\n", reason, file,
          line, gsl_errno);
  abort();
}

int main(int argc, char **argv)
{
  gsl_set_error_handler(gsl_misuse_handler);

  if (argc < 2) {
    print_help(stderr);
    return NZK_EXIT_USAGE;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    print_help(stdout);
    return NZK_EXIT_OK;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("nzk-verify 0.1.0\n");
    return NZK_EXIT_OK;
  }
  for (const nzk_command *c = nzk_commands; c->name; c++)
    if (strcmp(argv[1], c->name) == 0) return c->run(argc - 1, argv + 1);

  fprintf(stderr, "nzk: error: unknown command '%s' (see 'nzk --help')\n", argv[1]);
  return NZK_EXIT_USAGE;
}
