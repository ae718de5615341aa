/* cmd_reproduce.c: `nzk reproduce`, the main job: every experiment of
 * DESIGN.md section 5, the theorem checks and the acceleration study, into
 * one output folder (results.json, tables.md, tables/, fig/, index.html).
 * T5 (acceleration) is reported as measurements without a verdict.
 * A thin driver over nzk_reproduce (experiment.h). */
#include "cli.h"
#include "experiment.h"
#include "nzk_error.h"
#include "report.h"
#include "rng_stream.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
  fprintf(out,
          "usage: nzk reproduce [--out DIR] [--quick] [--data DIR] [--seed N] [--only GROUP]\n"
          "                     [--no-progress]\n"
          "       nzk reproduce --check DIR\n\n"
          "Runs every experiment of the paper (DESIGN.md section 5) on the data found, the\n"
          "theorem checks T1, T3 and T4 with their negative controls, and the acceleration\n"
          "study T5, which is reported as measurements without a verdict (speed-ups next to\n"
          "their predictions, with the range over 3 seeds of the runs); the T4 width sweep's\n"
          "own slopes are measurements too, the T4 verdict comes from a separate check on\n"
          "16 networks per width.  Writes into DIR (default out): results.json (schema\n"
          "nzk-reproduce/1), tables.md and tables/*.csv, fig/*.png (gnuplot) and\n"
          "index.html.  Progress goes to stderr when it is a terminal.\n\n"
          "  --out DIR       output folder (created; not empty).  A run first removes what\n"
          "                  an earlier run wrote there (results.json, index.html,\n"
          "                  tables.md, figure and data files in fig/, CSVs in tables/)\n"
          "  --quick         small sizes (CI, seconds) instead of the paper's settings\n"
          "  --data DIR      where to look first for MNIST, CIFAR-10, Tiny ImageNet\n"
          "  --seed N        seed of every random stream (default 20260321; NZK_SEED too)\n"
          "  --no-progress   no progress lines\n"
          "  --only GROUP    run one group: kernel, linear, ffn, images, width, acceleration\n"
          "  --check DIR     only check an existing output folder for consistency (also\n"
          "                  that fig/ and tables/ hold nothing results.json does not name)\n\n"
          "Environment: NZK_REPORTS_DIR names the folder of the gnuplot templates (*.gp);\n"
          "without it they are looked for in <prefix>/share/nzk/reports beside the\n"
          "program, then in the configured install prefix, then in the source tree.\n"
          "NZK_SEED sets the seed when --seed is not given.\n\n"
          "Every check's expected verdict is fixed by the design before the run (pass;\n"
          "fail for a negative control; not testable or undefined where a moment the\n"
          "theorem needs does not exist).  A check that could not be tested in this run\n"
          "(e.g. its ZO runs diverged) does not count as reaching its expected verdict:\n"
          "the summary line names it and the reason.\n\n"
          "Exit status: 0 when no check reached a verdict other than its expected one\n"
          "(checks that could not be tested are named in the summary but do not change\n"
          "the status), 1 when some check did or a computation failed, 2 for bad usage.\n");
}

static int summarise(const json_t *doc, const char *out)
{
  nzk_verdict_tally t;
  char head[2048];
  nzk_results_tally(doc, &t);
  nzk_results_headline(doc, head, sizeof head);
  printf("nzk reproduce: %zu experiments in %.1f s; %s\n"
         "Verdicts: pass %zu, fail %zu, not testable %zu, undefined %zu (negative controls "
         "are expected to fail).\n"
         "Report: %s/index.html   Tables: %s/tables.md   Results: %s/results.json\n",
         json_array_size(json_object_get(doc, "experiments")),
         json_number_value(json_object_get(doc, "elapsed_s")), head, t.pass, t.fail,
         t.not_testable, t.undefined, out, out, out);
  return t.missed ? NZK_EXIT_FAIL : NZK_EXIT_OK;
}

int cmd_reproduce(int argc, char **argv)
{
  static const struct option opts[] = {
      {"out", required_argument, NULL, 'o'},  {"quick", no_argument, NULL, 'q'},
      {"data", required_argument, NULL, 'd'}, {"seed", required_argument, NULL, 's'},
      {"no-progress", no_argument, NULL, 'P'}, {"check", required_argument, NULL, 'c'},
      {"only", required_argument, NULL, 'O'}, {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  nzk_exp_config cfg = {.quick = 0, .seed = 0, .out_dir = "out", .data_dir = NULL,
                        .progress = 1, .only = NULL};
  const char *check = NULL;
  int have_seed = 0, c;
  optind = 1;
  opterr = 0; /* one error line, ours */
  while ((c = getopt_long(argc, argv, "o:qd:s:Pc:O:h", opts, NULL)) != -1) {
    switch (c) {
    case 'o': cfg.out_dir = optarg; break;
    case 'q': cfg.quick = 1; break;
    case 'd': cfg.data_dir = optarg; break;
    case 's':
      if (cli_parse_u64("reproduce", "seed", optarg, &cfg.seed)) return NZK_EXIT_USAGE;
      have_seed = 1;
      break;
    case 'P': cfg.progress = 0; break;
    case 'c': check = optarg; break;
    case 'O': cfg.only = optarg; break;
    case 'h': usage(stdout); return NZK_EXIT_OK;
    default:
      return cli_usage_error("reproduce", "unknown option or missing value: '%s'",
                             argv[optind - 1]);
    }
  }
  if (optind < argc) return cli_usage_error("reproduce", "unexpected argument '%s'", argv[optind]);
  if (!*cfg.out_dir) return cli_usage_error("reproduce", "--out needs a non-empty folder name");
  if (check && !*check)
    return cli_usage_error("reproduce", "--check needs a non-empty folder name");
  if (cfg.only && !nzk_reproduce_group_known(cfg.only))
    return cli_usage_error("reproduce", "--only: unknown group '%s' (kernel, linear, ffn, "
                           "images, width, acceleration)", cfg.only);
  if (check) {
    if (nzk_results_check_dir(check)) return cli_library_error("reproduce", NZK_EXIT_FAIL);
    printf("nzk reproduce: %s is consistent\n", check);
    return NZK_EXIT_OK;
  }
  if (!have_seed) cfg.seed = nzk_stream_default_seed(20260321);

  json_t *doc = NULL;
  if (nzk_reproduce(&cfg, &doc)) return cli_library_error("reproduce", NZK_EXIT_FAIL);
  int code = summarise(doc, cfg.out_dir);
  json_decref(doc);
  return code;
}
