/* experiment_common.c: helpers shared by the experiment files
 * (experiment.h): timing, progress lines, record steps, loss figures. */
#include "experiment.h"
#include "report.h"
#include "report_io.h"
#include "nzk_error.h"

#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double nzk_xp_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Progress goes to stderr only when asked and stderr is a terminal, as one
 * self-overwriting line, so logs and pipes stay clean. */
void nzk_xp_progress(const nzk_exp_config *cfg, const char *fmt, ...)
{
  if (!cfg->progress || !isatty(STDERR_FILENO)) return;
  va_list ap;
  fputs("\r\033[K", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fflush(stderr);
}

void nzk_xp_record_steps(size_t steps, size_t out[NZK_XP_N_RECORD])
{
  for (size_t k = 0; k < NZK_XP_N_RECORD; k++)
    out[k] = (steps * k + (NZK_XP_N_RECORD - 1) / 2) / (NZK_XP_N_RECORD - 1);
}

/* Paths of figure <exp>_<fig>: relative PNG name, absolute data and PNG. */
static int figure_paths(const nzk_exp_config *cfg, const json_t *exp, const char *fig,
                        const char *suffix, char *rel, char *data, char *png)
{
  char base[512];
  snprintf(base, sizeof base, "fig/%s_%s", json_string_value(json_object_get(exp, "id")), fig);
  snprintf(rel, 600, "%s.png", base);
  int status = nzk_path_join(png, 4096, cfg->out_dir, rel);
  if (!status) status = nzk_path_join(data, 4096, cfg->out_dir, base);
  if (!status) strncat(data, suffix, 4095 - strlen(data));
  return status;
}

/* 1 if column j of M (or of M2 when given) has a finite value. */
static int column_has_data(const gsl_matrix *M, const gsl_matrix *M2, size_t j)
{
  for (size_t i = 0; i < M->size1; i++)
    if (isfinite(gsl_matrix_get(M, i, j)) || (M2 && isfinite(gsl_matrix_get(M2, i, j))))
      return 1;
  return 0;
}

gsl_matrix *nzk_xp_finite_columns(const gsl_matrix *M, const gsl_matrix *M2, size_t group,
                                  const char *const *names, const char **kept_names)
{
  size_t keep = 0, n_groups = (M->size2 - 1) / group;
  size_t *cols = malloc(M->size2 * sizeof *cols);
  if (cols) cols[keep++] = 0;
  for (size_t g = 0; cols && g < n_groups; g++) {
    size_t first = 1 + g * group; /* a group is kept when its first column has data */
    if (!column_has_data(M, M2, first)) continue;
    for (size_t j = first; j < first + group; j++) cols[keep++] = j;
  }
  gsl_matrix *out = cols ? gsl_matrix_alloc(M->size1, keep) : NULL;
  for (size_t j = 0; out && j < keep; j++) {
    kept_names[j] = names[cols[j]];
    for (size_t i = 0; i < M->size1; i++) gsl_matrix_set(out, i, j, gsl_matrix_get(M, i, cols[j]));
  }
  free(cols);
  return out;
}

int nzk_xp_plot_curves(const nzk_exp_config *cfg, json_t *exp, const char *fig,
                       const char *title, const char *caption, const char *const *names,
                       const gsl_matrix *M, int band)
{
  char rel[600], data[4096], png[4096], ncol[32];
  int status = figure_paths(cfg, exp, fig, ".dat", rel, data, png);
  if (status) return status;
  const char **kept = malloc(M->size2 * sizeof *kept);
  /* a series with no finite value would still get a legend entry */
  gsl_matrix *K = kept ? nzk_xp_finite_columns(M, NULL, band ? 3 : 1, names, kept) : NULL;
  if (!kept || !K) status = NZK_FAIL(GSL_ENOMEM, "out of memory");
  if (!status && K->size2 < 2)
    status = NZK_FAIL(GSL_EDOM, "%s: no series of figure %s has a finite value",
                      json_string_value(json_object_get(exp, "id")), fig);
  if (!status) status = nzk_plot_write_columns(data, kept, K);
  if (!status && band) snprintf(ncol, sizeof ncol, "%zu", (K->size2 - 1) / 3);
  else if (!status) snprintf(ncol, sizeof ncol, "%zu", K->size2);
  free(kept);
  gsl_matrix_free(K);
  if (status) return status;
  const char *vars[] = {"datafile", data, band ? "nmeth" : "ncol", ncol, "title", title, NULL};
  status = nzk_plot_run(band ? "loss_band" : "loss_curves", png, vars);
  if (!status) status = nzk_exp_add_figure(exp, fig, rel, caption);
  return status;
}

int nzk_xp_plot_snapshots(const nzk_exp_config *cfg, json_t *exp, const char *fig,
                          const char *title, const char *const *names, const gsl_matrix *S)
{
  char rel[600], data[4096], png[4096], ncol[32];
  int status = figure_paths(cfg, exp, fig, ".dat", rel, data, png);
  if (!status) status = nzk_plot_write_columns(data, names, S);
  if (status) return status;
  snprintf(ncol, sizeof ncol, "%zu", S->size2);
  const char *vars[] = {"datafile", data, "ncol", ncol, "title", title, NULL};
  status = nzk_plot_run("function_evolution", png, vars);
  if (!status)
    status = nzk_exp_add_figure(exp, fig, rel,
                                "Model outputs on the training examples (sorted by target) at "
                                "the record steps, with the targets as black dots.");
  return status;
}

int nzk_xp_plot_heatmap(const nzk_exp_config *cfg, json_t *exp, const char *fig,
                        const gsl_matrix *est, const gsl_matrix *se, const gsl_matrix *formula,
                        const char *what)
{
  char rel[600], fe[4096], ff[4096], fz[4096], png[4096], title[300];
  int status = figure_paths(cfg, exp, fig, ".est", rel, fe, png);
  if (!status) status = figure_paths(cfg, exp, fig, ".formula", rel, ff, png);
  if (!status) status = figure_paths(cfg, exp, fig, ".z", rel, fz, png);
  gsl_matrix *Z = status ? NULL : gsl_matrix_alloc(est->size1, est->size2);
  if (!status && !Z) status = NZK_FAIL(GSL_ENOMEM, "out of memory");
  for (size_t i = 0; Z && i < est->size1; i++)
    for (size_t j = 0; j < est->size2; j++) {
      double s = gsl_matrix_get(se, i, j), d = gsl_matrix_get(est, i, j) -
                                                 gsl_matrix_get(formula, i, j);
      gsl_matrix_set(Z, i, j, s > 0 ? d / s : 0.0);
    }
  if (!status) status = nzk_plot_write_matrix(fe, est);
  if (!status) status = nzk_plot_write_matrix(ff, formula);
  if (!status) status = nzk_plot_write_matrix(fz, Z);
  gsl_matrix_free(Z);
  if (status) return status;
  snprintf(title, sizeof title, "%s: %s, Monte Carlo estimate vs moment formula",
           json_string_value(json_object_get(exp, "title")), what);
  const char *vars[] = {"estfile", fe, "formfile", ff, "zfile", fz, "title", title,
                        "what", what, NULL};
  status = nzk_plot_run("kernel_heatmap", png, vars);
  if (!status)
    status = nzk_exp_add_figure(exp, fig, rel,
                                "Kernel heatmaps: Monte Carlo estimate, moment formula (same "
                                "colour scale) and entry-wise z-scores.");
  return status;
}

void nzk_xp_count_ok(const json_t *exp, size_t *ok, size_t *total)
{
  size_t k;
  json_t *v;
  *ok = *total = 0;
  json_array_foreach(json_object_get(exp, "verdicts"), k, v) {
    (*total)++;
    if (json_is_true(json_object_get(v, "ok"))) (*ok)++;
  }
}

void nzk_xp_law_label(const nzk_law *law, char *buf, size_t len)
{
  int k = snprintf(buf, len, "%s(", nzk_law_kind_name(law->kind));
  if (k > 0 && law->kind == NZK_LAW_STUDENT_T && (size_t)k < len)
    k += snprintf(buf + k, len - (size_t)k, "nu %g, ", law->nu);
  if (k > 0 && (size_t)k < len) k += snprintf(buf + k, len - (size_t)k, "scale %g", law->scale);
  if (k > 0 && law->mean != 0 && (size_t)k < len)
    k += snprintf(buf + k, len - (size_t)k, ", mean %g", law->mean);
  if (k > 0 && (size_t)k < len) snprintf(buf + k, len - (size_t)k, ")");
}
