/* data_locate.c: the known image data sets, where they are looked for,
 * opening one by name, and the two-class training set of DESIGN.md
 * section 5 (draw with replacement, label 0/1, shuffle, preprocess).
 * See data_images.h for the search order and the sampling contract. */
#include "data_images_int.h"
#include "nzk_error.h"
#include "rng_stream.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <gsl/gsl_randist.h>

#ifndef NZK_SOURCE_DIR
#define NZK_SOURCE_DIR "."
#endif
#define NZK_DEBIAN_FASHION_DIR "/usr/share/datasets/fashion-mnist"

static const nzk_dataset_info dataset_table[] = {
  {"mnist", "MNIST handwritten digits (IDX)", 10, "3", "5",
   "scripts/fetch-data mnist  (downloads the IDX files into data/mnist)"},
  {"fashion-mnist", "Fashion-MNIST (IDX)", 10, "3", "5",
   "apt-get install dataset-fashion-mnist  (Debian; installs " NZK_DEBIAN_FASHION_DIR ")"},
  {"cifar10", "CIFAR-10, binary version", 10, "2", "9",
   "scripts/fetch-data cifar10  (unpacks data/cifar-10-batches-bin)"},
  {"tiny-imagenet", "Tiny ImageNet 200 (JPEG)", 200, "0", "1",
   "scripts/fetch-data tiny-imagenet  (unpacks data/tiny-imagenet-200)"},
  {NULL, NULL, 0, NULL, NULL, NULL},
};

/* Folder names under a search root, and the files that mark a folder as
 * holding the data set (any one suffices).  In a folder not named for the
 * data set (--data DIR itself) only the first n_direct markers count: a
 * bare train/ there says nothing about Tiny ImageNet. */
typedef struct {
  const char *folders[3];
  const char *markers[5];
  size_t n_direct;
} dataset_layout;

static const dataset_layout layouts[] = {
  {{"mnist", NULL}, {"train-images-idx3-ubyte", "train-images-idx3-ubyte.gz",
                     "t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz", NULL}, 4},
  {{"fashion-mnist", NULL}, {"train-images-idx3-ubyte", "train-images-idx3-ubyte.gz",
                             "t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz", NULL}, 4},
  {{"cifar-10-batches-bin", "cifar10", NULL}, {"data_batch_1.bin", "test_batch.bin", NULL}, 2},
  {{"tiny-imagenet-200", "tiny-imagenet", NULL}, {"wnids.txt", "train", NULL}, 1},
};

const nzk_dataset_info *nzk_dataset_list(void) { return dataset_table; }

const nzk_dataset_info *nzk_dataset_find(const char *name)
{
  for (const nzk_dataset_info *d = dataset_table; d->name; d++)
    if (name && strcmp(d->name, name) == 0) return d;
  NZK_FAIL(GSL_EINVAL, "unknown data set '%s' (known: mnist, fashion-mnist, cifar10, "
           "tiny-imagenet)", name ? name : "(null)");
  return NULL;
}

/* ---- small path helpers (data_images_int.h) ----------------------------- */

int nzk_data_path(char *buf, size_t len, const char *dir, const char *name)
{
  int n = snprintf(buf, len, "%s%s%s", dir, *dir && dir[strlen(dir) - 1] != '/' ? "/" : "",
                   name);
  if (n < 0 || (size_t)n >= len) return NZK_FAIL(GSL_EFAILED, "%s/%s: path too long", dir, name);
  return 0;
}

int nzk_data_exists(const char *path)
{
  struct stat sb;
  return stat(path, &sb) == 0 && (S_ISREG(sb.st_mode) || S_ISDIR(sb.st_mode));
}

int nzk_data_find_file(char *buf, size_t len, const char *dir, const char *name)
{
  char gz[256];
  snprintf(gz, sizeof gz, "%s.gz", name);
  int rc = nzk_data_path(buf, len, dir, name);
  if (rc || nzk_data_exists(buf)) return rc;
  if ((rc = nzk_data_path(buf, len, dir, gz)) || nzk_data_exists(buf)) return rc;
  return NZK_FAIL(GSL_EFAILED, "%s/%s: no such file (nor %s)", dir, name, gz);
}

/* ---- search ---------------------------------------------------------------- */

static void add_place(nzk_data_search *res, const char *origin, const char *dir,
                      const char *folder)
{
  if (res->n_places >= NZK_DATA_MAX_PLACES) return;
  char *p = res->place[res->n_places];
  if (folder) {
    if (nzk_data_path(p, sizeof res->place[0], dir, folder)) return;
  } else {
    snprintf(p, sizeof res->place[0], "%s", dir);
  }
  snprintf(res->origin[res->n_places], sizeof res->origin[0], "%s", origin);
  res->direct[res->n_places] = folder == NULL;
  res->n_places++;
}

static int holds_dataset(const char *dir, const dataset_layout *lay, int direct)
{
  char path[1200];
  for (size_t k = 0; lay->markers[k] && (!direct || k < lay->n_direct); k++)
    if (!nzk_data_path(path, sizeof path, dir, lay->markers[k]) && nzk_data_exists(path))
      return 1;
  return 0;
}

/* The list of places for data set number `id`, in search order. */
static void search_places(size_t id, const char *data_dir, nzk_data_search *res)
{
  const dataset_layout *lay = &layouts[id];
  const char *env = getenv("NZK_DATA");
  char repo[1024];

  memset(res, 0, sizeof *res);
  res->found = -1;
  if (data_dir && *data_dir) {
    for (size_t k = 0; lay->folders[k]; k++) add_place(res, "--data", data_dir, lay->folders[k]);
    add_place(res, "--data", data_dir, NULL);
  }
  if (env && *env) {
    for (size_t k = 0; lay->folders[k]; k++) add_place(res, "$NZK_DATA", env, lay->folders[k]);
    add_place(res, "$NZK_DATA", env, NULL);
  }
  snprintf(repo, sizeof repo, "%s/data", NZK_SOURCE_DIR);
  for (size_t k = 0; lay->folders[k]; k++) add_place(res, "repository data/", repo,
                                                     lay->folders[k]);
  if (strcmp(dataset_table[id].name, "fashion-mnist") == 0)
    add_place(res, "Debian package", NZK_DEBIAN_FASHION_DIR, NULL);
}

static int locate(const char *name, const char *data_dir, nzk_data_search *res, char *path,
                  size_t path_len, int quiet)
{
  static char warned[sizeof dataset_table / sizeof dataset_table[0]];
  const nzk_dataset_info *info = nzk_dataset_find(name);
  if (!info) {
    memset(res, 0, sizeof *res);
    res->found = -1;
    return GSL_EINVAL;
  }
  size_t id = (size_t)(info - dataset_table);
  search_places(id, data_dir, res);
  for (size_t k = 0; k < res->n_places; k++)
    if (holds_dataset(res->place[k], &layouts[id], res->direct[k])) {
      res->found = (int)k;
      snprintf(path, path_len, "%s", res->place[k]);
      if (!quiet && data_dir && *data_dir && strcmp(res->origin[k], "--data") != 0 &&
          !warned[id]) {
        /* once per data set and process: a run locates a set several times */
        warned[id] = 1;
        nzk_log(NZK_LOG_WARN, "%s is not under --data %s; using %s", name, data_dir,
                res->place[k]);
      }
      return 0;
    }

  char list[2048] = "";
  for (size_t k = 0; k < res->n_places; k++) {
    size_t used = strlen(list);
    snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "", res->place[k]);
  }
  return NZK_FAIL(GSL_EFAILED, "data set %s not found (looked in %s); to get it: %s", name, list,
                  info->how_to_get);
}

int nzk_dataset_locate(const char *name, const char *data_dir, nzk_data_search *res,
                       char *path, size_t path_len)
{
  return locate(name, data_dir, res, path, path_len, 0);
}

const char *nzk_dataset_mnist_like(const char *data_dir)
{
  nzk_data_search res;
  char path[1024];
  int rc = locate("mnist", data_dir, &res, path, sizeof path, 1);
  nzk_error_clear();
  return rc == 0 ? "mnist" : "fashion-mnist";
}

/* ---- nzk_imageset ------------------------------------------------------------ */

int nzk_imageset_reserve(nzk_imageset *s, size_t len)
{
  if (len <= s->buf_len) return 0;
  unsigned char *b = realloc(s->buf, len);
  if (!b) return NZK_FAIL(GSL_ENOMEM, "out of memory (%zu bytes)", len);
  s->buf = b;
  s->buf_len = len;
  return 0;
}

int nzk_imageset_set_class_names(nzk_imageset *s, const char *const *names, size_t n)
{
  s->class_names = calloc(n, sizeof *s->class_names);
  s->members = calloc(n, sizeof *s->members);
  s->member_count = calloc(n, sizeof *s->member_count);
  if (!s->class_names || !s->members || !s->member_count)
    return NZK_FAIL(GSL_ENOMEM, "out of memory");
  s->n_classes = n;
  for (size_t k = 0; k < n; k++)
    if (!(s->class_names[k] = strdup(names[k]))) return NZK_FAIL(GSL_ENOMEM, "out of memory");
  return 0;
}

int nzk_imageset_open(const char *name, const char *dir, const char *split, nzk_imageset **out)
{
  const nzk_dataset_info *info = nzk_dataset_find(name);
  if (!info) return GSL_EINVAL;
  if (!split) split = "train";
  if (strcmp(split, "train") != 0 && strcmp(split, "test") != 0)
    return NZK_FAIL(GSL_EINVAL, "split must be 'train' or 'test', got '%s'", split);
  nzk_imageset *s = calloc(1, sizeof *s);
  if (!s) return NZK_FAIL(GSL_ENOMEM, "out of memory");
  s->info = info;
  snprintf(s->dir, sizeof s->dir, "%s", dir);
  snprintf(s->split, sizeof s->split, "%s", split);

  int rc;
  if (strcmp(name, "cifar10") == 0) rc = nzk_imageset_open_cifar(s);
  else if (strcmp(name, "tiny-imagenet") == 0) rc = nzk_imageset_open_tiny(s);
  else rc = nzk_imageset_open_idx(s);
  if (rc) {
    nzk_imageset_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

void nzk_imageset_free(nzk_imageset *s)
{
  if (!s) return;
  if (s->close) s->close(s);
  for (size_t k = 0; k < s->n_classes; k++) {
    if (s->class_names) free(s->class_names[k]);
    if (s->members) free(s->members[k]);
  }
  free(s->class_names);
  free(s->members);
  free(s->member_count);
  free(s->labels);
  free(s->buf);
  free(s);
}

size_t nzk_imageset_size(const nzk_imageset *s) { return s->n; }
size_t nzk_imageset_n_classes(const nzk_imageset *s) { return s->n_classes; }
const char *nzk_imageset_class_name(const nzk_imageset *s, size_t k)
{
  return k < s->n_classes ? s->class_names[k] : "?";
}

/* A decimal index below n_classes, or the class name. */
int nzk_imageset_class_lookup(const nzk_imageset *s, const char *spec, size_t *k)
{
  char *end;
  if (spec && isdigit((unsigned char)*spec)) {
    errno = 0;
    unsigned long v = strtoul(spec, &end, 10);
    if (!*end && errno == 0 && v < s->n_classes) {
      *k = (size_t)v;
      return 0;
    }
  }
  for (size_t j = 0; spec && j < s->n_classes; j++)
    if (strcasecmp(spec, s->class_names[j]) == 0) {
      *k = j;
      return 0;
    }
  return NZK_FAIL(GSL_EINVAL, "%s has no class '%s' (give 0..%zu or a name such as '%s' or "
                  "'%s')", s->info->name, spec ? spec : "(null)", s->n_classes - 1,
                  s->class_names[0], s->class_names[s->n_classes - 1]);
}

int nzk_imageset_members(nzk_imageset *s, size_t k, const size_t **idx, size_t *count)
{
  if (k >= s->n_classes)
    return NZK_FAIL(GSL_EINVAL, "class %zu out of range 0..%zu", k, s->n_classes - 1);
  if (!s->members[k]) {
    size_t m = 0;
    for (size_t i = 0; i < s->n; i++) m += s->labels[i] == k;
    if (m == 0) {
      char where[1400];
      s->class_where(s, k, where, sizeof where);
      return NZK_FAIL(GSL_EFAILED, "class '%s' (%zu) of %s has no images: %s",
                      s->class_names[k], k, s->info->name, where);
    }
    if (!(s->members[k] = malloc(m * sizeof **s->members)))
      return NZK_FAIL(GSL_ENOMEM, "out of memory");
    for (size_t i = 0, j = 0; i < s->n; i++)
      if (s->labels[i] == k) s->members[k][j++] = i;
    s->member_count[k] = m;
  }
  *idx = s->members[k];
  *count = s->member_count[k];
  return 0;
}

int nzk_imageset_fetch(nzk_imageset *s, size_t index, nzk_image *img)
{
  if (index >= s->n)
    return NZK_FAIL(GSL_EINVAL, "image %zu out of range (%s has %zu)", index, s->info->name,
                    s->n);
  return s->fetch(s, index, img);
}

void nzk_imageset_item_name(const nzk_imageset *s, size_t index, char *buf, size_t len)
{
  if (index >= s->n) snprintf(buf, len, "?");
  else s->item_name(s, index, buf, len);
}

/* ---- the two-class set ------------------------------------------------------ */

void nzk_pair_opts_init(nzk_pair_opts *o)
{
  *o = (nzk_pair_opts){.data_dir = NULL, .split = "train", .per_class = 100, .resolution = 8,
                       .seed = 0, .with_replacement = 1, .prep = NZK_PREP_OPENCV};
}

void nzk_pair_free(nzk_pair *p)
{
  if (!p) return;
  gsl_matrix_free(p->X);
  gsl_vector_free(p->y);
  if (p->item)
    for (size_t i = 0; i < p->n; i++) free(p->item[i]);
  free(p->item);
  free(p->index);
  memset(p, 0, sizeof *p);
}

/* Draw per_class positions of each class (class a then b) into pick[]
 * (pick[i] indexes class i / per_class's member list), then shuffle the
 * row order into perm[]. */
static int draw_rows(const nzk_pair_opts *o, const size_t count[2], size_t *pick, size_t *perm)
{
  const size_t m = o->per_class, n = 2 * m;
  gsl_rng *r = nzk_stream_alloc(o->seed, NZK_DATA_STREAM_CHUNK);
  if (!r) return nzk_error_code();
  for (size_t c = 0; c < 2; c++) {
    if (o->with_replacement) {
      for (size_t j = 0; j < m; j++) pick[c * m + j] = gsl_rng_uniform_int(r, count[c]);
    } else {
      size_t *all = malloc(count[c] * sizeof *all);
      if (!all) {
        gsl_rng_free(r);
        return NZK_FAIL(GSL_ENOMEM, "out of memory");
      }
      for (size_t j = 0; j < count[c]; j++) all[j] = j;
      gsl_ran_choose(r, pick + c * m, m, all, count[c], sizeof *all);
      free(all);
    }
  }
  for (size_t i = 0; i < n; i++) perm[i] = i;
  gsl_ran_shuffle(r, perm, n, sizeof *perm);
  gsl_rng_free(r);
  return 0;
}

static int check_pair_opts(const nzk_pair_opts *o)
{
  if (o->per_class == 0 || o->per_class > 1000000)
    return NZK_FAIL(GSL_EINVAL, "images per class must be 1..1000000, got %zu", o->per_class);
  if (o->resolution == 0 || o->resolution > 256)
    return NZK_FAIL(GSL_EINVAL, "resolution must be 1..256, got %zu", o->resolution);
  return 0;
}

/* Resolve both classes and their member lists; fills the pair's class
 * fields.  Without replacement each class must hold per_class images. */
static int pair_classes(nzk_imageset *s, const char *spec[2], const nzk_pair_opts *o,
                        nzk_pair *p, const size_t *members[2])
{
  int rc;
  for (int c = 0; c < 2; c++)
    if ((rc = nzk_imageset_class_lookup(s, spec[c], &p->class_index[c]))) return rc;
  if (p->class_index[0] == p->class_index[1])
    return NZK_FAIL(GSL_EINVAL, "the two classes must differ (both are '%s')",
                    s->class_names[p->class_index[0]]);
  for (int c = 0; c < 2; c++) {
    if ((rc = nzk_imageset_members(s, p->class_index[c], &members[c], &p->class_size[c])))
      return rc;
    snprintf(p->class_name[c], sizeof p->class_name[c], "%s", s->class_names[p->class_index[c]]);
    if (!o->with_replacement && p->class_size[c] < o->per_class)
      return NZK_FAIL(GSL_EFAILED, "class '%s' of %s has %zu images, fewer than the %zu asked "
                      "(drawing without replacement; %s)", p->class_name[c], s->info->name,
                      p->class_size[c], o->per_class, s->dir);
  }
  return 0;
}

/* Fetch, preprocess and record the n drawn rows in shuffled order. */
static int pair_fill(nzk_imageset *s, const nzk_pair_opts *o, const size_t *members[2],
                     const size_t *pick, const size_t *perm, nzk_pair *p)
{
  nzk_prep *w = nzk_prep_alloc(o->resolution, o->prep);
  char name[1200];
  int rc = w ? 0 : nzk_error_code();
  for (size_t i = 0; !rc && i < p->n; i++) {
    size_t src = perm[i], c = src / o->per_class;
    size_t index = members[c][pick[src]];
    nzk_image img;
    if ((rc = nzk_imageset_fetch(s, index, &img))) break;
    if ((rc = nzk_prep_image(w, &img, gsl_matrix_ptr(p->X, i, 0)))) break;
    gsl_vector_set(p->y, i, (double)c);
    p->index[i] = index;
    nzk_imageset_item_name(s, index, name, sizeof name);
    if (!(p->item[i] = strdup(name))) rc = NZK_FAIL(GSL_ENOMEM, "out of memory");
  }
  nzk_prep_free(w);
  return rc;
}

static int pair_alloc(nzk_pair *p, size_t n, size_t d)
{
  p->n = n;
  p->X = gsl_matrix_alloc(n, d);
  p->y = gsl_vector_alloc(n);
  p->index = calloc(n, sizeof *p->index);
  p->item = calloc(n, sizeof *p->item);
  if (!p->X || !p->y || !p->index || !p->item)
    return NZK_FAIL(GSL_ENOMEM, "out of memory (%zu x %zu features)", n, d);
  return 0;
}

int nzk_dataset_load_pair(const char *name, const char *class_a, const char *class_b,
                          const nzk_pair_opts *opts, nzk_pair *out)
{
  nzk_pair_opts o;
  nzk_data_search res;
  nzk_imageset *s = NULL;
  const size_t *members[2];
  size_t *pick = NULL, *perm = NULL;

  memset(out, 0, sizeof *out);
  if (opts) o = *opts;
  else nzk_pair_opts_init(&o);
  if (!o.split) o.split = "train";
  const nzk_dataset_info *info = nzk_dataset_find(name);
  if (!info) return GSL_EINVAL;
  const char *spec[2] = {class_a ? class_a : info->class_a, class_b ? class_b : info->class_b};
  int rc = check_pair_opts(&o);
  if (!rc) rc = nzk_dataset_locate(name, o.data_dir, &res, out->location, sizeof out->location);
  if (!rc) rc = nzk_imageset_open(name, out->location, o.split, &s);
  if (!rc) rc = pair_classes(s, spec, &o, out, members);
  if (!rc) rc = pair_alloc(out, 2 * o.per_class, o.resolution * o.resolution);
  if (!rc) {
    pick = malloc(out->n * sizeof *pick);
    perm = malloc(out->n * sizeof *perm);
    rc = pick && perm ? draw_rows(&o, out->class_size, pick, perm)
                      : NZK_FAIL(GSL_ENOMEM, "out of memory");
  }
  if (!rc) rc = pair_fill(s, &o, members, pick, perm, out);
  free(pick);
  free(perm);
  nzk_imageset_free(s);
  if (rc) {
    nzk_pair_free(out);
    return rc;
  }
  snprintf(out->dataset, sizeof out->dataset, "%s", name);
  snprintf(out->split, sizeof out->split, "%s", o.split);
  out->per_class = o.per_class;
  out->resolution = o.resolution;
  out->seed = o.seed;
  out->with_replacement = o.with_replacement;
  out->prep = o.prep;
  return 0;
}

/* ---- cheap descriptions for `nzk datasets` --------------------------------- */

static void append(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t len, const char *fmt, ...)
{
  size_t used = strlen(buf);
  va_list ap;
  if (used + 1 >= len) return;
  va_start(ap, fmt);
  vsnprintf(buf + used, len - used, fmt, ap);
  va_end(ap);
}

static int describe_idx(const char *dir, char *buf, size_t len)
{
  static const char *const prefix[2] = {"train", "t10k"};
  for (int k = 0; k < 2; k++) {
    char name[64], path[1200];
    size_t ndim, dims[3];
    snprintf(name, sizeof name, "%s-images-idx3-ubyte", prefix[k]);
    append(buf, len, "%s", k ? ", test " : "train ");
    if (nzk_data_find_file(path, sizeof path, dir, name)) {
      nzk_error_clear();
      append(buf, len, "missing");
      continue;
    }
    int rc = nzk_idx_read_header(path, &ndim, dims);
    if (rc) return rc;
    if (ndim != 3) return NZK_FAIL(GSL_EFAILED, "%s: %zu dimensions, not images", path, ndim);
    append(buf, len, "%zu images %zu x %zu", dims[0], dims[1], dims[2]);
  }
  return 0;
}

static int describe_cifar(const char *dir, char *buf, size_t len)
{
  size_t train = 0, files = 0, test = 0;
  for (int k = 0; k <= 5; k++) {
    char name[64], path[1200];
    struct stat sb;
    if (k < 5) snprintf(name, sizeof name, "data_batch_%d.bin", k + 1);
    else snprintf(name, sizeof name, "test_batch.bin");
    if (nzk_data_path(path, sizeof path, dir, name) || stat(path, &sb) != 0) continue;
    if (sb.st_size % 3073 != 0)
      return NZK_FAIL(GSL_EFAILED, "%s: %lld bytes is not a whole number of 3073-byte records",
                      path, (long long)sb.st_size);
    if (k < 5) train += (size_t)sb.st_size / 3073, files++;
    else test = (size_t)sb.st_size / 3073;
  }
  append(buf, len, "train %zu images in %zu of 5 batches, test %zu images", train, files, test);
  return 0;
}

static int describe_tiny(const char *dir, char *buf, size_t len)
{
  char path[1200], line[256];
  size_t n = 0;
  int rc = nzk_data_path(path, sizeof path, dir, "wnids.txt");
  if (rc) return rc;
  errno = 0;
  FILE *f = fopen(path, "r");
  if (!f) return NZK_FAIL(GSL_EFAILED, "%s: cannot open: %s", path, strerror(errno));
  while (fgets(line, sizeof line, f))
    if (!isspace((unsigned char)line[0])) n++;
  fclose(f);
  append(buf, len, "%zu classes in wnids.txt", n);
  static const char *const parts[2] = {"train", "val/val_annotations.txt"};
  for (int k = 0; k < 2; k++) {
    if ((rc = nzk_data_path(path, sizeof path, dir, parts[k]))) return rc;
    append(buf, len, ", %s %s", parts[k], nzk_data_exists(path) ? "present" : "missing");
  }
  return 0;
}

int nzk_dataset_describe(const char *name, const char *dir, char *buf, size_t len)
{
  if (!nzk_dataset_find(name)) return GSL_EINVAL;
  buf[0] = '\0';
  if (strcmp(name, "cifar10") == 0) return describe_cifar(dir, buf, len);
  if (strcmp(name, "tiny-imagenet") == 0) return describe_tiny(dir, buf, len);
  return describe_idx(dir, buf, len);
}
