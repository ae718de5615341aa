/* experiment.h: the experiments of `nzk reproduce` (DESIGN.md sections 3
 * and 5) as library code.  Each experiment appends one entry to a results
 * document (report.h) with its settings, tables, figures (drawn into
 * <out_dir>/fig), verdicts, the time it took, and a text saying what was
 * compared and what was found.
 *
 * Sizes.  `quick` selects small sizes for CI and tests (seconds); full size
 * uses the authors' settings of DESIGN.md section 5 (n = 100 or 200, 16000
 * steps, eta = 1e-3, 10^4 Monte Carlo draws).
 *
 * The common core is a "linear-in-theta" experiment: a feature matrix or
 * frozen Jacobian J (n x p), targets y and initial outputs f0, trained by
 *   FO              kernel GD with the NTK J J^T (closed form, dynamics.h),
 *   ZO kernel GD    kernel GD with the expected NZK, from its moment formula
 *                   and from a Monte Carlo estimate (what the paper plots),
 *   ZO runs         R independent parameter-space runs per scheme (train.h
 *                   forward passes; for isotropic Gaussian directions the
 *                   exact-law stepper zo_exact.h, which has the same law),
 *   best of K       the authors' "standard ZO" baseline (zo_exact.h),
 * with the T1 check of the Monte Carlo kernel and the T3 check of the mean
 * residual of the runs against the closed form. */
#ifndef NZK_EXPERIMENT_H
#define NZK_EXPERIMENT_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>
#include <jansson.h>

#include "law.h"

typedef struct {
  int quick;            /* small sizes (CI) instead of the paper's */
  uint64_t seed;        /* every stream derives from it */
  const char *out_dir;  /* output folder; figures go to <out_dir>/fig */
  const char *data_dir; /* explicit data folder, or NULL */
  int progress;         /* progress lines on stderr */
  const char *only;     /* NULL, or one group: kernel, linear, ffn, images, width,
                         * acceleration (nzk_reproduce runs only that one) */
} nzk_exp_config;

/* --- the linear-in-theta core -------------------------------------------- */

#define NZK_XP_MAX_LAWS 8

typedef struct {
  const char *id;        /* experiment id, [a-z0-9_]+ */
  const char *title;
  const gsl_matrix *J;   /* n x p */
  const gsl_vector *y;   /* n */
  const gsl_vector *f0;  /* n, initial outputs (NULL: zero) */
  nzk_law law;           /* i.i.d. entry law of the directions */
  double eta;
  size_t steps;          /* training steps T */
  size_t mc_draws;       /* Monte Carlo draws for the estimated NZK */
  size_t runs;           /* R independent ZO runs per scheme (0: none) */
  size_t best_k;         /* > 0: add the best-of-K baseline */
  int use_exact_law;     /* ZO runs through zo_exact.h (Gaussian laws only) */
} nzk_xp_linear;

/* Run the core on `set` and append experiment `set->id` to doc.  The
 * experiment's tables: losses at the record steps for every method; the
 * T1 and T3 verdicts.  Figures: loss curves (mean and spread of runs),
 * kernel heatmaps (estimate, formula, z-scores), function snapshots.
 * Returns 0 or the status of the first failure (the document then holds
 * nothing for this experiment). */
int nzk_xp_linear_run(const nzk_exp_config *cfg, const nzk_xp_linear *set, json_t *doc);

/* --- the experiments of DESIGN.md section 5 ------------------------------- */

/* Linear rows: input dimension 2 and 50 (noise 0.05), entry laws (noise
 * 0.02) and variances; unit-sphere synthetic data, n = 100. */
int nzk_exp_linear_synthetic(const nzk_exp_config *cfg, json_t *doc);
/* T1 on its own: every scheme x law against the moment formula, negative
 * controls, and the S^(-1/2) slope of the Monte Carlo error. */
int nzk_exp_kernel_checks(const nzk_exp_config *cfg, json_t *doc);
/* T5: plain, pair and shared at equal eta, equal tr E K and each at its
 * largest stable eta; measured against predicted speed-up. */
int nzk_exp_acceleration(const nzk_exp_config *cfg, json_t *doc);

/* The image rows (MNIST 3 vs 5, CIFAR-10 2 vs 9, Tiny ImageNet 0 vs 1, and
 * Fashion-MNIST 3 vs 5 by default): MLP 64-10-5-1 at its PyTorch-style
 * initialisation, frozen Jacobian J0, model J0 theta (the authors'), for
 * every data set found; records which were found in the document. */
int nzk_exp_images(const nzk_exp_config *cfg, json_t *doc);

/* FFN synthetic row: MLP 2-5-5-1 with normalised Jacobian rows, n = 150. */
int nzk_exp_ffn_synthetic(const nzk_exp_config *cfg, json_t *doc);
/* T4: gap and drift of full networks against their linearisation by width
 * (network.h, nzk_width_sweep), with log-log slopes and the figure. */
int nzk_exp_width_sweep(const nzk_exp_config *cfg, json_t *doc);

/* Everything: runs every experiment, then writes <out_dir>/results.json,
 * tables.md, tables/<id>.csv, fig/<id>.png and index.html, and checks the folder.
 * On success *doc receives the document (caller frees with json_decref).
 * Returns 0 or the first failure's status; then no results.json or
 * index.html of this run exists. */
int nzk_reproduce(const nzk_exp_config *cfg, json_t **doc);
/* 1 if `group` names a group of nzk_reproduce (kernel, linear, ffn, images,
 * width, acceleration), else 0 (also for NULL). */
int nzk_reproduce_group_known(const char *group);

/* A ZO run counts as diverged when its loss exceeds this factor times
 * max(L0, |y|^2 / 2n), or is not finite (train.h's rule, stricter factor:
 * runs 10^4 above their start carry no information on the mean). */
#define NZK_XP_RUNAWAY 1e4

/* Column 0 of M, then the groups of `group` consecutive columns (1.., in
 * order) whose first column has a finite value in M or in M2 (M2 NULL, or
 * of M's shape); kept_names (M->size2 entries) receives their names.  New
 * matrix, NULL on no memory.  Used so that no legend lists a series with
 * no data. */
gsl_matrix *nzk_xp_finite_columns(const gsl_matrix *M, const gsl_matrix *M2, size_t group,
                                  const char *const *names, const char **kept_names);

/* Helpers shared by the experiment files (experiment_common.c). */
double nzk_xp_now(void);
void nzk_xp_progress(const nzk_exp_config *cfg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Record steps 0, T/8, 2T/8, ..., T (9 steps, the paper's count). */
#define NZK_XP_N_RECORD 9
void nzk_xp_record_steps(size_t steps, size_t out[NZK_XP_N_RECORD]);
/* Draw a loss-curve figure from M (column 0 step, then one per name) as
 * fig/<exp>_<fig>.png and add it to exp.  `band` != 0 selects the
 * mean/low/high template (3 columns per method). */
int nzk_xp_plot_curves(const nzk_exp_config *cfg, json_t *exp, const char *fig,
                       const char *title, const char *caption, const char *const *names,
                       const gsl_matrix *M, int band);
/* A short label of an entry law for tables and titles, 6 significant
 * digits: "t(nu 10, scale 1)", "normal(scale 0.8, mean 0.3)". */
void nzk_xp_law_label(const nzk_law *law, char *buf, size_t len);
/* Verdicts of one experiment that reached their expected value. */
void nzk_xp_count_ok(const json_t *exp, size_t *ok, size_t *total);
/* Function snapshots (function_evolution.gp): S columns index, target,
 * then f at each record step. */
int nzk_xp_plot_snapshots(const nzk_exp_config *cfg, json_t *exp, const char *fig,
                          const char *title, const char *const *names, const gsl_matrix *S);
/* Heatmaps of a Monte Carlo kernel estimate (with its standard errors)
 * next to its formula, and the z-scores. */
int nzk_xp_plot_heatmap(const nzk_exp_config *cfg, json_t *exp, const char *fig,
                        const gsl_matrix *est, const gsl_matrix *se, const gsl_matrix *formula,
                        const char *what);

#endif
