/* bench_data.c: load-and-preprocess throughput of the image data sets
 * (DESIGN.md section 5) on the full Fashion-MNIST training file: 60000
 * images of 28 x 28, read from Debian's gzip IDX files, then turned into
 * r x r features (gray, /255, OpenCV-exact bilinear resize).
 *
 * Stages, each timed separately (median of `repeats` after a warm-up):
 *   load_gzip       nzk_idx_load of the .gz images and labels (inflate and
 *                   validation), the way every run reads the data set
 *   load_raw        the same images from an uncompressed copy in $TMPDIR,
 *                   to show what inflating costs
 *   memcpy          copying the 47 MB of pixels once: the machine's
 *                   reference speed for touching that much memory
 *   preprocess_*    nzk_prep_image on all 60000 images into a 60000 x r*r
 *                   matrix, OpenCV-exact and real-valued weights
 *   total_gzip      load_gzip + preprocess_opencv medians
 * Output: whitespace-separated columns with units in the header, then the
 * peak resident set size; records for the harness (bench.h) with the
 * same-run ratios preprocess/memcpy and load_raw/load_gzip speed.
 *
 * usage: bench_data [--r R (8)] [--repeats N (5)] [--dir FASHION_MNIST_DIR] */
#include "bench.h"
#include "data_images.h"
#include "nzk_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  const char *images, *labels;
  nzk_image_batch batch;   /* kept from the last load */
  nzk_prep_mode mode;
  size_t r;
  double *features;        /* n x r*r */
  unsigned char *copy;     /* memcpy target */
  int failed;
} bench_arg;

static void run_load(void *p)
{
  bench_arg *a = p;
  nzk_image_batch_free(&a->batch);
  if (a->labels) a->failed |= nzk_idx_load(a->images, a->labels, 10, &a->batch);
  else a->failed |= nzk_idx_read_images(a->images, &a->batch);
}

static void run_memcpy(void *p)
{
  bench_arg *a = p;
  memcpy(a->copy, a->batch.pixels, a->batch.n * 784);
}

static void run_prep(void *p)
{
  bench_arg *a = p;
  nzk_prep *w = nzk_prep_alloc(a->r, a->mode);
  const size_t d = a->r * a->r;
  for (size_t i = 0; w && i < a->batch.n; i++) {
    nzk_image img = nzk_image_batch_get(&a->batch, i);
    a->failed |= nzk_prep_image(w, &img, a->features + i * d);
  }
  nzk_prep_free(w);
}

static void row(const char *stage, size_t n, bench_stat s, double bytes)
{
  printf("%-20s %7zu %14.6f %12.6f %12.6f %14.0f %10.1f\n", stage, n, s.median, s.min, s.max,
         (double)n / s.median, bytes / s.median * 1e-6);
}

/* Write the decompressed images to a temporary file for load_raw. */
static int write_raw_copy(const nzk_image_batch *b, char *path, size_t len)
{
  const char *tmp = getenv("TMPDIR");
  snprintf(path, len, "%s/nzk-bench-data-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  int fd = mkstemp(path);
  if (fd < 0) return -1;
  unsigned char h[16] = {0, 0, 8, 3};
  size_t dims[3] = {b->n, b->height, b->width};
  for (int k = 0; k < 3; k++)
    for (int j = 0; j < 4; j++) h[4 + 4 * k + j] = (unsigned char)(dims[k] >> (24 - 8 * j));
  size_t m = b->n * b->height * b->width;
  int ok = write(fd, h, 16) == 16 && write(fd, b->pixels, m) == (ssize_t)m;
  close(fd);
  return ok ? 0 : -1;
}

static int parse(int argc, char **argv, size_t *r, int *repeats, const char **dir)
{
  for (int i = 1; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(argv[i], "--r") == 0 && v) *r = (size_t)atol(v), i++;
    else if (strcmp(argv[i], "--repeats") == 0 && v) *repeats = atoi(v), i++;
    else if (strcmp(argv[i], "--dir") == 0 && v) *dir = v, i++;
    else {
      fprintf(stderr, "usage: bench_data [--r R] [--repeats N] [--dir FASHION_MNIST_DIR]\n");
      return 2;
    }
  }
  if (*r < 1 || *r > 256 || *repeats < 1)
    return fprintf(stderr, "bench_data: need 1 <= r <= 256 and repeats >= 1\n"), 2;
  return 0;
}

/* Records for the harness: rates, peak memory and the two ratios. */
static void emit(const char *params, size_t n, bench_stat load, bench_stat raw,
                 bench_stat copy, bench_stat prep)
{
  bench_record("data", "load_gzip_rate", "images/s", bench_rate(load, (double)n), params);
  bench_record("data", "preprocess_rate", "images/s", bench_rate(prep, (double)n), params);
  bench_stat total = {load.median + prep.median, load.min + prep.min, load.max + prep.max,
                      load.repeats};
  bench_record("data", "total_rate", "images/s", bench_rate(total, (double)n), params);
  bench_record("data", "peak_rss", "bytes", bench_exact(bench_peak_rss_bytes()), params);
  bench_record_ratio("data", "preprocess_vs_memcpy", bench_ratio(copy, prep),
                     BENCH_HIGHER_IS_BETTER, params);
  if (raw.repeats)
    bench_record_ratio("data", "load_gzip_vs_raw", bench_ratio(raw, load),
                       BENCH_HIGHER_IS_BETTER, params);
}

int main(int argc, char **argv)
{
  gsl_set_error_handler_off();
  size_t r = 8;
  int repeats = 5;
  const char *dir = "/usr/share/datasets/fashion-mnist";
  if (parse(argc, argv, &r, &repeats, &dir)) return 2;
  char images[1024], labels[1024], raw[1024], params[64];
  snprintf(images, sizeof images, "%s/train-images-idx3-ubyte.gz", dir);
  snprintf(labels, sizeof labels, "%s/train-labels-idx1-ubyte.gz", dir);
  snprintf(params, sizeof params, "fashion-mnist train r=%zu", r);
  if (access(images, R_OK) != 0 || access(labels, R_OK) != 0) {
    fprintf(stderr, "bench_data: skipped: no Fashion-MNIST training files in %s\n", dir);
    return BENCH_EXIT_SKIP;
  }

  bench_arg a = {.images = images, .labels = labels, .r = r, .mode = NZK_PREP_OPENCV};
  bench_stat load = bench_time(run_load, &a, repeats), raw_t = {0, 0, 0, 0};
  if (a.failed) {
    fprintf(stderr, "bench_data: %s\n", nzk_error_message());
    return 1;
  }
  const size_t n = a.batch.n, bytes = n * a.batch.height * a.batch.width;
  a.features = malloc(n * r * r * sizeof *a.features);
  a.copy = malloc(bytes);

  printf("# bench_data: %s, %zu images %zu x %zu -> %zu x %zu, %d repeats\n", images, n,
         a.batch.height, a.batch.width, r, r, repeats);
  printf("%-20s %7s %14s %12s %12s %14s %10s\n", "# stage", "images", "time_s_median",
         "time_s_min", "time_s_max", "images_per_s", "MB_per_s");
  row("load_gzip", n, load, (double)bytes);
  if (write_raw_copy(&a.batch, raw, sizeof raw) == 0) {
    bench_arg b = {.images = raw};
    raw_t = bench_time(run_load, &b, repeats);
    row("load_raw", n, raw_t, (double)bytes);
    nzk_image_batch_free(&b.batch);
    unlink(raw);
  }
  bench_stat copy = bench_time(run_memcpy, &a, repeats);
  row("memcpy", n, copy, (double)bytes);
  bench_stat prep = bench_time(run_prep, &a, repeats);
  row("preprocess_opencv", n, prep, (double)bytes);
  a.mode = NZK_PREP_EXACT;
  row("preprocess_exact", n, bench_time(run_prep, &a, repeats), (double)bytes);
  bench_stat total = {load.median + prep.median, load.min + prep.min, load.max + prep.max, 0};
  row("total_gzip", n, total, (double)bytes);
  printf("# preprocess / load_gzip time ratio: %.3f; memcpy / preprocess time ratio: %.4f\n",
         prep.median / load.median, copy.median / prep.median);
  printf("# peak_rss_bytes %.0f (%.1f MB; pixels %.1f MB, features %.1f MB)\n",
         bench_peak_rss_bytes(), bench_peak_rss_bytes() * 1e-6, (double)bytes * 1e-6,
         (double)(n * r * r * sizeof(double)) * 1e-6);
  emit(params, n, load, raw_t, copy, prep);

  nzk_image_batch_free(&a.batch);
  free(a.features);
  free(a.copy);
  return a.failed;
}
