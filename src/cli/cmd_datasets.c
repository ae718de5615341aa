/* cmd_datasets.c: `nzk datasets`, the image data sets of DESIGN.md
 * section 5.  Without --load it lists, for each known data set, where it
 * was found, every place looked at, and how to get a missing one; --check
 * also opens each found split and checks every label and file.  With
 * --load it draws and preprocesses a two-class set (the library's
 * nzk_dataset_load_pair) and writes it as PREFIX.csv and PREFIX.json. */
#include "cli.h"
#include "data_images.h"
#include "nzk_error.h"
#include "report_io.h"
#include "rng_stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const CMD = "datasets";

static void usage(FILE *out)
{
  fprintf(out,
    "usage: nzk datasets [--data DIR] [--check]\n"
    "       nzk datasets --load NAME --out PREFIX [--classes A,B] [--per-class N]\n"
    "                    [--resolution R] [--seed S] [--split train|test]\n"
    "                    [--prep opencv|exact] [--without-replacement] [--data DIR]\n\n"
    "Lists the image data sets (mnist, fashion-mnist, cifar10, tiny-imagenet): where\n"
    "each was found, where it was looked for (--data DIR, $NZK_DATA, the repository's\n"
    "data/, Debian's /usr/share/datasets/fashion-mnist) and how to get a missing one.\n"
    "--check opens every found split and checks all labels and file sizes.\n\n"
    "--load draws N images (default 100) of each of two classes (default: the paper's\n"
    "pair) with replacement, preprocesses them (gray, /255, bilinear resize to R x R,\n"
    "default 8; --prep opencv reproduces OpenCV to the bit, exact uses real weights),\n"
    "labels them 0 and 1, shuffles (seed S, default 0; NZK_SEED overrides) and writes\n"
    "PREFIX.csv (columns y, index, x0..x{R*R-1}) and PREFIX.json (where every row came\n"
    "from).  Classes are indices or names (a wnid for tiny-imagenet).\n");
}

typedef struct {
  const char *data_dir, *load, *out, *classes, *split, *prep;
  size_t per_class, resolution;
  uint64_t seed;
  int check, without_replacement;
} ds_args;

static int parse_args(int argc, char **argv, ds_args *a)
{
  *a = (ds_args){.per_class = 100, .resolution = 8, .split = "train", .prep = "opencv"};
  a->seed = nzk_stream_default_seed(0);
  for (int i = 1; i < argc; i++) {
    const char *v = NULL;
    if (strcmp(argv[i], "--check") == 0) a->check = 1;
    else if (strcmp(argv[i], "--without-replacement") == 0) a->without_replacement = 1;
    else if ((v = cli_opt_value(CMD, argc, argv, &i, "--data"))) a->data_dir = v;
    else if ((v = cli_opt_value(CMD, argc, argv, &i, "--load"))) a->load = v;
    else if ((v = cli_opt_value(CMD, argc, argv, &i, "--out"))) a->out = v;
    else if ((v = cli_opt_value(CMD, argc, argv, &i, "--classes"))) a->classes = v;
    else if ((v = cli_opt_value(CMD, argc, argv, &i, "--split"))) a->split = v;
    else if ((v = cli_opt_value(CMD, argc, argv, &i, "--prep"))) a->prep = v;
    else if ((v = cli_opt_value(CMD, argc, argv, &i, "--per-class"))) {
      if (!*v || cli_parse_size(CMD, "per-class", v, &a->per_class)) return 1;
    } else if ((v = cli_opt_value(CMD, argc, argv, &i, "--resolution"))) {
      if (!*v || cli_parse_size(CMD, "resolution", v, &a->resolution)) return 1;
    } else if ((v = cli_opt_value(CMD, argc, argv, &i, "--seed"))) {
      if (!*v || cli_parse_seed(CMD, v, &a->seed)) return 1;
    } else {
      cli_usage_error(CMD, "unknown option '%s'", argv[i]);
      return 1;
    }
    if (v && !*v) return 1;
  }
  if (a->load && !a->out) return cli_usage_error(CMD, "--load needs --out PREFIX"), 1;
  if (!a->load && a->out) return cli_usage_error(CMD, "--out is only used with --load"), 1;
  size_t len = a->out ? strlen(a->out) : 0;
  if (len && (a->out[len - 1] == '/' || strcmp(a->out + len - 1, ".") == 0))
    return cli_usage_error(CMD, "--out '%s' is a folder: give a file prefix such as DIR/pair "
                           "(writes DIR/pair.csv and DIR/pair.json)", a->out), 1;
  return 0;
}

/* ---- listing ---------------------------------------------------------------- */

/* Open every split of a found data set and count its classes. */
static int check_dataset(const char *name, const char *dir)
{
  static const char *const splits[2] = {"train", "test"};
  for (int k = 0; k < 2; k++) {
    nzk_imageset *s;
    if (nzk_imageset_open(name, dir, splits[k], &s)) return 1;
    size_t empty = 0;
    for (size_t c = 0; c < nzk_imageset_n_classes(s); c++) {
      const size_t *idx;
      size_t n;
      if (nzk_imageset_members(s, c, &idx, &n)) empty++;
    }
    nzk_error_clear();
    printf("  check %s: %zu images, %zu classes, %zu without images: ok\n", splits[k],
           nzk_imageset_size(s), nzk_imageset_n_classes(s), empty);
    nzk_imageset_free(s);
  }
  return 0;
}

static int list_one(const nzk_dataset_info *info, const ds_args *a)
{
  nzk_data_search res;
  char path[1024], desc[512];
  int found = nzk_dataset_locate(info->name, a->data_dir, &res, path, sizeof path) == 0;
  int bad = 0;

  nzk_error_clear();
  printf("%s: %s\n", info->name, found ? "found" : "missing");
  printf("  %s; %zu classes; default pair %s vs %s\n", info->title, info->n_classes,
         info->class_a, info->class_b);
  if (found) {
    printf("  location: %s (%s)\n", path, res.origin[res.found]);
    if (nzk_dataset_describe(info->name, path, desc, sizeof desc) == 0)
      printf("  contents: %s\n", desc);
    else
      bad = 1, fprintf(stderr, "nzk %s: error: %s\n", CMD, nzk_error_message());
    if (!bad && a->check && check_dataset(info->name, path))
      bad = 1, fprintf(stderr, "nzk %s: error: %s\n", CMD, nzk_error_message());
  }
  for (size_t k = 0; k < res.n_places; k++)
    printf("  %s %s (%s)%s\n", k ? "          " : "looked in:", res.place[k], res.origin[k],
           (int)k == res.found ? " <- here" : "");
  const char *env = getenv("NZK_DATA");
  if (!a->data_dir || !*a->data_dir) printf("  (no --data given)\n");
  if (!env || !*env) printf("  ($NZK_DATA not set)\n");
  if (!found) printf("  to get it: %s\n", info->how_to_get);
  return bad;
}

static int list_all(const ds_args *a)
{
  int bad = 0;
  printf("Image data sets (search order: --data DIR, $NZK_DATA, the repository's data/,\n"
         "then Debian's /usr/share/datasets/fashion-mnist for fashion-mnist).\n"
         "Runs that ask for MNIST use %s here.\n\n", nzk_dataset_mnist_like(a->data_dir));
  for (const nzk_dataset_info *d = nzk_dataset_list(); d->name; d++) {
    bad |= list_one(d, a);
    putchar('\n');
  }
  return bad ? NZK_EXIT_USAGE : NZK_EXIT_OK;
}

/* ---- --load ------------------------------------------------------------------ */

static json_t *pair_json(const nzk_pair *p)
{
  json_t *doc = json_object(), *classes = json_array(), *rows = json_array();
  json_object_set_new(doc, "dataset", json_string(p->dataset));
  json_object_set_new(doc, "location", json_string(p->location));
  json_object_set_new(doc, "split", json_string(p->split));
  for (int c = 0; c < 2; c++) {
    json_t *cl = json_object();
    json_object_set_new(cl, "label", json_integer(c));
    json_object_set_new(cl, "name", json_string(p->class_name[c]));
    json_object_set_new(cl, "index", json_integer((json_int_t)p->class_index[c]));
    json_object_set_new(cl, "images_available", json_integer((json_int_t)p->class_size[c]));
    json_array_append_new(classes, cl);
  }
  json_object_set_new(doc, "classes", classes);
  json_object_set_new(doc, "per_class", json_integer((json_int_t)p->per_class));
  json_object_set_new(doc, "resolution", json_integer((json_int_t)p->resolution));
  json_object_set_new(doc, "with_replacement", json_boolean(p->with_replacement));
  json_object_set_new(doc, "prep", json_string(nzk_prep_mode_name(p->prep)));
  json_object_set_new(doc, "seed", json_integer((json_int_t)p->seed));
  json_object_set_new(doc, "stream_chunk", json_integer((json_int_t)NZK_DATA_STREAM_CHUNK));
  for (size_t i = 0; i < p->n; i++) {
    json_t *r = json_object();
    json_object_set_new(r, "y", json_integer((json_int_t)gsl_vector_get(p->y, i)));
    json_object_set_new(r, "index", json_integer((json_int_t)p->index[i]));
    json_object_set_new(r, "item", json_string(p->item[i]));
    json_array_append_new(rows, r);
  }
  json_object_set_new(doc, "rows", rows);
  return doc;
}

static int write_pair(const nzk_pair *p, const char *prefix)
{
  const size_t d = p->X->size2;
  char path[4096], *header = malloc(16 + 12 * d);
  gsl_matrix *M = gsl_matrix_alloc(p->n, d + 2);
  int rc = 0;
  if (!header || !M) {
    rc = NZK_FAIL(GSL_ENOMEM, "out of memory");
    goto done;
  }
  strcpy(header, "y,index");
  for (size_t j = 0; j < d; j++) sprintf(header + strlen(header), ",x%zu", j);
  for (size_t i = 0; i < p->n; i++) {
    gsl_matrix_set(M, i, 0, gsl_vector_get(p->y, i));
    gsl_matrix_set(M, i, 1, (double)p->index[i]);
    for (size_t j = 0; j < d; j++) gsl_matrix_set(M, i, j + 2, gsl_matrix_get(p->X, i, j));
  }
  snprintf(path, sizeof path, "%s", prefix);
  char *slash = strrchr(path, '/');
  if (slash && slash != path) {
    *slash = '\0';
    if ((rc = nzk_mkdir_p(path))) goto done;
  }
  snprintf(path, sizeof path, "%s.csv", prefix);
  if ((rc = nzk_csv_write_matrix(path, header, M))) goto done;
  json_t *doc = pair_json(p);
  snprintf(path, sizeof path, "%s.json", prefix);
  rc = nzk_json_write(path, doc);
  json_decref(doc);

done:
  free(header);
  gsl_matrix_free(M);
  return rc;
}

/* Remove PREFIX.json and PREFIX.csv (json first: it describes the csv). */
static void remove_pair_files(const char *prefix)
{
  char path[4096];
  if (snprintf(path, sizeof path, "%s.json", prefix) < (int)sizeof path) remove(path);
  if (snprintf(path, sizeof path, "%s.csv", prefix) < (int)sizeof path) remove(path);
}

/* A previous run's PREFIX.csv / .json are removed before anything else, so
 * a failed load never leaves them looking like this run's result; a failed
 * write removes what it wrote. */
static int load(const ds_args *a)
{
  nzk_pair_opts o;
  nzk_pair p;
  char *classes = a->classes ? strdup(a->classes) : NULL, *cls_b = NULL;
  nzk_pair_opts_init(&o);
  if (classes) {
    cls_b = strchr(classes, ',');
    if (!cls_b || !cls_b[1] || cls_b == classes || strchr(cls_b + 1, ',')) {
      free(classes);
      return cli_usage_error(CMD, "--classes expects A,B (two classes), got '%s'", a->classes);
    }
    *cls_b++ = '\0';
  }
  remove_pair_files(a->out);
  o.data_dir = a->data_dir;
  o.split = a->split;
  o.per_class = a->per_class;
  o.resolution = a->resolution;
  o.seed = a->seed;
  o.with_replacement = !a->without_replacement;
  int rc = nzk_prep_mode_parse(a->prep, &o.prep);
  if (!rc) rc = nzk_dataset_load_pair(a->load, classes, cls_b, &o, &p);
  free(classes);
  if (rc) return cli_library_error(CMD, NZK_EXIT_USAGE);

  rc = write_pair(&p, a->out);
  if (!rc)
    fprintf(stderr, "nzk %s: %zu images of %s '%s' vs '%s' from %s -> %s.csv, %s.json\n", CMD,
            p.n, p.dataset, p.class_name[0], p.class_name[1], p.location, a->out, a->out);
  nzk_pair_free(&p);
  if (rc) {
    cli_library_error(CMD, NZK_EXIT_FAIL);
    remove_pair_files(a->out);
    return NZK_EXIT_FAIL;
  }
  return NZK_EXIT_OK;
}

int cmd_datasets(int argc, char **argv)
{
  ds_args a;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return NZK_EXIT_OK;
    }
  if (parse_args(argc, argv, &a)) return NZK_EXIT_USAGE;
  return a.load ? load(&a) : list_all(&a);
}
