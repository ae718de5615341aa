/* data_tiny.c: Tiny ImageNet (Stanford CS231n, tiny-imagenet-200.zip) as
 * distributed, and JPEG decoding with libjpeg-turbo.
 *
 * Layout read:  wnids.txt                one WordNet id per line; class k
 *                                        is the k-th line (from 0)
 *               train/<wnid>/images/<wnid>_<i>.JPEG   training images
 *               val/val_annotations.txt  "<file>\t<wnid>\t<box>" per line
 *               val/images/<file>        validation images
 * The training files of a class are taken in natural order (digit runs
 * compared as numbers), so n01443537_12.JPEG is position 12 of its class
 * in the standard layout; classes follow wnids.txt.  Validation images
 * keep the order of val_annotations.txt.  The 10000 test images have no
 * labels and are not read.  File names are listed when the set is opened;
 * images are decoded only when fetched.
 *
 * Decoding uses libjpeg's defaults (islow DCT, fancy upsampling), which is
 * what PIL uses, so RGB values match what the authors' loader sees.
 * Grayscale JPEGs (a few hundred in Tiny ImageNet) decode to one channel;
 * CMYK/YCCK JPEGs are refused.  libjpeg's corrupt-data warnings (it would
 * otherwise fill a truncated image with gray) are treated as errors. */
#include "data_images_int.h"
#include "nzk_error.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <jpeglib.h>

/* Largest decoded image accepted (bytes); Tiny ImageNet's are 12288. */
#define JPEG_MAX_BYTES ((size_t)1 << 28)

/* ---- JPEG ---------------------------------------------------------------- */

typedef struct {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  char msg[JMSG_LENGTH_MAX];
} jpeg_fail_mgr;

static void jpeg_on_error(j_common_ptr c)
{
  jpeg_fail_mgr *e = (jpeg_fail_mgr *)c->err;
  (*c->err->format_message)(c, e->msg);
  longjmp(e->jump, 1);
}

/* Level -1 is a warning about corrupt data: refuse the image. */
static void jpeg_on_message(j_common_ptr c, int level)
{
  if (level < 0) jpeg_on_error(c);
}

/* Read a whole file into a malloc'd buffer. */
static int slurp(const char *path, unsigned char **data, size_t *size)
{
  struct stat sb;
  errno = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return NZK_FAIL(GSL_EFAILED, "%s: cannot open: %s", path, strerror(errno));
  if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    fclose(f);
    return NZK_FAIL(GSL_EFAILED, "%s: not a regular file", path);
  }
  *size = (size_t)sb.st_size;
  *data = malloc(*size ? *size : 1);
  if (!*data) {
    fclose(f);
    return NZK_FAIL(GSL_ENOMEM, "%s: out of memory (%zu bytes)", path, *size);
  }
  size_t got = fread(*data, 1, *size, f);
  int bad = got != *size || ferror(f);
  fclose(f);
  if (bad) {
    free(*data);
    return NZK_FAIL(GSL_EFAILED, "%s: read error after %zu of %zu bytes", path, got, *size);
  }
  return 0;
}

/* Decode the JPEG in data[0..size) into *buf (grown as needed, *cap bytes). */
static int jpeg_decode(const char *path, const unsigned char *data, size_t size,
                       unsigned char **buf, size_t *cap, size_t *h, size_t *w, size_t *c)
{
  struct jpeg_decompress_struct cinfo;
  jpeg_fail_mgr jerr;
  volatile int st = 0; /* set after setjmp */

  cinfo.err = jpeg_std_error(&jerr.pub);
  jerr.pub.error_exit = jpeg_on_error;
  jerr.pub.emit_message = jpeg_on_message;
  if (setjmp(jerr.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return NZK_FAIL(GSL_EFAILED, "%s: not a readable JPEG image: %s", path, jerr.msg);
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, (unsigned long)size);
  jpeg_read_header(&cinfo, TRUE);
  if (cinfo.jpeg_color_space == JCS_GRAYSCALE) cinfo.out_color_space = JCS_GRAYSCALE;
  else if (cinfo.jpeg_color_space == JCS_YCbCr || cinfo.jpeg_color_space == JCS_RGB)
    cinfo.out_color_space = JCS_RGB;
  else {
    st = NZK_FAIL(GSL_EFAILED, "%s: unsupported JPEG colour space %d (only gray and RGB)", path,
                  (int)cinfo.jpeg_color_space);
    goto done;
  }
  jpeg_start_decompress(&cinfo);
  size_t stride = (size_t)cinfo.output_width * (size_t)cinfo.output_components;
  size_t need = stride * cinfo.output_height;
  if (need > JPEG_MAX_BYTES) {
    st = NZK_FAIL(GSL_EFAILED, "%s: image of %u x %u is too large", path, cinfo.output_width,
                  cinfo.output_height);
    goto done;
  }
  if (need > *cap) {
    unsigned char *nb = realloc(*buf, need);
    if (!nb) { st = NZK_FAIL(GSL_ENOMEM, "%s: out of memory", path); goto done; }
    *buf = nb;
    *cap = need;
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = *buf + (size_t)cinfo.output_scanline * stride;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  *h = cinfo.output_height;
  *w = cinfo.output_width;
  *c = (size_t)cinfo.output_components;

done:
  jpeg_destroy_decompress(&cinfo);
  return st;
}

static int jpeg_read_into(const char *path, unsigned char **buf, size_t *cap, size_t *h,
                          size_t *w, size_t *c)
{
  unsigned char *data;
  size_t size;
  int st = slurp(path, &data, &size);
  if (st) return st;
  st = jpeg_decode(path, data, size, buf, cap, h, w, c);
  free(data);
  return st;
}

int nzk_jpeg_read(const char *path, unsigned char **pixels, size_t *height, size_t *width,
                  size_t *channels)
{
  size_t cap = 0;
  *pixels = NULL;
  int st = jpeg_read_into(path, pixels, &cap, height, width, channels);
  if (st) {
    free(*pixels);
    *pixels = NULL;
  }
  return st;
}

/* ---- the file tree ------------------------------------------------------ */

typedef struct {
  char **files; /* relative to the data set folder */
  size_t n, cap;
} tiny_state;

static int tiny_push(nzk_imageset *s, tiny_state *st, const char *rel, size_t label)
{
  if (st->n == st->cap) {
    size_t ncap = st->cap ? 2 * st->cap : 1024;
    char **nf = realloc(st->files, ncap * sizeof *nf);
    size_t *nl = realloc(s->labels, ncap * sizeof *nl);
    if (nf) st->files = nf;
    if (nl) s->labels = nl;
    if (!nf || !nl) return NZK_FAIL(GSL_ENOMEM, "out of memory listing Tiny ImageNet");
    st->cap = ncap;
  }
  if (!(st->files[st->n] = strdup(rel))) return NZK_FAIL(GSL_ENOMEM, "out of memory");
  s->labels[st->n++] = label;
  return 0;
}

/* Compare digit runs as numbers, everything else byte by byte. */
static int natural_cmp(const char *a, const char *b)
{
  while (*a && *b) {
    if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
      while (*a == '0') a++;
      while (*b == '0') b++;
      size_t la = 0, lb = 0;
      while (isdigit((unsigned char)a[la])) la++;
      while (isdigit((unsigned char)b[lb])) lb++;
      if (la != lb) return la < lb ? -1 : 1;
      int c = strncmp(a, b, la);
      if (c) return c;
      a += la;
      b += lb;
    } else {
      if (*a != *b) return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
      a++, b++;
    }
  }
  return *a ? 1 : *b ? -1 : 0;
}

static int cmp_names(const void *x, const void *y)
{
  const char *a = *(const char *const *)x, *b = *(const char *const *)y;
  int c = natural_cmp(a, b);
  return c ? c : strcmp(a, b);
}

static int is_jpeg_name(const char *name)
{
  const char *dot = strrchr(name, '.');
  return dot && (strcasecmp(dot, ".jpeg") == 0 || strcasecmp(dot, ".jpg") == 0);
}

/* Append the JPEG names of train/<wnid>/images in natural order.  A
 * missing folder adds nothing (the class is then empty). */
static int tiny_list_class(nzk_imageset *s, tiny_state *st, size_t k)
{
  char dir[1024], rel[1024];
  const char *wnid = s->class_names[k];
  snprintf(rel, sizeof rel, "train/%s/images", wnid);
  int rc = nzk_data_path(dir, sizeof dir, s->dir, rel);
  if (rc) return rc;
  DIR *d = opendir(dir);
  if (!d) return 0;

  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!is_jpeg_name(e->d_name)) continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 512;
      char **nn = realloc(names, cap * sizeof *nn);
      if (!nn) { rc = NZK_FAIL(GSL_ENOMEM, "out of memory"); break; }
      names = nn;
    }
    if (!(names[n] = strdup(e->d_name))) { rc = NZK_FAIL(GSL_ENOMEM, "out of memory"); break; }
    n++;
  }
  closedir(d);
  if (!rc) qsort(names, n, sizeof *names, cmp_names);
  for (size_t i = 0; i < n; i++) {
    int len = snprintf(rel, sizeof rel, "train/%s/images/%s", wnid, names[i]);
    if (!rc && (len < 0 || (size_t)len >= sizeof rel))
      rc = NZK_FAIL(GSL_EFAILED, "%s/%s: path too long", dir, names[i]);
    if (!rc) rc = tiny_push(s, st, rel, k);
    free(names[i]);
  }
  free(names);
  return rc;
}

/* Strip trailing blanks and line ends. */
static void chomp(char *line)
{
  size_t n = strlen(line);
  while (n && isspace((unsigned char)line[n - 1])) line[--n] = '\0';
}

static int tiny_read_wnids(nzk_imageset *s)
{
  char path[1024], line[256];
  int rc = nzk_data_path(path, sizeof path, s->dir, "wnids.txt");
  if (rc) return rc;
  errno = 0;
  FILE *f = fopen(path, "r");
  if (!f)
    return NZK_FAIL(GSL_EFAILED, "%s: cannot open Tiny ImageNet's class list: %s", path,
                    strerror(errno));
  size_t n = 0, lineno = 0;
  char **names = NULL;
  while (!rc && fgets(line, sizeof line, f)) {
    lineno++;
    chomp(line);
    if (!*line) continue;
    if (strchr(line, ' ') || strchr(line, '\t') || strchr(line, '/'))
      rc = NZK_FAIL(GSL_EFAILED, "%s:%zu: '%s' is not a wnid", path, lineno, line);
    for (size_t j = 0; !rc && j < n; j++)
      if (strcmp(names[j], line) == 0)
        rc = NZK_FAIL(GSL_EFAILED, "%s:%zu: wnid %s listed twice", path, lineno, line);
    char **nn = rc ? NULL : realloc(names, (n + 1) * sizeof *nn);
    if (!rc && !nn) rc = NZK_FAIL(GSL_ENOMEM, "out of memory");
    if (!rc) {
      names = nn;
      if (!(names[n] = strdup(line))) rc = NZK_FAIL(GSL_ENOMEM, "out of memory");
      else n++;
    }
  }
  fclose(f);
  if (!rc && n == 0) rc = NZK_FAIL(GSL_EFAILED, "%s: lists no class", path);
  if (!rc) rc = nzk_imageset_set_class_names(s, (const char *const *)names, n);
  for (size_t j = 0; j < n; j++) free(names[j]);
  free(names);
  return rc;
}

static int tiny_class_of(const nzk_imageset *s, const char *wnid, size_t *k)
{
  for (size_t j = 0; j < s->n_classes; j++)
    if (strcmp(s->class_names[j], wnid) == 0) {
      *k = j;
      return 1;
    }
  return 0;
}

static int tiny_read_val(nzk_imageset *s, tiny_state *st)
{
  char path[1024], line[1024], rel[1024];
  int rc = nzk_data_path(path, sizeof path, s->dir, "val/val_annotations.txt");
  if (rc) return rc;
  errno = 0;
  FILE *f = fopen(path, "r");
  if (!f) return NZK_FAIL(GSL_EFAILED, "%s: cannot open: %s", path, strerror(errno));
  size_t lineno = 0, k;
  while (!rc && fgets(line, sizeof line, f)) {
    lineno++;
    chomp(line);
    if (!*line) continue;
    char *file = strtok(line, "\t"), *wnid = strtok(NULL, "\t");
    if (!file || !wnid || !is_jpeg_name(file) || strchr(file, '/'))
      rc = NZK_FAIL(GSL_EFAILED, "%s:%zu: expected '<file>.JPEG<TAB><wnid>...'", path, lineno);
    else if (!tiny_class_of(s, wnid, &k))
      rc = NZK_FAIL(GSL_EFAILED, "%s:%zu: wnid %s is not in wnids.txt", path, lineno, wnid);
    else if ((size_t)snprintf(rel, sizeof rel, "val/images/%s", file) >= sizeof rel)
      rc = NZK_FAIL(GSL_EFAILED, "%s:%zu: file name too long", path, lineno);
    else
      rc = tiny_push(s, st, rel, k);
  }
  fclose(f);
  return rc;
}

static int tiny_fetch(nzk_imageset *s, size_t index, nzk_image *img)
{
  tiny_state *st = s->impl;
  char path[2048];
  size_t h, w, c;
  int rc = nzk_data_path(path, sizeof path, s->dir, st->files[index]);
  if (!rc) rc = jpeg_read_into(path, &s->buf, &s->buf_len, &h, &w, &c);
  if (rc) return rc;
  *img = (nzk_image){h, w, c, s->buf};
  return 0;
}

static void tiny_item_name(const nzk_imageset *s, size_t index, char *buf, size_t len)
{
  const tiny_state *st = s->impl;
  snprintf(buf, len, "%s", st->files[index]);
}

static void tiny_class_where(const nzk_imageset *s, size_t k, char *buf, size_t len)
{
  char dir[1024], rel[512];
  if (strcmp(s->split, "test") == 0) {
    snprintf(buf, len, "%s/val/val_annotations.txt: no image of wnid %s", s->dir,
             s->class_names[k]);
    return;
  }
  snprintf(rel, sizeof rel, "train/%s/images", s->class_names[k]);
  if (nzk_data_path(dir, sizeof dir, s->dir, rel)) dir[0] = '\0';
  snprintf(buf, len, "%s: %s", dir, nzk_data_exists(dir) ? "holds no .JPEG file"
                                                          : "no such folder");
}

static void tiny_close(nzk_imageset *s)
{
  tiny_state *st = s->impl;
  if (!st) return;
  for (size_t i = 0; i < st->n; i++) free(st->files[i]);
  free(st->files);
  free(st);
}

int nzk_imageset_open_tiny(nzk_imageset *s)
{
  tiny_state *st = calloc(1, sizeof *st);
  if (!st) return NZK_FAIL(GSL_ENOMEM, "out of memory");
  s->impl = st;
  s->fetch = tiny_fetch;
  s->item_name = tiny_item_name;
  s->class_where = tiny_class_where;
  s->close = tiny_close;

  int rc = tiny_read_wnids(s);
  if (rc) return rc;
  if (strcmp(s->split, "test") == 0) {
    rc = tiny_read_val(s, st);
  } else {
    char train[1024];
    if ((rc = nzk_data_path(train, sizeof train, s->dir, "train"))) return rc;
    if (!nzk_data_exists(train))
      return NZK_FAIL(GSL_EFAILED, "%s: no such folder (Tiny ImageNet training images)", train);
    for (size_t k = 0; !rc && k < s->n_classes; k++) rc = tiny_list_class(s, st, k);
  }
  s->n = st->n;
  return rc;
}
