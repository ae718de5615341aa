/* data_cifar.c: CIFAR-10 "binary version" (Krizhevsky, 2009): each batch
 * file is a sequence of 3073-byte records, one label byte (0..9) then the
 * 1024 red, 1024 green and 1024 blue bytes of a 32 x 32 image, row-major.
 * The training split is data_batch_1.bin .. data_batch_5.bin in that
 * order (records numbered across them), the test split test_batch.bin.
 *
 * As an nzk_imageset only the label bytes are read at open time; a record's
 * pixels are read when it is fetched, so memory stays small. */
#include "data_images_int.h"
#include "nzk_error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { CIFAR_SIDE = 32, CIFAR_PLANE = 1024, CIFAR_RECORD = 3073, CIFAR_MAX_FILES = 5 };

static const char *const cifar_names[10] = {"airplane", "automobile", "bird", "cat", "deer",
                                            "dog", "frog", "horse", "ship", "truck"};

/* Open a batch and return its number of records after checking the size. */
static int cifar_open_file(const char *path, FILE **fp, size_t *n_records)
{
  struct stat sb;
  errno = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return NZK_FAIL(GSL_EFAILED, "%s: cannot open: %s", path, strerror(errno));
  if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    fclose(f);
    return NZK_FAIL(GSL_EFAILED, "%s: not a regular file", path);
  }
  size_t size = (size_t)sb.st_size;
  if (size == 0 || size % CIFAR_RECORD != 0) {
    fclose(f);
    if (size == 0) return NZK_FAIL(GSL_EFAILED, "%s: empty file, no records", path);
    return NZK_FAIL(GSL_EFAILED, "%s: %zu bytes is not a whole number of %d-byte records "
                    "(1 label + 3 x 32 x 32 pixels)", path, size, CIFAR_RECORD);
  }
  *fp = f;
  *n_records = size / CIFAR_RECORD;
  return 0;
}

/* A record's planes into interleaved RGB. */
static void cifar_interleave(const unsigned char *rec, unsigned char *rgb)
{
  for (size_t k = 0; k < CIFAR_PLANE; k++) {
    rgb[3 * k] = rec[1 + k];
    rgb[3 * k + 1] = rec[1 + CIFAR_PLANE + k];
    rgb[3 * k + 2] = rec[1 + 2 * CIFAR_PLANE + k];
  }
}

static int bad_label(const char *path, unsigned label, size_t record)
{
  return NZK_FAIL(GSL_EFAILED, "%s: label %u of record %zu is outside 0..9", path, label, record);
}

int nzk_cifar_read_batch(const char *path, nzk_image_batch *b)
{
  FILE *f;
  size_t n;
  int st = cifar_open_file(path, &f, &n);
  if (st) return st;

  unsigned char *rec = malloc(CIFAR_RECORD), *px = malloc(n * 3 * CIFAR_PLANE), *lab = malloc(n);
  if (!rec || !px || !lab) { st = NZK_FAIL(GSL_ENOMEM, "%s: out of memory", path); goto done; }
  for (size_t i = 0; i < n; i++) {
    if (fread(rec, 1, CIFAR_RECORD, f) != CIFAR_RECORD) {
      st = NZK_FAIL(GSL_EFAILED, "%s: read error at record %zu: %s", path, i,
                    ferror(f) ? strerror(errno) : "file shrank while reading");
      goto done;
    }
    if (rec[0] > 9) { st = bad_label(path, rec[0], i); goto done; }
    lab[i] = rec[0];
    cifar_interleave(rec, px + i * 3 * CIFAR_PLANE);
  }
  *b = (nzk_image_batch){n, CIFAR_SIDE, CIFAR_SIDE, 3, px, lab};
  px = lab = NULL;

done:
  fclose(f);
  free(rec);
  free(px);
  free(lab);
  return st;
}

/* ---- as an nzk_imageset -------------------------------------------------- */

typedef struct {
  size_t n_files;
  FILE *fp[CIFAR_MAX_FILES];
  char path[CIFAR_MAX_FILES][1024];
  size_t first[CIFAR_MAX_FILES + 1]; /* record number of each file's first record */
} cifar_state;

/* Which file holds record `index`, and its position there. */
static size_t cifar_locate(const cifar_state *st, size_t index, size_t *pos)
{
  size_t k = 0;
  while (k + 1 < st->n_files && index >= st->first[k + 1]) k++;
  *pos = index - st->first[k];
  return k;
}

static int cifar_fetch(nzk_imageset *s, size_t index, nzk_image *img)
{
  cifar_state *st = s->impl;
  size_t pos, k = cifar_locate(st, index, &pos);
  unsigned char rec[CIFAR_RECORD];
  int rc = nzk_imageset_reserve(s, 3 * CIFAR_PLANE);
  if (rc) return rc;

  if (fseeko(st->fp[k], (off_t)(pos * CIFAR_RECORD), SEEK_SET) != 0 ||
      fread(rec, 1, CIFAR_RECORD, st->fp[k]) != CIFAR_RECORD)
    return NZK_FAIL(GSL_EFAILED, "%s: cannot read record %zu: %s", st->path[k], pos,
                    ferror(st->fp[k]) ? strerror(errno) : "file shrank since it was opened");
  cifar_interleave(rec, s->buf);
  *img = (nzk_image){CIFAR_SIDE, CIFAR_SIDE, 3, s->buf};
  return 0;
}

static void cifar_item_name(const nzk_imageset *s, size_t index, char *buf, size_t len)
{
  const cifar_state *st = s->impl;
  size_t pos, k = cifar_locate(st, index, &pos);
  const char *b = strrchr(st->path[k], '/');
  snprintf(buf, len, "%s#%zu", b ? b + 1 : st->path[k], pos);
}

static void cifar_class_where(const nzk_imageset *s, size_t k, char *buf, size_t len)
{
  const cifar_state *st = s->impl;
  snprintf(buf, len, "%s%s: no record has label %zu", st->path[0],
           st->n_files > 1 ? " (and the other batches)" : "", k);
}

static void cifar_close(nzk_imageset *s)
{
  cifar_state *st = s->impl;
  if (!st) return;
  for (size_t k = 0; k < st->n_files; k++)
    if (st->fp[k]) fclose(st->fp[k]);
  free(st);
}

/* Read the label byte of every record of file k into s->labels. */
static int cifar_read_labels(nzk_imageset *s, cifar_state *st, size_t k)
{
  enum { CHUNK = 512 };
  unsigned char *chunk = malloc((size_t)CHUNK * CIFAR_RECORD);
  size_t n = st->first[k + 1] - st->first[k];
  if (!chunk) return NZK_FAIL(GSL_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i += CHUNK) {
    size_t m = n - i < CHUNK ? n - i : CHUNK;
    if (fread(chunk, CIFAR_RECORD, m, st->fp[k]) != m) {
      free(chunk);
      return NZK_FAIL(GSL_EFAILED, "%s: read error near record %zu", st->path[k], i);
    }
    for (size_t j = 0; j < m; j++) {
      unsigned label = chunk[j * CIFAR_RECORD];
      if (label > 9) {
        free(chunk);
        return bad_label(st->path[k], label, i + j);
      }
      s->labels[st->first[k] + i + j] = label;
    }
  }
  free(chunk);
  return 0;
}

int nzk_imageset_open_cifar(nzk_imageset *s)
{
  cifar_state *st = calloc(1, sizeof *st);
  if (!st) return NZK_FAIL(GSL_ENOMEM, "out of memory");
  s->impl = st;
  s->fetch = cifar_fetch;
  s->item_name = cifar_item_name;
  s->class_where = cifar_class_where;
  s->close = cifar_close;

  int test = strcmp(s->split, "test") == 0, rc;
  st->n_files = test ? 1 : CIFAR_MAX_FILES;
  for (size_t k = 0; k < st->n_files; k++) {
    char name[64];
    size_t n;
    if (test) snprintf(name, sizeof name, "test_batch.bin");
    else snprintf(name, sizeof name, "data_batch_%zu.bin", k + 1);
    if ((rc = nzk_data_path(st->path[k], sizeof st->path[k], s->dir, name))) return rc;
    if ((rc = cifar_open_file(st->path[k], &st->fp[k], &n))) return rc;
    st->first[k + 1] = st->first[k] + n;
  }
  s->n = st->first[st->n_files];
  s->n_classes = 10;
  s->labels = malloc(s->n * sizeof *s->labels);
  if (!s->labels) return NZK_FAIL(GSL_ENOMEM, "out of memory");
  for (size_t k = 0; k < st->n_files; k++)
    if ((rc = cifar_read_labels(s, st, k))) return rc;
  return nzk_imageset_set_class_names(s, cifar_names, 10);
}
