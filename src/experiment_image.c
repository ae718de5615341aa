/* experiment_image.c: the image rows of DESIGN.md section 5.  For each data
 * set found (MNIST 3 vs 5, Fashion-MNIST 3 vs 5 as the default stand-in,
 * CIFAR-10 2 vs 9, Tiny ImageNet 0 vs 1): 100 images per class drawn with
 * replacement, gray, resized to 8 x 8, divided by 255 (data_images.h);
 * the MLP 64-10-5-1 with ReLU at PyTorch's default initialisation
 * (model_mlp.h); its Jacobian J0 at theta0 frozen, and the authors' model
 * f = J0 theta started at theta0 (so f0 = J0 theta0, not the network's
 * output; DESIGN.md T4 says where that differs).  The core of
 * experiment_core.c then runs FO, ZO kernel GD with the expected NZK (10^4
 * Monte Carlo draws), real ZO runs of the three schemes and the authors'
 * best-of-100 baseline with z ~ N(0, I) and eps = 1e-3 (exact for this
 * quadratic loss), all through the exact-law stepper of zo_exact.h.
 * Limitation: the real ZO runs here are exact-law function-space runs, not
 * forward passes (2 x 100 forward passes per baseline step would take
 * about a minute per run); verify/test_zo_exact.c checks that the two have
 * the same law.  The T1 check uses the reference estimator nzk_kernel_mc. */
#include "experiment.h"
#include "data_images.h"
#include "model_mlp.h"
#include "nzk_blas.h"
#include "nzk_error.h"
#include "report.h"
#include "rng_stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Frozen Jacobian J0 (n x 711) and f0 = J0 theta0 of the paper's MLP. */
static int mlp_jacobian(const gsl_matrix *X, uint64_t seed, gsl_matrix **J, gsl_vector **f0)
{
  nzk_mlp_spec spec = {.act = NZK_ACT_RELU, .param = NZK_PARAM_STANDARD};
  int status = nzk_mlp_widths_parse("64,10,5,1", &spec);
  if (status) return status;
  if (X->size2 != spec.widths[0])
    return NZK_FAIL(GSL_EBADLEN, "image features have %zu columns, the MLP expects %zu",
                    X->size2, spec.widths[0]);
  nzk_model *m = nzk_mlp_alloc(&spec);
  const size_t p = nzk_mlp_n_params(&spec), n = X->size1;
  double *theta = malloc(p * sizeof *theta);
  gsl_rng *r = nzk_stream_alloc(seed, 0x6d6c70); /* "mlp" */
  *J = gsl_matrix_alloc(n, p);
  *f0 = gsl_vector_alloc(n);
  if (!m || !theta || !r || !*J || !*f0) status = NZK_FAIL(GSL_ENOMEM, "out of memory");
  if (!status) status = nzk_mlp_init(&spec, r, theta);
  if (!status) status = nzk_model_jacobian(m, theta, X, *J);
  if (!status)
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)p, 1.0, (*J)->data, (int)(*J)->tda,
                theta, 1, 0.0, (*f0)->data, (int)(*f0)->stride);
  nzk_model_free(m);
  free(theta);
  gsl_rng_free(r);
  return status;
}

static int image_row(const nzk_exp_config *cfg, json_t *doc, const nzk_dataset_info *info,
                     const char *dir)
{
  nzk_pair_opts opts;
  nzk_pair pair;
  nzk_pair_opts_init(&opts);
  opts.data_dir = dir;
  opts.per_class = cfg->quick ? 30 : 100;
  opts.seed = cfg->seed;
  nzk_xp_progress(cfg, "%s: loading", info->name);
  int status = nzk_dataset_load_pair(info->name, NULL, NULL, &opts, &pair);
  if (status) return status;

  gsl_matrix *J = NULL;
  gsl_vector *f0 = NULL;
  status = mlp_jacobian(pair.X, cfg->seed + 5, &J, &f0);
  char id[64], title[256];
  snprintf(id, sizeof id, "image_%s", info->name);
  for (char *s = id; *s; s++)
    if (*s == '-') *s = '_';
  snprintf(title, sizeof title, "%s, %s vs %s, MLP 64-10-5-1 (J0 theta)", info->title,
           pair.class_name[0], pair.class_name[1]);
  nzk_xp_linear set = {.id = id, .title = title, .J = J, .y = pair.y, .f0 = f0,
                       .law = nzk_law_normal(1.0), .eta = 1e-3,
                       .steps = cfg->quick ? 2000 : 16000,
                       .mc_draws = cfg->quick ? 1000 : 10000, .runs = cfg->quick ? 24 : 32,
                       .best_k = 100, .use_exact_law = 1};
  if (!status) status = nzk_xp_linear_run(cfg, &set, doc);
  json_t *exp = status ? NULL : nzk_results_experiment(doc, id);
  if (exp) {
    nzk_exp_set_setting_str(exp, "data", pair.location);
    nzk_exp_set_setting_real(exp, "per class", (double)pair.per_class);
    nzk_exp_set_setting_str(exp, "model", "f = J0 theta, J0 of MLP 64-10-5-1 ReLU at "
                            "PyTorch-default init (the authors' variant)");
  }
  gsl_matrix_free(J);
  gsl_vector_free(f0);
  nzk_pair_free(&pair);
  return status;
}

int nzk_exp_images(const nzk_exp_config *cfg, json_t *doc)
{
  static const char *names[] = {"mnist", "fashion-mnist", "cifar10", "tiny-imagenet"};
  int status = 0;
  for (size_t k = 0; k < sizeof names / sizeof names[0] && !status; k++) {
    const nzk_dataset_info *info = nzk_dataset_find(names[k]);
    nzk_data_search where;
    char path[1024], looked[2048] = "";
    if (!info) return nzk_error_code();
    if (nzk_dataset_locate(names[k], cfg->data_dir, &where, path, sizeof path) != 0) {
      for (size_t j = 0; j < where.n_places; j++)
        snprintf(looked + strlen(looked), sizeof looked - strlen(looked), "%s%s",
                 j ? ", " : "looked in ", where.place[j]);
      snprintf(looked + strlen(looked), sizeof looked - strlen(looked), "; %s",
               info->how_to_get);
      nzk_error_clear();
      status = nzk_results_add_dataset(doc, names[k], 0, looked);
      continue;
    }
    status = nzk_results_add_dataset(doc, names[k], 1, path);
    if (!status) status = image_row(cfg, doc, info, cfg->data_dir);
  }
  return status;
}
