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
 * peak resident set size of the process.
 *
 * usage: bench_data [r (8)] [repeats (5)] [fashion-mnist folder] */
#include "bench.h"
#include "data_images.h"
#include "nzk_error.h"

#include <stdio.h>
#include <stdlib.h>
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

int main(int argc, char **argv)
{
  gsl_set_error_handler_off();
  size_t r = argc > 1 ? (size_t)atol(argv[1]) : 8;
  int repeats = argc > 2 ? atoi(argv[2]) : 5;
  const char *dir = argc > 3 ? argv[3] : "/usr/share/datasets/fashion-mnist";
  char images[1024], labels[1024], raw[1024];
  snprintf(images, sizeof images, "%s/train-images-idx3-ubyte.gz", dir);
  snprintf(labels, sizeof labels, "%s/train-labels-idx1-ubyte.gz", dir);

  bench_arg a = {.images = images, .labels = labels, .r = r, .mode = NZK_PREP_OPENCV};
  bench_stat load = bench_time(run_load, &a, repeats);
  if (a.failed || r == 0) {
    fprintf(stderr, "bench_data: %s\n", a.failed ? nzk_error_message() : "r must be >= 1");
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
    row("load_raw", n, bench_time(run_load, &b, repeats), (double)bytes);
    nzk_image_batch_free(&b.batch);
    unlink(raw);
  }
  row("memcpy", n, bench_time(run_memcpy, &a, repeats), (double)bytes);
  bench_stat prep = bench_time(run_prep, &a, repeats);
  row("preprocess_opencv", n, prep, (double)bytes);
  a.mode = NZK_PREP_EXACT;
  row("preprocess_exact", n, bench_time(run_prep, &a, repeats), (double)bytes);
  bench_stat total = {load.median + prep.median, load.min + prep.min, load.max + prep.max, 0};
  row("total_gzip", n, total, (double)bytes);
  printf("# preprocess / load_gzip time ratio: %.3f\n", prep.median / load.median);
  printf("# peak_rss_bytes %.0f (%.1f MB; pixels %.1f MB, features %.1f MB)\n",
         bench_peak_rss_bytes(), bench_peak_rss_bytes() * 1e-6, (double)bytes * 1e-6,
         (double)(n * r * r * sizeof(double)) * 1e-6);

  nzk_image_batch_free(&a.batch);
  free(a.features);
  free(a.copy);
  return a.failed;
}
