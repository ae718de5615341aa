/* data_idx.c: IDX files (LeCun and Cortes' MNIST format, also used by
 * Fashion-MNIST), raw or gzip-compressed, read through zlib's gz* calls.
 *
 * Layout: a 4-byte magic 0x00 0x00 <type> <ndim> with type 0x08 (unsigned
 * byte), then ndim big-endian 32-bit dimensions, then the bytes.  Images
 * are ndim 3 (n, rows, cols), labels ndim 1 (n).  A file is accepted only
 * if it holds exactly the bytes its header promises: a short file, a
 * truncated or corrupt gzip stream (zlib also checks the CRC-32 and length
 * in the gzip trailer) and trailing bytes are all errors naming the file. */
#include "data_images_int.h"
#include "nzk_error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Largest accepted counts: far above MNIST's 60000 x 28 x 28, small
 * enough that a damaged header cannot ask for absurd memory at once. */
enum { IDX_MAX_SIDE = 4096 };
#define IDX_MAX_COUNT ((size_t)1 << 28)

void nzk_image_batch_free(nzk_image_batch *b)
{
  if (!b) return;
  free(b->pixels);
  free(b->labels);
  memset(b, 0, sizeof *b);
}

nzk_image nzk_image_batch_get(const nzk_image_batch *b, size_t i)
{
  const size_t size = b->height * b->width * b->channels;
  nzk_image img = {b->height, b->width, b->channels, b->pixels + i * size};
  return img;
}

/* zlib's reason for the last failure on f (or the C library's). */
static int gz_fail(gzFile f, const char *path)
{
  int errnum = Z_OK;
  const char *msg = gzerror(f, &errnum);
  if (errnum == Z_ERRNO) return NZK_FAIL(GSL_EFAILED, "%s: read error: %s", path, strerror(errno));
  if (errnum == Z_BUF_ERROR)
    return NZK_FAIL(GSL_EFAILED, "%s: truncated gzip stream (unexpected end of file)", path);
  /* zlib's message starts with the file name: keep only its reason */
  size_t n = strlen(path);
  if (strncmp(msg, path, n) == 0 && msg[n] == ':') msg += n + (msg[n + 1] == ' ' ? 2 : 1);
  return NZK_FAIL(GSL_EFAILED, "%s: corrupt gzip data (%s)", path, msg);
}

static int ends_with(const char *s, const char *suffix)
{
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int idx_open(const char *path, gzFile *f)
{
  errno = 0;
  *f = gzopen(path, "rb");
  if (!*f)
    return NZK_FAIL(GSL_EFAILED, "%s: cannot open: %s", path,
                    errno ? strerror(errno) : "out of memory");
  gzbuffer(*f, 1u << 17);
  if (ends_with(path, ".gz") && gzdirect(*f)) {
    gzclose(*f);
    return NZK_FAIL(GSL_EFAILED, "%s: not a gzip file (no gzip header)", path);
  }
  return 0;
}

/* Read up to len bytes; *got is what arrived before end of file.  A zlib
 * or read error (not a plain end of file) fails. */
static int gz_read_upto(gzFile f, const char *path, unsigned char *buf, size_t len, size_t *got)
{
  *got = 0;
  while (*got < len) {
    size_t want = len - *got;
    int k = gzread(f, buf + *got, (unsigned)(want > (1u << 30) ? 1u << 30 : want));
    if (k < 0) return gz_fail(f, path);
    if (k == 0) break;
    *got += (size_t)k;
  }
  return 0;
}

/* Magic and dimensions.  want_ndim 0 accepts 1..3 (header-only reads). */
static int idx_header(gzFile f, const char *path, size_t want_ndim, size_t *ndim, size_t dims[3])
{
  unsigned char h[12];
  size_t got;
  int st = gz_read_upto(f, path, h, 4, &got);
  if (st) return st;
  if (got < 4) {
    int errnum;
    gzerror(f, &errnum);
    if (errnum == Z_BUF_ERROR) return gz_fail(f, path);
    return NZK_FAIL(GSL_EFAILED, "%s: %zu bytes, too short for an IDX header", path, got);
  }
  unsigned long magic = (unsigned long)h[0] << 24 | (unsigned long)h[1] << 16 |
                        (unsigned long)h[2] << 8 | h[3];
  int ok = h[0] == 0 && h[1] == 0 && h[2] == 0x08 &&
           (want_ndim ? h[3] == want_ndim : h[3] >= 1 && h[3] <= 3);
  if (!ok && want_ndim)
    return NZK_FAIL(GSL_EFAILED, "%s: wrong magic 0x%08lx, expected 0x%08lx (IDX %s: unsigned "
                    "bytes, %zu dimension%s)", path, magic, 0x800ul | want_ndim,
                    want_ndim == 3 ? "images" : "labels", want_ndim, want_ndim > 1 ? "s" : "");
  if (!ok)
    return NZK_FAIL(GSL_EFAILED, "%s: wrong magic 0x%08lx, not an IDX file of unsigned bytes "
                    "(0x00000801..0x00000803)", path, magic);

  *ndim = h[3];
  if ((st = gz_read_upto(f, path, h, 4 * *ndim, &got))) return st;
  if (got < 4 * *ndim) return NZK_FAIL(GSL_EFAILED, "%s: truncated IDX header", path);
  for (size_t k = 0; k < *ndim; k++) {
    const unsigned char *b = h + 4 * k;
    dims[k] = (size_t)b[0] << 24 | (size_t)b[1] << 16 | (size_t)b[2] << 8 | b[3];
    if (dims[k] == 0) return NZK_FAIL(GSL_EFAILED, "%s: dimension %zu is 0", path, k);
  }
  if (dims[0] > IDX_MAX_COUNT)
    return NZK_FAIL(GSL_EFAILED, "%s: header claims %zu items (more than 2^28)", path, dims[0]);
  for (size_t k = 1; k < *ndim; k++)
    if (dims[k] > IDX_MAX_SIDE)
      return NZK_FAIL(GSL_EFAILED, "%s: dimension %zu is %zu (more than %d)", path, k, dims[k],
                      IDX_MAX_SIDE);
  return 0;
}

/* The payload: exactly `expect` bytes, then end of file.  The buffer grows
 * as data arrive, so a header that lies costs no more than the file. */
static int idx_payload(gzFile f, const char *path, size_t expect, unsigned char **out)
{
  size_t cap = expect < ((size_t)1 << 24) ? expect : (size_t)1 << 24, got = 0;
  unsigned char *buf = malloc(cap), extra;
  int st = 0;

  if (!buf) return NZK_FAIL(GSL_ENOMEM, "%s: out of memory", path);
  while (got < expect) {
    if (got == cap) {
      size_t ncap = cap * 2 < expect ? cap * 2 : expect;
      unsigned char *nb = realloc(buf, ncap);
      if (!nb) { st = NZK_FAIL(GSL_ENOMEM, "%s: out of memory", path); goto fail; }
      buf = nb;
      cap = ncap;
    }
    size_t k;
    if ((st = gz_read_upto(f, path, buf + got, cap - got, &k))) goto fail;
    got += k;
    if (got < cap) break; /* end of file */
  }
  if (got < expect) {
    int errnum;
    gzerror(f, &errnum);
    if (errnum == Z_BUF_ERROR)
      st = NZK_FAIL(GSL_EFAILED, "%s: truncated gzip stream (unexpected end of file after %zu "
                    "of %zu data bytes)", path, got, expect);
    else
      st = NZK_FAIL(GSL_EFAILED, "%s: holds %zu data bytes but its header promises %zu "
                    "(dimensions do not match the file size)", path, got, expect);
    goto fail;
  }
  int k = gzread(f, &extra, 1);
  if (k < 0) { st = gz_fail(f, path); goto fail; }
  if (k > 0) {
    st = NZK_FAIL(GSL_EFAILED, "%s: longer than its header promises (%zu data bytes; "
                  "dimensions do not match the file size)", path, expect);
    goto fail;
  }
  int errnum;
  gzerror(f, &errnum);
  if (errnum == Z_BUF_ERROR) { st = gz_fail(f, path); goto fail; }
  *out = buf;
  return 0;

fail:
  free(buf);
  return st;
}

int nzk_idx_read_header(const char *path, size_t *ndim, size_t dims[3])
{
  gzFile f;
  int st = idx_open(path, &f);
  if (st) return st;
  st = idx_header(f, path, 0, ndim, dims);
  gzclose(f);
  return st;
}

int nzk_idx_read_images(const char *path, nzk_image_batch *b)
{
  gzFile f;
  size_t ndim, dims[3];
  unsigned char *px = NULL;
  int st = idx_open(path, &f);
  if (st) return st;
  if (!(st = idx_header(f, path, 3, &ndim, dims)))
    st = idx_payload(f, path, dims[0] * dims[1] * dims[2], &px);
  gzclose(f);
  if (st) return st;
  *b = (nzk_image_batch){dims[0], dims[1], dims[2], 1, px, NULL};
  return 0;
}

int nzk_idx_read_labels(const char *path, size_t n_classes, unsigned char **labels, size_t *n)
{
  gzFile f;
  size_t ndim, dims[3];
  unsigned char *lab = NULL;
  int st = idx_open(path, &f);
  if (st) return st;
  if (!(st = idx_header(f, path, 1, &ndim, dims))) st = idx_payload(f, path, dims[0], &lab);
  gzclose(f);
  if (st) return st;
  for (size_t i = 0; i < dims[0]; i++)
    if (lab[i] >= n_classes) {
      st = NZK_FAIL(GSL_EFAILED, "%s: label %u of record %zu is outside 0..%zu", path, lab[i], i,
                    n_classes - 1);
      free(lab);
      return st;
    }
  *labels = lab;
  *n = dims[0];
  return 0;
}

int nzk_idx_load(const char *images_path, const char *labels_path, size_t n_classes,
                 nzk_image_batch *b)
{
  unsigned char *lab = NULL;
  size_t n_lab = 0;
  int st = nzk_idx_read_labels(labels_path, n_classes, &lab, &n_lab);
  if (st) return st;
  if ((st = nzk_idx_read_images(images_path, b))) {
    free(lab);
    return st;
  }
  if (b->n != n_lab) {
    st = NZK_FAIL(GSL_EFAILED, "%s: %zu images but %s has %zu labels (%s)", images_path, b->n,
                  labels_path, n_lab, b->n < n_lab ? "fewer images than labels"
                                                   : "fewer labels than images");
    free(lab);
    nzk_image_batch_free(b);
    return st;
  }
  b->labels = lab;
  return 0;
}

/* ---- MNIST and Fashion-MNIST as an nzk_imageset ------------------------ */

typedef struct {
  nzk_image_batch batch;
  char images[1024], labels[1024];
} idx_state;

static const char *const mnist_names[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
/* Zalando's label descriptions for Fashion-MNIST (its README). */
static const char *const fashion_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                              "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                                              "Ankle boot"};

static int idx_fetch(nzk_imageset *s, size_t index, nzk_image *img)
{
  idx_state *st = s->impl;
  *img = nzk_image_batch_get(&st->batch, index);
  return 0;
}

static const char *base_name(const char *path)
{
  const char *b = strrchr(path, '/');
  return b ? b + 1 : path;
}

static void idx_item_name(const nzk_imageset *s, size_t index, char *buf, size_t len)
{
  const idx_state *st = s->impl;
  snprintf(buf, len, "%s#%zu", base_name(st->images), index);
}

static void idx_class_where(const nzk_imageset *s, size_t k, char *buf, size_t len)
{
  const idx_state *st = s->impl;
  snprintf(buf, len, "%s: no record has label %zu", st->labels, k);
}

static void idx_close(nzk_imageset *s)
{
  idx_state *st = s->impl;
  if (st) nzk_image_batch_free(&st->batch);
  free(st);
}

int nzk_imageset_open_idx(nzk_imageset *s)
{
  const char *prefix = strcmp(s->split, "test") == 0 ? "t10k" : "train";
  char name[64];
  idx_state *st = calloc(1, sizeof *st);
  if (!st) return NZK_FAIL(GSL_ENOMEM, "out of memory");
  s->impl = st;
  s->fetch = idx_fetch;
  s->item_name = idx_item_name;
  s->class_where = idx_class_where;
  s->close = idx_close;

  int rc;
  snprintf(name, sizeof name, "%s-images-idx3-ubyte", prefix);
  if ((rc = nzk_data_find_file(st->images, sizeof st->images, s->dir, name))) return rc;
  snprintf(name, sizeof name, "%s-labels-idx1-ubyte", prefix);
  if ((rc = nzk_data_find_file(st->labels, sizeof st->labels, s->dir, name))) return rc;
  if ((rc = nzk_idx_load(st->images, st->labels, 10, &st->batch))) return rc;

  s->n = st->batch.n;
  s->n_classes = 10;
  s->labels = malloc(s->n * sizeof *s->labels);
  if (!s->labels) return NZK_FAIL(GSL_ENOMEM, "out of memory");
  for (size_t i = 0; i < s->n; i++) s->labels[i] = st->batch.labels[i];
  int fashion = strcmp(s->info->name, "fashion-mnist") == 0;
  return nzk_imageset_set_class_names(s, fashion ? fashion_names : mnist_names, 10);
}
