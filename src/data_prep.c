/* data_prep.c: grayscale, scaling to [0, 1] and bilinear resize of 8-bit
 * images, as the authors' preprocessing does (DESIGN.md section 5; the
 * exact arithmetic is stated in data_images.h).
 *
 * The resize reproduces what cv::resize(src, dst, Size(r, r)) computes for
 * a CV_64F image with the default INTER_LINEAR in OpenCV's generic C++
 * code (checked bit for bit against Debian's OpenCV 4.6 while writing
 * this; see README).  Two details decide the last digits:
 *   - source positions and weights are float32 values (OpenCV stores its
 *     interpolation tables as float even for double images), so for a
 *     scale such as 10/3 the weights differ from the real ones by ~1e-8;
 *   - a scale of exactly 2 on both axes is handed to OpenCV's area
 *     averaging, which sums the 2 x 2 block in its own order.
 * Limitation: OpenCV builds that route CV_64F resizes through Intel IPP
 * (some pip wheels) may differ in the last bit; Debian's build has no IPP.
 * NZK_PREP_EXACT drops both details and computes everything in double.
 *
 * This file must not be compiled with floating-point contraction (a*b+c
 * fused into one rounding would change the last bit); CMake sets
 * -ffp-contract=off on it. */
#include "data_images.h"
#include "nzk_error.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { RESIZE_COPY, RESIZE_AREA2, RESIZE_LINEAR };

struct nzk_resize_plan {
  size_t sh, sw, dh, dw;
  nzk_prep_mode mode;
  int kind;
  size_t *xofs;  /* dw: left source column of each output column */
  double *alpha; /* 2 dw: its two weights */
  size_t xmax;   /* output columns >= xmax copy S[xofs] (right border) */
  size_t *yrow;  /* 2 dh: the two source rows, clamped */
  double *beta;  /* 2 dh: their weights */
};

int nzk_prep_mode_parse(const char *s, nzk_prep_mode *mode)
{
  if (s && strcmp(s, "opencv") == 0) *mode = NZK_PREP_OPENCV;
  else if (s && strcmp(s, "exact") == 0) *mode = NZK_PREP_EXACT;
  else return NZK_FAIL(GSL_EINVAL, "preprocessing mode must be 'opencv' or 'exact', got '%s'",
                       s ? s : "(null)");
  return 0;
}

const char *nzk_prep_mode_name(nzk_prep_mode mode)
{
  return mode == NZK_PREP_EXACT ? "exact" : "opencv";
}

double nzk_gray_value(unsigned char r, unsigned char g, unsigned char b, nzk_prep_mode mode)
{
  if (mode == NZK_PREP_EXACT) return 0.299 * r + 0.587 * g + 0.114 * b;
  /* OpenCV 4's RGB2Gray<uchar>: 15-bit weights summing to 32768, + half. */
  return (double)((9798u * r + 19235u * g + 3735u * b + 16384u) >> 15);
}

/* One axis of OpenCV's INTER_LINEAR table: position s = (d + 0.5) scale
 * - 0.5 rounded to float, floor and fraction in float, weights 1 - f and
 * f in float.  `is_x` applies the x-axis border rule (index and fraction
 * reset, *xmax = first column at the right border); the y axis only
 * clamps the two rows. */
static void axis_opencv(size_t src, size_t dst, int is_x, size_t *ofs, double *w, size_t *xmax)
{
  const double scale = 1.0 / ((double)dst / (double)src);
  const int n = (int)src;

  for (size_t d = 0; d < dst; d++) {
    float f = (float)(((double)d + 0.5) * scale - 0.5);
    int i = (int)floorf(f);
    f -= (float)i;
    if (is_x) {
      if (i < 0) f = 0.0f, i = 0;
      if (i + 1 >= n) {
        if (d < *xmax) *xmax = d;
        f = 0.0f, i = n - 1;
      }
      ofs[d] = (size_t)i;
    } else {
      ofs[2 * d] = (size_t)(i < 0 ? 0 : i >= n ? n - 1 : i);
      ofs[2 * d + 1] = (size_t)(i + 1 < 0 ? 0 : i + 1 >= n ? n - 1 : i + 1);
    }
    w[2 * d] = (double)(1.0f - f);
    w[2 * d + 1] = (double)f;
  }
}

/* The same geometry with every quantity in double (NZK_PREP_EXACT). */
static void axis_exact(size_t src, size_t dst, int is_x, size_t *ofs, double *w, size_t *xmax)
{
  const double scale = (double)src / (double)dst;
  const long n = (long)src;

  for (size_t d = 0; d < dst; d++) {
    double s = ((double)d + 0.5) * scale - 0.5;
    long i = (long)floor(s);
    double f = s - (double)i;
    if (is_x) {
      if (i < 0) f = 0.0, i = 0;
      if (i + 1 >= n) {
        if (d < *xmax) *xmax = d;
        f = 0.0, i = n - 1;
      }
      ofs[d] = (size_t)i;
    } else {
      ofs[2 * d] = (size_t)(i < 0 ? 0 : i >= n ? n - 1 : i);
      ofs[2 * d + 1] = (size_t)(i + 1 < 0 ? 0 : i + 1 >= n ? n - 1 : i + 1);
    }
    w[2 * d] = 1.0 - f;
    w[2 * d + 1] = f;
  }
}

/* OpenCV hands INTER_LINEAR to its area averaging when both scales are
 * within DBL_EPSILON of the integer 2 (hal::resize, "is_area_fast"). */
static int opencv_takes_area2(size_t sh, size_t sw, size_t dh, size_t dw)
{
  double sx = 1.0 / ((double)dw / (double)sw), sy = 1.0 / ((double)dh / (double)sh);
  double ix = nearbyint(sx), iy = nearbyint(sy);
  return fabs(sx - ix) < DBL_EPSILON && fabs(sy - iy) < DBL_EPSILON && ix == 2 && iy == 2;
}

nzk_resize_plan *nzk_resize_plan_alloc(size_t sh, size_t sw, size_t dh, size_t dw,
                                       nzk_prep_mode mode)
{
  if (!sh || !sw || !dh || !dw || sh > 1u << 20 || sw > 1u << 20 || dh > 1u << 20 ||
      dw > 1u << 20) {
    NZK_FAIL(GSL_EINVAL, "resize: sizes must be 1..2^20, got %zu x %zu -> %zu x %zu", sh, sw,
             dh, dw);
    return NULL;
  }
  nzk_resize_plan *p = calloc(1, sizeof *p);
  if (!p) goto nomem;
  *p = (nzk_resize_plan){.sh = sh, .sw = sw, .dh = dh, .dw = dw, .mode = mode, .xmax = dw};
  p->xofs = malloc(dw * sizeof *p->xofs);
  p->alpha = malloc(2 * dw * sizeof *p->alpha);
  p->yrow = malloc(2 * dh * sizeof *p->yrow);
  p->beta = malloc(2 * dh * sizeof *p->beta);
  if (!p->xofs || !p->alpha || !p->yrow || !p->beta) goto nomem;

  if (sh == dh && sw == dw) p->kind = RESIZE_COPY;
  else if (mode == NZK_PREP_OPENCV && opencv_takes_area2(sh, sw, dh, dw)) p->kind = RESIZE_AREA2;
  else p->kind = RESIZE_LINEAR;

  if (mode == NZK_PREP_OPENCV) {
    axis_opencv(sw, dw, 1, p->xofs, p->alpha, &p->xmax);
    axis_opencv(sh, dh, 0, p->yrow, p->beta, NULL);
  } else {
    axis_exact(sw, dw, 1, p->xofs, p->alpha, &p->xmax);
    axis_exact(sh, dh, 0, p->yrow, p->beta, NULL);
  }
  return p;

nomem:
  nzk_resize_plan_free(p);
  NZK_FAIL(GSL_ENOMEM, "resize: out of memory (%zu x %zu -> %zu x %zu)", sh, sw, dh, dw);
  return NULL;
}

void nzk_resize_plan_free(nzk_resize_plan *p)
{
  if (!p) return;
  free(p->xofs);
  free(p->alpha);
  free(p->yrow);
  free(p->beta);
  free(p);
}

/* Horizontal pass on one source row at output column dx, as OpenCV's
 * HResizeLinear: S[i] a0 + S[i+1] a1, or S[i] alone at the right border. */
static inline double hpass(const nzk_resize_plan *p, const double *row, size_t dx)
{
  size_t i = p->xofs[dx];
  if (dx >= p->xmax) return row[i];
  return row[i] * p->alpha[2 * dx] + row[i + 1] * p->alpha[2 * dx + 1];
}

void nzk_resize_apply(const nzk_resize_plan *p, const double *src, double *dst)
{
  const size_t sw = p->sw, dw = p->dw;

  if (p->kind == RESIZE_COPY) {
    memcpy(dst, src, p->sh * sw * sizeof *dst);
    return;
  }
  if (p->kind == RESIZE_AREA2) {
    /* OpenCV's resizeAreaFast_: sum += a + b + c + d, then * 0.25f. */
    for (size_t dy = 0; dy < p->dh; dy++) {
      const double *s0 = src + 2 * dy * sw, *s1 = s0 + sw;
      for (size_t dx = 0; dx < dw; dx++)
        dst[dy * dw + dx] = (s0[2 * dx] + s0[2 * dx + 1] + s1[2 * dx] + s1[2 * dx + 1]) * 0.25;
    }
    return;
  }
  for (size_t dy = 0; dy < p->dh; dy++) {
    const double *r0 = src + p->yrow[2 * dy] * sw, *r1 = src + p->yrow[2 * dy + 1] * sw;
    const double b0 = p->beta[2 * dy], b1 = p->beta[2 * dy + 1];
    for (size_t dx = 0; dx < dw; dx++)
      dst[dy * dw + dx] = hpass(p, r0, dx) * b0 + hpass(p, r1, dx) * b1;
  }
}

/* ---- the whole preprocessing of one image ------------------------------ */

struct nzk_prep {
  size_t r;
  nzk_prep_mode mode;
  nzk_resize_plan *plan; /* for the last source size seen */
  double *gray;          /* source image as doubles in [0, 1] */
  size_t gray_cap;
  double scaled[256];    /* v / 255.0 for every byte value */
};

nzk_prep *nzk_prep_alloc(size_t r, nzk_prep_mode mode)
{
  if (r == 0 || r > 4096) {
    NZK_FAIL(GSL_EINVAL, "resolution must be 1..4096, got %zu", r);
    return NULL;
  }
  nzk_prep *w = calloc(1, sizeof *w);
  if (!w) {
    NZK_FAIL(GSL_ENOMEM, "out of memory (preprocessing workspace)");
    return NULL;
  }
  w->r = r;
  w->mode = mode;
  for (int v = 0; v < 256; v++) w->scaled[v] = (double)v / 255.0;
  return w;
}

void nzk_prep_free(nzk_prep *w)
{
  if (!w) return;
  nzk_resize_plan_free(w->plan);
  free(w->gray);
  free(w);
}

/* Step 1 and 2: one double per pixel, gray / 255. */
static void to_gray_scaled(const nzk_prep *w, const nzk_image *img, double *out)
{
  const size_t npix = img->height * img->width;
  const unsigned char *px = img->pixels;

  if (img->channels == 1) {
    for (size_t k = 0; k < npix; k++) out[k] = w->scaled[px[k]];
  } else if (w->mode == NZK_PREP_OPENCV) {
    for (size_t k = 0; k < npix; k++, px += 3)
      out[k] = w->scaled[(9798u * px[0] + 19235u * px[1] + 3735u * px[2] + 16384u) >> 15];
  } else {
    for (size_t k = 0; k < npix; k++, px += 3)
      out[k] = (0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2]) / 255.0;
  }
}

int nzk_prep_image(nzk_prep *w, const nzk_image *img, double *out)
{
  const size_t h = img->height, wd = img->width, npix = h * wd;

  if (img->channels != 1 && img->channels != 3)
    return NZK_FAIL(GSL_EINVAL, "preprocessing: %zu channels (only 1 or 3)", img->channels);
  if (!h || !wd) return NZK_FAIL(GSL_EINVAL, "preprocessing: empty image %zu x %zu", h, wd);

  if (npix > w->gray_cap) {
    double *g = realloc(w->gray, npix * sizeof *g);
    if (!g) return NZK_FAIL(GSL_ENOMEM, "out of memory (image of %zu x %zu)", h, wd);
    w->gray = g;
    w->gray_cap = npix;
  }
  if (!w->plan || w->plan->sh != h || w->plan->sw != wd) {
    nzk_resize_plan_free(w->plan);
    w->plan = nzk_resize_plan_alloc(h, wd, w->r, w->r, w->mode);
    if (!w->plan) return nzk_error_code();
  }
  to_gray_scaled(w, img, w->gray);
  nzk_resize_apply(w->plan, w->gray, out);
  return 0;
}
