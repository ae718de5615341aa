/* test_data_formats.c: the data set readers of data_images.h on small
 * fixtures written by this test into a temporary folder (IDX raw and gzip,
 * CIFAR-10 batches, a Tiny ImageNet tree with JPEGs written by libjpeg),
 * every bad-input error of the issue (each must name the file and say what
 * is wrong in one line), the data search order, and the two-class sampler
 * (DESIGN.md section 5): right classes and labels, features equal to the
 * preprocessing of the drawn image, same seed -> same draw, different
 * seed -> different draw, without replacement -> distinct images. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "data_images.h"
#include "nzk_error.h"
#include "report_io.h"
#include "vtest.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jpeglib.h>
#include <zlib.h>

static char root[512]; /* the temporary folder */

/* ---- fixture writers ----------------------------------------------------- */

/* root/rel, creating parent folders. */
static const char *fx_path(const char *rel)
{
  static char buf[4][1024];
  static int k;
  char *p = buf[k++ % 4];
  snprintf(p, sizeof buf[0], "%s/%s", root, rel);
  char dir[1024];
  snprintf(dir, sizeof dir, "%s", p);
  char *slash = strrchr(dir, '/');
  if (slash) *slash = '\0', nzk_mkdir_p(dir);
  return p;
}

static void fx_write(const char *rel, const void *data, size_t len)
{
  FILE *f = fopen(fx_path(rel), "wb");
  if (!f || fwrite(data, 1, len, f) != len) fprintf(stderr, "cannot write fixture %s\n", rel);
  if (f) fclose(f);
}

static void fx_write_gz(const char *rel, const void *data, size_t len)
{
  gzFile f = gzopen(fx_path(rel), "wb9");
  if (!f || gzwrite(f, data, (unsigned)len) != (int)len) fprintf(stderr, "gz fixture %s\n", rel);
  if (f) gzclose(f);
}

static unsigned char *fx_read(const char *rel, size_t *len)
{
  FILE *f = fopen(fx_path(rel), "rb");
  unsigned char *buf = malloc(1 << 20);
  *len = f ? fread(buf, 1, 1 << 20, f) : 0;
  if (f) fclose(f);
  return buf;
}

static void be32(unsigned char *p, size_t v)
{
  p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* IDX images n x h x w with pixel (i, y, x) = (7i + 4y + 3x) mod 256. */
static size_t idx_images(unsigned char *buf, size_t n, size_t h, size_t w)
{
  buf[0] = buf[1] = 0, buf[2] = 8, buf[3] = 3;
  be32(buf + 4, n), be32(buf + 8, h), be32(buf + 12, w);
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < h * w; k++)
      buf[16 + i * h * w + k] = (unsigned char)((7 * i + 4 * (k / w) + 3 * (k % w)) & 255);
  return 16 + n * h * w;
}

static size_t idx_labels(unsigned char *buf, size_t n, const unsigned char *labels)
{
  buf[0] = buf[1] = 0, buf[2] = 8, buf[3] = 1;
  be32(buf + 4, n);
  memcpy(buf + 8, labels, n);
  return 8 + n;
}

/* A JPEG of h x w pixels, all equal to px[0..c-1], quality 100. */
static void fx_jpeg(const char *rel, size_t h, size_t w, int c, const unsigned char *px)
{
  struct jpeg_compress_struct ci;
  struct jpeg_error_mgr err;
  FILE *f = fopen(fx_path(rel), "wb");
  unsigned char row[256 * 3];
  if (!f) return;
  ci.err = jpeg_std_error(&err);
  jpeg_create_compress(&ci);
  jpeg_stdio_dest(&ci, f);
  ci.image_width = (JDIMENSION)w, ci.image_height = (JDIMENSION)h;
  ci.input_components = c;
  ci.in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&ci);
  jpeg_set_quality(&ci, 100, TRUE);
  jpeg_start_compress(&ci, TRUE);
  for (size_t x = 0; x < w; x++) memcpy(row + x * (size_t)c, px, (size_t)c);
  while (ci.next_scanline < ci.image_height) {
    JSAMPROW r = row;
    jpeg_write_scanlines(&ci, &r, 1);
  }
  jpeg_finish_compress(&ci);
  jpeg_destroy_compress(&ci);
  fclose(f);
}

/* The failure must be one line naming `where` and containing `what`. */
static void expect_fail(int rc, const char *where, const char *what, const char *label)
{
  const char *msg = nzk_error_message();
  int ok = rc != 0 && strstr(msg, where) && strstr(msg, what) && !strchr(msg, '\n');
  vt_ok(ok, "%s refused (want '%s' naming %s): %s", label, what, where, rc ? msg : "no error");
  nzk_error_clear();
}

/* ---- IDX ------------------------------------------------------------------ */

static unsigned char img_buf[1 << 16], lab_buf[256];
static const unsigned char labels12[12] = {0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2};

static void idx_fixtures(void)
{
  size_t ni = idx_images(img_buf, 12, 5, 4), nl = idx_labels(lab_buf, 12, labels12);
  fx_write("raw/mnist/train-images-idx3-ubyte", img_buf, ni);
  fx_write("raw/mnist/train-labels-idx1-ubyte", lab_buf, nl);
  fx_write_gz("gz/mnist/train-images-idx3-ubyte.gz", img_buf, ni);
  fx_write_gz("gz/mnist/train-labels-idx1-ubyte.gz", lab_buf, nl);
}

static void check_idx_read(const char *images, const char *labels, const char *label)
{
  nzk_image_batch b;
  int rc = nzk_idx_load(fx_path(images), fx_path(labels), 10, &b);
  int same = rc == 0 && b.n == 12 && b.height == 5 && b.width == 4 && b.channels == 1;
  for (size_t k = 0; same && k < 12 * 20; k++) same = b.pixels[k] == img_buf[16 + k];
  for (size_t i = 0; same && i < 12; i++) same = b.labels[i] == labels12[i];
  vt_ok(same, "%s: 12 images 5x4 and labels read back byte for byte", label);
  if (rc == 0) nzk_image_batch_free(&b);
}

static void check_idx_imageset(void)
{
  nzk_imageset *s;
  const size_t *idx;
  size_t n;
  int rc = nzk_imageset_open("mnist", fx_path("gz/mnist"), "train", &s);
  vt_ok(rc == 0 && nzk_imageset_size(s) == 12, "mnist imageset from gzip: 12 images");
  if (rc) return;
  rc = nzk_imageset_members(s, 1, &idx, &n);
  vt_ok(rc == 0 && n == 4 && idx[0] == 1 && idx[1] == 4 && idx[2] == 7 && idx[3] == 10,
        "class 1 is records 1, 4, 7, 10");
  rc = nzk_imageset_members(s, 9, &idx, &n);
  expect_fail(rc, "train-labels-idx1-ubyte.gz", "has no images", "class 9 without images");
  char name[256];
  nzk_imageset_item_name(s, 7, name, sizeof name);
  vt_ok(strcmp(name, "train-images-idx3-ubyte.gz#7") == 0, "item name of record 7: %s", name);
  nzk_imageset_free(s);
}

/* Each bad file in its own name; returns the path used. */
static const char *bad_idx(const char *rel, const unsigned char *data, size_t len)
{
  fx_write(rel, data, len);
  return fx_path(rel);
}

static void check_idx_errors(void)
{
  nzk_image_batch b;
  unsigned char *lab;
  size_t n, ni = idx_images(img_buf, 12, 5, 4), len;
  const char *p;

  p = fx_path("raw/mnist/train-labels-idx1-ubyte");
  expect_fail(nzk_idx_read_images(p, &b), p, "wrong magic 0x00000801", "labels read as images");
  p = bad_idx("bad/short-images", img_buf, ni - 7);
  expect_fail(nzk_idx_read_images(p, &b), p, "dimensions do not match", "file 7 bytes short");
  memset(img_buf + ni, 0, 3);
  p = bad_idx("bad/long-images", img_buf, ni + 3);
  expect_fail(nzk_idx_read_images(p, &b), p, "longer than its header", "file 3 bytes long");
  p = bad_idx("bad/tiny-header", img_buf, 3);
  expect_fail(nzk_idx_read_images(p, &b), p, "too short for an IDX header", "3-byte file");
  be32(img_buf + 4, 0);
  p = bad_idx("bad/zero-images", img_buf, 16);
  expect_fail(nzk_idx_read_images(p, &b), p, "dimension 0 is 0", "zero images");
  p = fx_path("bad/missing");
  expect_fail(nzk_idx_read_images(p, &b), p, "cannot open: No such file", "missing file");

  unsigned char bad_labels[12];
  memcpy(bad_labels, labels12, 12);
  bad_labels[3] = 10;
  p = bad_idx("bad/labels-range", lab_buf, idx_labels(lab_buf, 12, bad_labels));
  expect_fail(nzk_idx_read_labels(p, 10, &lab, &n), p, "label 10 of record 3 is outside 0..9",
              "label out of range");

  ni = idx_images(img_buf, 11, 5, 4);
  p = bad_idx("bad/eleven-images", img_buf, ni);
  expect_fail(nzk_idx_load(p, fx_path("raw/mnist/train-labels-idx1-ubyte"), 10, &b), p,
              "fewer images than labels", "11 images for 12 labels");

  unsigned char *gz = fx_read("gz/mnist/train-images-idx3-ubyte.gz", &len);
  p = bad_idx("bad/truncated.gz", gz, len * 6 / 10);
  expect_fail(nzk_idx_read_images(p, &b), p, "truncated gzip stream", "gzip cut at 60%");
  gz[len - 6] ^= 0x55; /* inside the CRC-32 of the trailer */
  p = bad_idx("bad/crc.gz", gz, len);
  expect_fail(nzk_idx_read_images(p, &b), p, "corrupt gzip data", "gzip with a wrong CRC");
  gz[len - 6] ^= 0x55;
  gz[len / 2] ^= 0xff;
  p = bad_idx("bad/flipped.gz", gz, len);
  expect_fail(nzk_idx_read_images(p, &b), p, "gzip", "gzip with a flipped data byte");
  free(gz);
  p = bad_idx("bad/raw-named.gz", img_buf, ni);
  expect_fail(nzk_idx_read_images(p, &b), p, "not a gzip file", "raw content named .gz");

  nzk_imageset *s;
  idx_images(img_buf, 12, 5, 4);
  fx_write("nolabels/mnist/train-images-idx3-ubyte", img_buf, 16 + 12 * 20);
  expect_fail(nzk_imageset_open("mnist", fx_path("nolabels/mnist"), "train", &s),
              "train-labels-idx1-ubyte", "no such file", "missing labels file");
}

/* ---- CIFAR-10 ------------------------------------------------------------- */

/* Record j of batch b (b = 1..5, 6 = test): label (4b + j) % 10; red byte
 * k = (k + j) & 255, green (2k + b) & 255, blue 255 - (k & 255). */
static void cifar_record(unsigned char *rec, int b, int j)
{
  rec[0] = (unsigned char)((4 * b + j) % 10);
  for (int k = 0; k < 1024; k++) {
    rec[1 + k] = (unsigned char)((k + j) & 255);
    rec[1025 + k] = (unsigned char)((2 * k + b) & 255);
    rec[2049 + k] = (unsigned char)(255 - (k & 255));
  }
}

/* A CIFAR folder root/<dir>: batches 1..5 of 4 records, test of 3. */
static void cifar_fixture(const char *dir)
{
  static unsigned char buf[4 * 3073];
  char rel[256];
  for (int b = 1; b <= 6; b++) {
    int n = b == 6 ? 3 : 4;
    for (int j = 0; j < n; j++) cifar_record(buf + j * 3073, b, j);
    if (b == 6) snprintf(rel, sizeof rel, "%s/test_batch.bin", dir);
    else snprintf(rel, sizeof rel, "%s/data_batch_%d.bin", dir, b);
    fx_write(rel, buf, (size_t)n * 3073);
  }
}

static void check_cifar_read(void)
{
  nzk_image_batch b;
  cifar_fixture("c/cifar-10-batches-bin");
  int rc = nzk_cifar_read_batch(fx_path("c/cifar-10-batches-bin/data_batch_2.bin"), &b);
  /* pixel (y=3, x=5) of record 1: k = 3*32 + 5 = 101 -> (102, 204, 154) */
  int ok = rc == 0 && b.n == 4 && b.channels == 3 && b.labels[1] == 9;
  if (ok) {
    const unsigned char *p = b.pixels + 1 * 3072 + 3 * 101;
    ok = p[0] == 102 && p[1] == 204 && p[2] == 154;
  }
  vt_ok(ok, "CIFAR batch 2: 4 records, label (8+1)%%10 = 9, pixel (3,5) of record 1 = (102, "
        "204, 154)");
  if (rc == 0) nzk_image_batch_free(&b);

  nzk_imageset *s;
  nzk_image img;
  char name[64];
  rc = nzk_imageset_open("cifar10", fx_path("c/cifar-10-batches-bin"), "train", &s);
  vt_ok(rc == 0 && nzk_imageset_size(s) == 20, "cifar10 train: 5 batches of 4 = 20 records");
  if (rc) return;
  nzk_imageset_item_name(s, 5, name, sizeof name);
  rc = nzk_imageset_fetch(s, 5, &img); /* batch 2, record 1 */
  ok = rc == 0 && img.channels == 3 && img.pixels[3 * 101] == 102 &&
       img.pixels[3 * 101 + 1] == 204 && strcmp(name, "data_batch_2.bin#1") == 0;
  vt_ok(ok, "record 5 is %s with pixel (3,5) = (102, 204, 154)", name);
  size_t k;
  rc = nzk_imageset_class_lookup(s, "Truck", &k);
  vt_ok(rc == 0 && k == 9, "CIFAR class 'Truck' is 9");
  nzk_imageset_free(s);
}

static void check_cifar_errors(void)
{
  nzk_image_batch b;
  unsigned char rec[3074];
  const char *p;
  cifar_record(rec, 1, 0);
  rec[3073] = 0;
  fx_write("cbad/extra.bin", rec, 3074);
  p = fx_path("cbad/extra.bin");
  expect_fail(nzk_cifar_read_batch(p, &b), p, "not a whole number of 3073-byte records",
              "CIFAR batch of 3074 bytes");
  fx_write("cbad/empty.bin", rec, 0);
  p = fx_path("cbad/empty.bin");
  expect_fail(nzk_cifar_read_batch(p, &b), p, "empty file", "empty CIFAR batch");
  rec[0] = 11;
  fx_write("cbad/label.bin", rec, 3073);
  p = fx_path("cbad/label.bin");
  expect_fail(nzk_cifar_read_batch(p, &b), p, "label 11 of record 0 is outside 0..9",
              "CIFAR label 11");

  nzk_imageset *s;
  cifar_fixture("c3/cifar-10-batches-bin");
  unlink(fx_path("c3/cifar-10-batches-bin/data_batch_3.bin"));
  expect_fail(nzk_imageset_open("cifar10", fx_path("c3/cifar-10-batches-bin"), "train", &s),
              "data_batch_3.bin", "cannot open", "missing data_batch_3.bin");
}

/* ---- Tiny ImageNet ---------------------------------------------------------- */

static const unsigned char colour[4][3] = {{200, 100, 50}, {10, 220, 90}, {0, 0, 255},
                                           {128, 128, 128}};

static void tiny_fixture(const char *dir)
{
  char rel[512];
  static const int num[4] = {0, 1, 10, 2}; /* written out of order on purpose */
  snprintf(rel, sizeof rel, "%s/wnids.txt", dir);
  fx_write(rel, "n00000010\nn00000020\nn00000030\n", 30);
  for (int i = 0; i < 4; i++) {
    snprintf(rel, sizeof rel, "%s/train/n00000010/images/n00000010_%d.JPEG", dir, num[i]);
    fx_jpeg(rel, 16, 16, 3, colour[i]);
  }
  const unsigned char g77 = 77, g150 = 150;
  snprintf(rel, sizeof rel, "%s/train/n00000020/images/n00000020_0.JPEG", dir);
  fx_jpeg(rel, 16, 16, 1, &g77);
  snprintf(rel, sizeof rel, "%s/train/n00000020/images/n00000020_1.JPEG", dir);
  fx_jpeg(rel, 16, 16, 1, &g150);
  snprintf(rel, sizeof rel, "%s/val/images/val_0.JPEG", dir);
  fx_jpeg(rel, 16, 16, 1, &g150);
  snprintf(rel, sizeof rel, "%s/val/images/val_1.JPEG", dir);
  fx_jpeg(rel, 16, 16, 3, colour[0]);
  snprintf(rel, sizeof rel, "%s/val/val_annotations.txt", dir);
  const char *ann = "val_0.JPEG\tn00000020\t0\t0\t15\t15\nval_1.JPEG\tn00000010\t1\t1\t9\t9\n";
  fx_write(rel, ann, strlen(ann));
}

static void check_tiny_train(nzk_imageset *s)
{
  const size_t *idx;
  size_t n, k;
  char name[256];
  nzk_image img;

  int rc = nzk_imageset_members(s, 0, &idx, &n);
  nzk_imageset_item_name(s, idx[3], name, sizeof name);
  vt_ok(rc == 0 && n == 4 && strcmp(name, "train/n00000010/images/n00000010_10.JPEG") == 0,
        "class 0 has 4 files in natural order, the last is _10: %s", name);
  rc = nzk_imageset_class_lookup(s, "n00000020", &k);
  vt_ok(rc == 0 && k == 1, "wnid n00000020 is class 1 (line 2 of wnids.txt)");
  rc = nzk_imageset_class_lookup(s, "2", &k);
  vt_ok(rc == 0 && k == 2, "class '2' is n00000030");
  expect_fail(nzk_imageset_class_lookup(s, "n99", &k), "tiny-imagenet", "has no class 'n99'",
              "unknown wnid");

  rc = nzk_imageset_members(s, 1, &idx, &n);
  rc = rc ? rc : nzk_imageset_fetch(s, idx[0], &img);
  int ok = rc == 0 && img.channels == 1 && img.height == 16 && img.width == 16;
  for (size_t j = 0; ok && j < 256; j++) ok = img.pixels[j] == 77;
  vt_ok(ok, "grayscale JPEG decodes to one channel, all 77 (quality 100, flat blocks)");

  /* A flat colour survives RGB -> YCbCr -> RGB within 2 levels. */
  nzk_imageset_members(s, 0, &idx, &n);
  rc = nzk_imageset_fetch(s, idx[0], &img);
  int worst = 0;
  for (size_t j = 0; rc == 0 && j < 256 * 3; j++) {
    int d = abs((int)img.pixels[j] - (int)colour[0][j % 3]);
    worst = d > worst ? d : worst;
  }
  vt_ok(rc == 0 && img.channels == 3 && worst <= 2, "colour JPEG decodes to RGB (200,100,50) "
        "within %d <= 2 levels", worst);
  expect_fail(nzk_imageset_members(s, 2, &idx, &n), "train/n00000030/images", "no such folder",
              "class n00000030 without a folder");
}

static void check_tiny(void)
{
  nzk_imageset *s;
  tiny_fixture("t/tiny-imagenet-200");
  int rc = nzk_imageset_open("tiny-imagenet", fx_path("t/tiny-imagenet-200"), "train", &s);
  vt_ok(rc == 0 && nzk_imageset_size(s) == 6 && nzk_imageset_n_classes(s) == 3,
        "tiny-imagenet train: 3 classes, 6 images%s%s", rc ? ": " : "",
        rc ? nzk_error_message() : "");
  if (rc == 0) check_tiny_train(s);
  nzk_imageset_free(s);

  rc = nzk_imageset_open("tiny-imagenet", fx_path("t/tiny-imagenet-200"), "test", &s);
  const size_t *idx;
  size_t n;
  int ok = rc == 0 && nzk_imageset_size(s) == 2 && !nzk_imageset_members(s, 1, &idx, &n) &&
           n == 1 && idx[0] == 0;
  vt_ok(ok, "tiny-imagenet val: 2 images, val_0 is class 1 (n00000020)");
  nzk_imageset_free(s);
}

static void check_tiny_errors(void)
{
  nzk_imageset *s;
  unsigned char *jpg;
  size_t len;
  const char *p;

  tiny_fixture("tw/tiny-imagenet-200");
  unlink(fx_path("tw/tiny-imagenet-200/wnids.txt"));
  expect_fail(nzk_imageset_open("tiny-imagenet", fx_path("tw/tiny-imagenet-200"), "train", &s),
              "wnids.txt", "cannot open", "missing wnids.txt");

  fx_write("tv/tiny-imagenet-200/wnids.txt", "n1\n", 3);
  fx_write("tv/tiny-imagenet-200/val/val_annotations.txt", "a.JPEG\tn2\t0\n", 12);
  expect_fail(nzk_imageset_open("tiny-imagenet", fx_path("tv/tiny-imagenet-200"), "test", &s),
              "val_annotations.txt:1", "wnid n2 is not in wnids.txt", "unknown wnid in val");

  unsigned char *px;
  size_t h, w, c;
  fx_write("jbad/text.JPEG", "hello, not a JPEG", 17);
  p = fx_path("jbad/text.JPEG");
  expect_fail(nzk_jpeg_read(p, &px, &h, &w, &c), p, "Not a JPEG file", "text file named .JPEG");
  jpg = fx_read("t/tiny-imagenet-200/train/n00000010/images/n00000010_0.JPEG", &len);
  fx_write("jbad/half.JPEG", jpg, len / 2);
  free(jpg);
  p = fx_path("jbad/half.JPEG");
  expect_fail(nzk_jpeg_read(p, &px, &h, &w, &c), p, "not a readable JPEG", "JPEG cut in half");
  fx_path("jbad/folder.JPEG/x"); /* creates the folder jbad/folder.JPEG */
  p = fx_path("jbad/folder.JPEG");
  expect_fail(nzk_jpeg_read(p, &px, &h, &w, &c), p, "not a regular file", "folder named .JPEG");
  p = fx_path("jbad/dangling.JPEG");
  if (symlink("/nonexistent/nzk-fixture", p) == 0)
    expect_fail(nzk_jpeg_read(p, &px, &h, &w, &c), p, "cannot open", "dangling symlink");
}

/* ---- search order and the two-class set ------------------------------------ */

/* root/<top>/mnist holding 80 images 28 x 28: labels 3 and 5 alternate,
 * plus 4 images of label 7. */
static void pair_fixture(const char *top)
{
  static unsigned char img[16 + 84 * 784];
  unsigned char lab[84], lbuf[8 + 84];
  char rel[256];
  for (int i = 0; i < 84; i++) lab[i] = (unsigned char)(i >= 80 ? 7 : i % 2 ? 5 : 3);
  size_t ni = idx_images(img, 84, 28, 28);
  snprintf(rel, sizeof rel, "%s/mnist/train-images-idx3-ubyte.gz", top);
  fx_write_gz(rel, img, ni);
  snprintf(rel, sizeof rel, "%s/mnist/train-labels-idx1-ubyte", top);
  fx_write(rel, lbuf, idx_labels(lbuf, 84, lab));
}

static void check_search_order(void)
{
  nzk_data_search res;
  char path[1024], want[1024];
  pair_fixture("given");
  pair_fixture("env");
  setenv("NZK_DATA", fx_path("env"), 1);

  int rc = nzk_dataset_locate("mnist", fx_path("given"), &res, path, sizeof path);
  snprintf(want, sizeof want, "%s/given/mnist", root);
  vt_ok(rc == 0 && strcmp(path, want) == 0 && res.found == 0, "--data DIR/mnist found first");
  vt_ok(res.n_places >= 5 && strcmp(res.origin[2], "$NZK_DATA") == 0 &&
        strcmp(res.origin[4], "repository data/") == 0,
        "places: --data DIR/mnist, DIR, $NZK_DATA/mnist, $NZK_DATA, data/mnist");
  rc = nzk_dataset_locate("mnist", NULL, &res, path, sizeof path);
  snprintf(want, sizeof want, "%s/env/mnist", root);
  vt_ok(rc == 0 && strcmp(path, want) == 0, "without --data, $NZK_DATA/mnist: %s", path);
  unsetenv("NZK_DATA");
  /* A bare train/ in --data DIR is not Tiny ImageNet; tiny-imagenet-200/train/ is. */
  fx_path("bare/train/x");
  rc = nzk_dataset_locate("tiny-imagenet", fx_path("bare"), &res, path, sizeof path);
  vt_ok(res.direct[2] == 1 && (rc != 0 || res.found != 2),
        "a bare train/ folder in --data DIR does not count as Tiny ImageNet");
  fx_path("bare/tiny-imagenet-200/train/x");
  rc = nzk_dataset_locate("tiny-imagenet", fx_path("bare"), &res, path, sizeof path);
  vt_ok(rc == 0 && res.found == 0, "but DIR/tiny-imagenet-200/train/ does");
  nzk_error_clear();
  rc = nzk_dataset_locate("fashion-mnist", NULL, &res, path, sizeof path);
  vt_ok(strcmp(res.place[res.n_places - 1], "/usr/share/datasets/fashion-mnist") == 0,
        "fashion-mnist is looked for last in Debian's folder");
  nzk_error_clear();
  expect_fail(nzk_dataset_locate("imagenet", NULL, &res, path, sizeof path), "imagenet",
              "unknown data set", "unknown data set name");
}

static nzk_pair load(uint64_t seed, int replace, size_t per_class, int *rc)
{
  nzk_pair_opts o;
  nzk_pair p;
  nzk_pair_opts_init(&o);
  o.data_dir = fx_path("given");
  o.seed = seed;
  o.with_replacement = replace;
  o.per_class = per_class;
  *rc = nzk_dataset_load_pair("mnist", NULL, NULL, &o, &p);
  return p;
}

/* Rows carry their class's label, and the features are the preprocessing
 * of the image the row names. */
static void check_pair_rows(const nzk_pair *p)
{
  nzk_image_batch b;
  nzk_prep *w = nzk_prep_alloc(8, NZK_PREP_OPENCV);
  double f[64];
  size_t ones = 0, bad_label = 0, bad_x = 0, first_half_ones = 0;
  nzk_idx_load(fx_path("given/mnist/train-images-idx3-ubyte.gz"),
               fx_path("given/mnist/train-labels-idx1-ubyte"), 10, &b);
  for (size_t i = 0; i < p->n; i++) {
    int y = (int)gsl_vector_get(p->y, i);
    ones += y == 1;
    first_half_ones += i < p->n / 2 && y == 1;
    bad_label += b.labels[p->index[i]] != (y ? 5 : 3);
    nzk_image img = nzk_image_batch_get(&b, p->index[i]);
    nzk_prep_image(w, &img, f);
    for (size_t j = 0; j < 64; j++) bad_x += f[j] != gsl_matrix_get(p->X, i, j);
  }
  vt_ok(p->n == 200 && p->X->size1 == 200 && p->X->size2 == 64 && ones == 100,
        "200 x 64 features, 100 rows labelled 1");
  vt_ok(bad_label == 0, "label 0 rows are class 3 images, label 1 rows class 5 (%zu wrong)",
        bad_label);
  vt_ok(bad_x == 0, "every row equals the preprocessing of its image (%zu entries differ)",
        bad_x);
  vt_ok(first_half_ones > 20 && first_half_ones < 80, "rows are shuffled: %zu of the first 100 "
        "are label 1", first_half_ones);
  nzk_image_batch_free(&b);
  nzk_prep_free(w);
}

static void check_pair(uint64_t seed)
{
  int rc1, rc2, rc3;
  nzk_pair a = load(seed, 1, 100, &rc1), b = load(seed, 1, 100, &rc2);
  nzk_pair c = load(seed + 1, 1, 100, &rc3);
  vt_ok(!rc1 && !rc2 && !rc3, "three loads of mnist 3 vs 5 %s", rc1 ? nzk_error_message() : "");
  if (rc1 || rc2 || rc3) return;
  check_pair_rows(&a);
  int same = gsl_matrix_equal(a.X, b.X) && gsl_vector_equal(a.y, b.y);
  size_t differ = 0;
  for (size_t i = 0; i < a.n; i++) {
    same &= a.index[i] == b.index[i];
    differ += a.index[i] != c.index[i];
  }
  vt_ok(same, "same seed %llu: same draw, same order, same features", (unsigned long long)seed);
  vt_ok(differ > 100, "seed %llu vs %llu: %zu of 200 rows differ", (unsigned long long)seed,
        (unsigned long long)seed + 1, differ);
  vt_ok(strcmp(a.class_name[0], "3") == 0 && a.class_size[0] == 40 && a.class_size[1] == 40,
        "default pair 3 vs 5, 40 images each");
  nzk_pair_free(&a), nzk_pair_free(&b), nzk_pair_free(&c);
}

static void check_pair_without_replacement(uint64_t seed)
{
  int rc;
  nzk_pair p = load(seed, 0, 40, &rc);
  int seen[84] = {0}, dup = 0;
  for (size_t i = 0; rc == 0 && i < p.n; i++) dup += seen[p.index[i]]++ > 0;
  vt_ok(rc == 0 && p.n == 80 && dup == 0, "without replacement: 40 + 40 distinct images");
  if (rc == 0) nzk_pair_free(&p);
  load(seed, 0, 41, &rc);
  expect_fail(rc, "given/mnist", "fewer than the 41 asked", "41 distinct images of 40");

  nzk_pair_opts o;
  nzk_pair q;
  nzk_pair_opts_init(&o);
  o.data_dir = fx_path("given");
  expect_fail(nzk_dataset_load_pair("mnist", "5", "5", &o, &q), "'5'", "must differ",
              "the same class twice");
  expect_fail(nzk_dataset_load_pair("mnist", "3", "9", &o, &q), "train-labels-idx1-ubyte",
              "has no images", "a class with no images");
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
  (void)sb, (void)flag, (void)ftw;
  return remove(path);
}

int main(void)
{
  const char *tmp = getenv("TMPDIR");
  snprintf(root, sizeof root, "%s/nzk-data-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(root)) {
    perror("mkdtemp");
    return 1;
  }
  idx_fixtures();
  check_idx_read("raw/mnist/train-images-idx3-ubyte", "raw/mnist/train-labels-idx1-ubyte",
                 "IDX raw");
  check_idx_read("gz/mnist/train-images-idx3-ubyte.gz", "gz/mnist/train-labels-idx1-ubyte.gz",
                 "IDX gzip");
  check_idx_imageset();
  check_idx_errors();
  check_cifar_read();
  check_cifar_errors();
  check_tiny();
  check_tiny_errors();
  check_search_order();
  check_pair(vt_seed(20260321));
  check_pair_without_replacement(vt_seed(20260321));
  nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return vt_finish();
}
