/* reproduce.c: `nzk reproduce` as a library call (experiment.h): every
 * experiment in turn, then the results document, tables, figures and the
 * HTML page of report.h.  The document and page are written only when
 * every experiment finished, each file atomically, and the folder is
 * re-checked at the end (nzk_results_check_dir), so a failed run never
 * leaves a report that looks complete. */
#include "experiment.h"
#include "nzk_error.h"
#include "report.h"
#include "report_io.h"

#include <stdio.h>
#include <string.h>

typedef int (*experiment_fn)(const nzk_exp_config *, json_t *);

typedef struct {
  const char *group; /* name for --only */
  const char *name;
  experiment_fn run;
} step;

static const step steps[] = {
    {"kernel", "kernel checks (T1)", nzk_exp_kernel_checks},
    {"linear", "linear synthetic rows", nzk_exp_linear_synthetic},
    {"ffn", "FFN synthetic row", nzk_exp_ffn_synthetic},
    {"images", "image data sets", nzk_exp_images},
    {"width", "width sweep (T4)", nzk_exp_width_sweep},
    {"acceleration", "acceleration (T5)", nzk_exp_acceleration},
};
static const size_t n_steps = sizeof steps / sizeof steps[0];

int nzk_reproduce_group_known(const char *group)
{
  for (size_t k = 0; group && k < n_steps; k++)
    if (!strcmp(group, steps[k].group)) return 1;
  return 0;
}

static int write_outputs(const nzk_exp_config *cfg, json_t *doc)
{
  char path[4096];
  int status = nzk_results_validate(doc);
  if (!status) status = nzk_path_join(path, sizeof path, cfg->out_dir, "results.json");
  if (!status) status = nzk_json_write(path, doc);
  if (!status) status = nzk_results_write_tables(doc, cfg->out_dir);
  if (!status) status = nzk_html_write(doc, cfg->out_dir);
  if (!status) status = nzk_results_check_dir(cfg->out_dir);
  return status;
}

int nzk_reproduce(const nzk_exp_config *cfg, json_t **doc_out)
{
  char fig[4096];
  double t0 = nzk_xp_now();
  *doc_out = NULL;
  if (!cfg->out_dir || !*cfg->out_dir)
    return NZK_FAIL(GSL_EINVAL, "empty output folder name");
  if (cfg->only && !nzk_reproduce_group_known(cfg->only))
    return NZK_FAIL(GSL_EINVAL, "unknown experiment group '%s' (kernel, linear, ffn, images, "
                    "width, acceleration)", cfg->only);
  int status = nzk_path_join(fig, sizeof fig, cfg->out_dir, "fig");
  if (!status) status = nzk_mkdir_p(fig);
  /* A report left by an earlier run in this folder must not survive a run
   * that fails, nor stand next to this run's figures as if it were part of
   * it: only files a run writes are removed (report.h). */
  if (!status) status = nzk_results_clear_dir(cfg->out_dir);
  json_t *doc = status ? NULL : nzk_results_new(cfg->quick ? "quick" : "full", cfg->seed);
  if (!status && !doc) status = nzk_error_code();
  if (!status) status = nzk_results_add_dataset(doc, "synthetic", 1, "generated (DESIGN.md 5)");
  for (size_t k = 0; k < n_steps && !status; k++) {
    if (cfg->only && strcmp(cfg->only, steps[k].group) != 0) continue;
    double ts = nzk_xp_now();
    nzk_xp_progress(cfg, "%s ...", steps[k].name);
    status = steps[k].run(cfg, doc);
    nzk_log(NZK_LOG_INFO, "%s: %.2f s", steps[k].name, nzk_xp_now() - ts);
  }
  nzk_xp_progress(cfg, "%s", "");
  if (!status) {
    json_object_set_new(doc, "elapsed_s", json_real(nzk_xp_now() - t0));
    status = write_outputs(cfg, doc);
  }
  if (status) {
    json_decref(doc);
    return status;
  }
  *doc_out = doc;
  return 0;
}
