/* data_images.h: the real image data sets of DESIGN.md section 5 (MNIST,
 * Fashion-MNIST, CIFAR-10, Tiny ImageNet), read in their distribution
 * formats and preprocessed the way the authors' code does.
 *
 * Formats (one .c each):
 *   data_idx.c    IDX files, raw or gzip: MNIST and Fashion-MNIST images
 *                 (magic 0x00000803, n x rows x cols bytes) and labels
 *                 (magic 0x00000801, n bytes).
 *   data_cifar.c  CIFAR-10 binary batches: records of 1 label byte then the
 *                 red, green and blue 32 x 32 planes (3073 bytes).
 *   data_tiny.c   Tiny ImageNet as distributed: wnids.txt (class k is its
 *                 k-th line), train/<wnid>/images/<wnid>_<i>.JPEG,
 *                 val/val_annotations.txt and val/images/, decoded with
 *                 libjpeg-turbo (grayscale JPEGs too).
 *   data_prep.c   grayscale, resize and scaling to [0, 1].
 *   data_locate.c where data sets are looked for; the two-class loader.
 *
 * Preprocessing (DESIGN.md section 5; the authors' zo_ntk/data.py) turns
 * one 8-bit image into r*r doubles:
 *   1. gray: RGB images become one channel.  NZK_PREP_OPENCV reproduces
 *      OpenCV 4's cvtColor(RGB2GRAY) on 8-bit input bit for bit, which is
 *      what the authors call: g = (9798 R + 19235 G + 3735 B + 16384) >> 15,
 *      an integer 0..255 (9798/32768 = 0.299011, 19235/32768 = 0.587006,
 *      3735/32768 = 0.113983: the weights 0.299, 0.587, 0.114 in 15-bit
 *      fixed point; checked on all 2^24 colours against OpenCV 4.6.
 *      OpenCV 3 used 14-bit weights and differs on 0.26% of colours).
 *      NZK_PREP_EXACT uses the real-valued g = 0.299 R + 0.587 G + 0.114 B
 *      in double.  Gray input is kept as it is.
 *   2. divide by 255 (double, correctly rounded, as numpy's x / 255.0).
 *   3. resize to r x r with OpenCV's INTER_LINEAR semantics on that double
 *      image.  The authors divide BEFORE resizing, so OpenCV runs its
 *      CV_64F path: double arithmetic with float32 weights.  Its 8-bit
 *      path (11-bit fixed-point weights, integer rounding) is never used
 *      by them and is not reproduced here.  See nzk_resize_plan_alloc for
 *      the exact arithmetic.
 *   4. flatten row-major (pixel (i, j) goes to entry i*r + j).
 * The authors finally cast to float32; we keep double (Limitation: our
 * features therefore differ from theirs by float32 rounding, < 3e-8).
 *
 * Sampling (nzk_dataset_load_pair): two classes, `per_class` indices drawn
 * uniformly with replacement from each class's images (class a first,
 * then class b), labelled 0 and 1, then all rows shuffled, all from the
 * stream nzk_stream_alloc(seed, NZK_DATA_STREAM_CHUNK).  The authors use
 * numpy's generator, so the same seed does not give their draw. */
#ifndef NZK_DATA_IMAGES_H
#define NZK_DATA_IMAGES_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>

/* ---- images in memory -------------------------------------------------- */

/* A non-owning view of one 8-bit image: height x width pixels, row-major,
 * channels interleaved (1 = gray, 3 = RGB). */
typedef struct {
  size_t height, width, channels;
  const unsigned char *pixels;
} nzk_image;

/* n equal-sized images with their labels, owned (free with
 * nzk_image_batch_free).  pixels: n*height*width*channels bytes, image
 * after image; labels: n bytes, or NULL when not loaded. */
typedef struct {
  size_t n, height, width, channels;
  unsigned char *pixels;
  unsigned char *labels;
} nzk_image_batch;

void nzk_image_batch_free(nzk_image_batch *b);
/* View of image i of the batch (i < b->n). */
nzk_image nzk_image_batch_get(const nzk_image_batch *b, size_t i);

/* ---- formats ----------------------------------------------------------- */

/* IDX images file (raw, or gzip when the content is gzip; a name ending in
 * ".gz" must be gzip).  Fills n, height, width, channels = 1 and pixels.
 * Every failure is GSL_EFAILED with "<path>: <what is wrong>": cannot
 * open, wrong magic, zero or oversized dimensions, truncated or corrupt
 * gzip (zlib's reason), fewer or more bytes than the header promises. */
int nzk_idx_read_images(const char *path, nzk_image_batch *b);

/* IDX labels file: *labels (n bytes, caller frees) with every label below
 * n_classes, else GSL_EFAILED naming the first bad record. */
int nzk_idx_read_labels(const char *path, size_t n_classes, unsigned char **labels,
                        size_t *n);

/* Images and labels together; the counts must agree ("<images>: 59999
 * images but <labels> has 60000 labels").  Fills the whole batch. */
int nzk_idx_load(const char *images_path, const char *labels_path, size_t n_classes,
                 nzk_image_batch *b);

/* Read only the header of an IDX file: *ndim (1..3) and dims[0..ndim-1].
 * For `nzk datasets`; the data are not checked. */
int nzk_idx_read_header(const char *path, size_t *ndim, size_t dims[3]);

/* One CIFAR-10 binary batch: n = size / 3073 records, 32 x 32 RGB images
 * (planes re-interleaved) and labels < 10.  GSL_EFAILED if the size is not
 * a positive multiple of 3073 or a label is out of range. */
int nzk_cifar_read_batch(const char *path, nzk_image_batch *b);

/* Decode a JPEG file with libjpeg-turbo (default islow DCT and fancy
 * upsampling, as PIL).  Grayscale JPEGs give channels = 1, colour ones
 * channels = 3 (RGB).  *pixels is allocated (caller frees).  Any libjpeg
 * error or corrupt-data warning is GSL_EFAILED "<path>: <reason>". */
int nzk_jpeg_read(const char *path, unsigned char **pixels, size_t *height, size_t *width,
                  size_t *channels);

/* ---- preprocessing ----------------------------------------------------- */

typedef enum {
  NZK_PREP_OPENCV = 0, /* the authors' pipeline bit for bit (default) */
  NZK_PREP_EXACT = 1   /* real-valued gray weights and double bilinear weights */
} nzk_prep_mode;

/* "opencv" or "exact"; GSL_EINVAL otherwise. */
int nzk_prep_mode_parse(const char *s, nzk_prep_mode *mode);
const char *nzk_prep_mode_name(nzk_prep_mode mode);

/* Gray value of one RGB pixel on the 0..255 scale: OpenCV's integer
 * (9798 R + 19235 G + 3735 B + 16384) >> 15, or 0.299 R + 0.587 G + 0.114 B. */
double nzk_gray_value(unsigned char r, unsigned char g, unsigned char b, nzk_prep_mode mode);

/* A resize from sh x sw to dh x dw with OpenCV's INTER_LINEAR semantics
 * (cv::resize on a CV_64F image, OpenCV 3.x/4.x generic code path).
 * Source coordinate of output pixel d along an axis:
 *   s = (d + 0.5) * scale - 0.5,  scale = 1 / (dst / src)  (in double),
 * computed in double and rounded to float32; i = floor(s), f = s - i in
 * float32; weights (1 - f, f) as float32, then used in double.  Borders:
 * along x, s < 0 gives (i, f) = (0, 0) and i >= src-1 gives (src-1, 0);
 * along y the two rows are clamped to 0..src-1 with f kept.  Output =
 * b0 * h(row i) + b1 * h(row i+1) with h(x) = a0 S[i] + a1 S[i+1] per row,
 * in that order; no antialiasing when shrinking (only 2 x 2 neighbours).
 * Special cases OpenCV takes: equal sizes copy; a scale of exactly 2 on
 * both axes averages each 2 x 2 block, ((p00 + p01) + p10 + p11) * 0.25.
 * NZK_PREP_EXACT computes s, f and the weights in double, without the
 * scale-2 shortcut.  Returns NULL (after NZK_FAIL) for a zero size. */
typedef struct nzk_resize_plan nzk_resize_plan;
nzk_resize_plan *nzk_resize_plan_alloc(size_t sh, size_t sw, size_t dh, size_t dw,
                                       nzk_prep_mode mode);
void nzk_resize_plan_free(nzk_resize_plan *p);
/* src: sh x sw doubles, dst: dh x dw doubles (row-major, not aliased). */
void nzk_resize_apply(const nzk_resize_plan *p, const double *src, double *dst);

/* Workspace turning 8-bit images of any size into r*r features: gray,
 * /255, resize, flatten (steps 1-4 above).  Plans are rebuilt only when
 * the source size changes. */
typedef struct nzk_prep nzk_prep;
nzk_prep *nzk_prep_alloc(size_t r, nzk_prep_mode mode);
void nzk_prep_free(nzk_prep *w);
/* out: r*r doubles.  GSL_EINVAL for channels other than 1 or 3,
 * GSL_ENOMEM if a buffer cannot grow. */
int nzk_prep_image(nzk_prep *w, const nzk_image *img, double *out);

/* ---- data sets by name -------------------------------------------------- */

/* Known names: "mnist", "fashion-mnist", "cifar10", "tiny-imagenet".
 * Splits: "train" (MNIST train-*, CIFAR data_batch_1..5, Tiny train/) and
 * "test" (t10k-*, test_batch.bin, Tiny val/). */

/* An opened data set split: class list, which images belong to a class,
 * and decoding of single images (JPEGs are decoded on demand; IDX and
 * CIFAR labels are read at open time and pixels on demand for CIFAR). */
typedef struct nzk_imageset nzk_imageset;

/* Open data set `name` stored in folder `dir` (a folder found by
 * nzk_dataset_locate or given directly).  Every file problem is
 * GSL_EFAILED naming the file; an unknown name or split GSL_EINVAL. */
int nzk_imageset_open(const char *name, const char *dir, const char *split,
                      nzk_imageset **out);
void nzk_imageset_free(nzk_imageset *s);
/* Number of images in the split and number of classes. */
size_t nzk_imageset_size(const nzk_imageset *s);
size_t nzk_imageset_n_classes(const nzk_imageset *s);
/* Name of class k (Fashion-MNIST and CIFAR-10 words, MNIST digits, Tiny
 * ImageNet wnids). */
const char *nzk_imageset_class_name(const nzk_imageset *s, size_t k);
/* Class from a spec: a decimal index below n_classes, or a class name
 * (case-insensitive; a wnid for Tiny ImageNet).  GSL_EINVAL listing the
 * valid choices otherwise. */
int nzk_imageset_class_lookup(const nzk_imageset *s, const char *spec, size_t *k);
/* The indices of class k's images, in the split's order: record numbers
 * for IDX and CIFAR (batches concatenated), for Tiny ImageNet positions
 * in the split's file list (classes in wnids.txt order, files in natural
 * order within a class; val in annotation order).  The array belongs to s.
 * A class without images gives GSL_EFAILED naming where it was looked for. */
int nzk_imageset_members(nzk_imageset *s, size_t k, const size_t **idx, size_t *count);
/* Decode image `index`; the pixels belong to s and stay valid until the
 * next fetch.  GSL_EFAILED naming the file on a read or decode error. */
int nzk_imageset_fetch(nzk_imageset *s, size_t index, nzk_image *img);
/* "train-images-idx3-ubyte.gz#1234", "data_batch_2.bin#17",
 * "train/n01443537/images/n01443537_12.JPEG": where image `index` lives. */
void nzk_imageset_item_name(const nzk_imageset *s, size_t index, char *buf, size_t len);

/* ---- where data sets are looked for ------------------------------------- */

/* In this order, for data set NAME (folder names in parentheses):
 *   1. DIR given by --data (data_dir argument): DIR/<folder>, then DIR;
 *   2. $NZK_DATA: the same two;
 *   3. the repository's data/ (NZK_SOURCE_DIR at build time): data/<folder>;
 *   4. Debian's /usr/share/datasets/fashion-mnist (fashion-mnist only).
 * Folders: mnist (mnist), fashion-mnist (fashion-mnist), cifar10
 * (cifar-10-batches-bin, cifar10), tiny-imagenet (tiny-imagenet-200,
 * tiny-imagenet).  A place holds the data set when one of its files is
 * there (IDX train or t10k images; a CIFAR batch; wnids.txt, or train/ in
 * a folder named for Tiny ImageNet).  Missing companions are reported
 * when the set is opened. */
enum { NZK_DATA_MAX_PLACES = 10 };

typedef struct {
  size_t n_places;
  char place[NZK_DATA_MAX_PLACES][1024]; /* folders looked at, in order */
  char origin[NZK_DATA_MAX_PLACES][48];  /* "--data", "$NZK_DATA", ... */
  int direct[NZK_DATA_MAX_PLACES];       /* 1: the folder itself, not <folder> in it */
  int found;                             /* index into place[], or -1 */
} nzk_data_search;

/* Static facts about a known data set. */
typedef struct {
  const char *name;        /* "cifar10" */
  const char *title;       /* "CIFAR-10 (binary version)" */
  size_t n_classes;
  const char *class_a, *class_b; /* default pair: the paper's (DESIGN.md section 5);
                                  * Fashion-MNIST takes MNIST's 3 vs 5 */
  const char *how_to_get;  /* one line: script or Debian package */
} nzk_dataset_info;

/* Table of the known data sets, terminated by name == NULL. */
const nzk_dataset_info *nzk_dataset_list(void);
/* Info for `name`, or NULL (after NZK_FAIL(GSL_EINVAL) listing the names). */
const nzk_dataset_info *nzk_dataset_find(const char *name);

/* Look for data set `name`; fills *res (always) and, when found, `path`.
 * Returns 0 when found, GSL_EFAILED "data set X not found (looked in ...)"
 * when not, GSL_EINVAL for an unknown name. */
int nzk_dataset_locate(const char *name, const char *data_dir, nzk_data_search *res,
                       char *path, size_t path_len);

/* One line on what folder `dir` holds for data set `name`, read from file
 * headers and sizes only (cheap; nzk_imageset_open checks everything):
 * "train 60000 x 28 x 28 (train-images-idx3-ubyte.gz), test 10000 x ...".
 * Returns 0, or the failure of the first file that cannot be read. */
int nzk_dataset_describe(const char *name, const char *dir, char *buf, size_t len);

/* The MNIST-format data set to use: "mnist" when MNIST is found, else
 * "fashion-mnist" (DESIGN.md section 5: Fashion-MNIST is the default real
 * data set wherever MNIST is absent).  Never fails; the caller's load
 * reports a missing Fashion-MNIST. */
const char *nzk_dataset_mnist_like(const char *data_dir);

/* ---- the two-class training set ----------------------------------------- */

/* Random stream chunk used for class sampling: "data" in ASCII. */
#define NZK_DATA_STREAM_CHUNK UINT64_C(0x64617461)

typedef struct {
  const char *data_dir;  /* --data DIR, or NULL */
  const char *split;     /* "train" (default) or "test" */
  size_t per_class;      /* draws per class, default 100 */
  size_t resolution;     /* r, default 8: features are r*r */
  uint64_t seed;         /* default 0 */
  int with_replacement;  /* default 1, as the authors; 0 draws distinct images */
  nzk_prep_mode prep;    /* default NZK_PREP_OPENCV */
} nzk_pair_opts;

/* The defaults above. */
void nzk_pair_opts_init(nzk_pair_opts *o);

/* A preprocessed two-class set and where it came from. */
typedef struct {
  gsl_matrix *X;          /* n x r*r, entries in [0, 1] */
  gsl_vector *y;          /* n labels, 0 (class a) or 1 (class b) */
  size_t n, per_class, resolution;
  uint64_t seed;
  int with_replacement;
  nzk_prep_mode prep;
  char dataset[32];
  char split[8];
  char location[1024];    /* folder the data set was read from */
  char class_name[2][96]; /* class a, class b */
  size_t class_index[2];
  size_t class_size[2];   /* images available in each class */
  size_t *index;          /* n: index of row i's image (nzk_imageset_members) */
  char **item;            /* n: file (and record) of row i's image */
} nzk_pair;

/* Locate data set `name`, draw opts->per_class images of class_a and of
 * class_b (specs as nzk_imageset_class_lookup; NULL = the paper's pair),
 * preprocess them (r = opts->resolution) and shuffle: see the file
 * comment.  *out is filled and owned by the caller (nzk_pair_free).
 * GSL_EINVAL for bad options or equal classes, GSL_EFAILED for missing
 * or bad data (the message names the file), GSL_ENOMEM. */
int nzk_dataset_load_pair(const char *name, const char *class_a, const char *class_b,
                          const nzk_pair_opts *opts, nzk_pair *out);
void nzk_pair_free(nzk_pair *p);

#endif
