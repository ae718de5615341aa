/* harness_main.c: entry point of `nzk_bench`, the benchmark harness and
 * nightly report generator; dispatches to `run` or `report`. */
#include "harness.h"

#include <string.h>

static void usage(FILE *out)
{
  fprintf(out, "usage: nzk_bench run --out FILE [--size smallest|full] [options]\n"
               "       nzk_bench report --dir DIR [options]\n"
               "'nzk_bench <command> --help' describes each command's options.\n");
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (strcmp(argv[1], "run") == 0) return harness_run_main(argc - 1, argv + 1);
  if (strcmp(argv[1], "report") == 0) return harness_report_main(argc - 1, argv + 1);
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    usage(stdout);
    return 0;
  }
  fprintf(stderr, "nzk_bench: error: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
