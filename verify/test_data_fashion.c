/* test_data_fashion.c: the readers on the real Fashion-MNIST of Debian's
 * dataset-fashion-mnist package (the default real data set, DESIGN.md
 * section 5).  Prints SKIP and passes when the package is not installed.
 *
 * Expected figures are published facts about the data set, not values
 * read from a run: 60000 training and 10000 test images of 28 x 28, ten
 * classes of 6000 (train) and 1000 (test) images each (Zalando's README),
 * the first training image is an ankle boot (label 9, the picture every
 * Fashion-MNIST tutorial starts with), and the pixel mean and standard
 * deviation over the training set are 0.2860 and 0.3530 after /255 (the
 * normalisation constants quoted with the data set, 4 decimals). */
#include "data_images.h"
#include "nzk_error.h"
#include "vtest.h"

#include <math.h>
#include <stdio.h>
#include <sys/stat.h>

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static void check_split(const char *split, size_t n_want, size_t per_class_want)
{
  nzk_imageset *s;
  int rc = nzk_imageset_open("fashion-mnist", FASHION_DIR, split, &s);
  vt_ok(rc == 0 && nzk_imageset_size(s) == n_want, "%s: %zu images%s%s", split, n_want,
        rc ? ": " : "", rc ? nzk_error_message() : "");
  if (rc) return;
  size_t bad = 0;
  for (size_t k = 0; k < 10; k++) {
    const size_t *idx;
    size_t n;
    bad += nzk_imageset_members(s, k, &idx, &n) != 0 || n != per_class_want;
  }
  vt_ok(bad == 0, "%s: every class has %zu images", split, per_class_want);
  nzk_imageset_free(s);
}

/* Pixel mean and standard deviation over the training set, /255. */
static void check_train_pixels(void)
{
  nzk_image_batch b;
  int rc = nzk_idx_load(FASHION_DIR "/train-images-idx3-ubyte.gz",
                        FASHION_DIR "/train-labels-idx1-ubyte.gz", 10, &b);
  vt_ok(rc == 0 && b.height == 28 && b.width == 28, "train images are 28 x 28");
  if (rc) return;
  vt_ok(b.labels[0] == 9, "first training image is an ankle boot (label %u)", b.labels[0]);
  double sum = 0, sum2 = 0;
  const size_t m = b.n * 784;
  for (size_t k = 0; k < m; k++) {
    double v = b.pixels[k] / 255.0;
    sum += v;
    sum2 += v * v;
  }
  double mean = sum / (double)m, sd = sqrt(sum2 / (double)m - mean * mean);
  /* published to 4 decimals: within half a unit of the 4th */
  vt_abs(mean, 0.2860, 5e-5, "training pixel mean / 255");
  vt_abs(sd, 0.3530, 5e-5, "training pixel standard deviation / 255");
  nzk_image_batch_free(&b);
}

/* The two-class set the main job uses when MNIST is absent. */
static void check_pair(void)
{
  nzk_pair_opts o;
  nzk_pair p;
  nzk_pair_opts_init(&o);
  o.seed = vt_seed(5);
  o.data_dir = FASHION_DIR;
  int rc = nzk_dataset_load_pair("fashion-mnist", NULL, NULL, &o, &p);
  vt_ok(rc == 0, "fashion-mnist Dress vs Sandal, 100 each%s%s", rc ? ": " : "",
        rc ? nzk_error_message() : "");
  if (rc) return;
  double lo = 1, hi = 0, ones = 0;
  for (size_t i = 0; i < p.n; i++) {
    ones += gsl_vector_get(p.y, i);
    for (size_t j = 0; j < 64; j++) {
      lo = vt_nan_min(lo, gsl_matrix_get(p.X, i, j));
      hi = vt_nan_max(hi, gsl_matrix_get(p.X, i, j));
    }
  }
  vt_ok(p.X->size1 == 200 && p.X->size2 == 64 && ones == 100 && lo >= 0 && hi <= 1 && hi > 0.5,
        "200 x 64 features in [%g, %g], 100 labelled 1", lo, hi);
  vt_ok(p.class_size[0] == 6000 && p.class_size[1] == 6000, "drawn from 6000 images per class");
  nzk_pair_free(&p);
}

int main(void)
{
  struct stat sb;
  if (stat(FASHION_DIR "/train-images-idx3-ubyte.gz", &sb) != 0) {
    vt_skip("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)");
    return vt_finish();
  }
  check_split("train", 60000, 6000);
  check_split("test", 10000, 1000);
  check_train_pixels();
  check_pair();
  return vt_finish();
}
