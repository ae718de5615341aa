/* test_data_prep.c: the preprocessing of data_prep.c against values worked
 * out by hand (DESIGN.md section 5: gray, /255, bilinear resize with
 * OpenCV's INTER_LINEAR semantics).  Each case states its hand computation.
 * Exact checks use a tolerance of EXACT_ULPS x DBL_EPSILON (relative):
 * every expected value below is a short sum of products, so a correct
 * implementation is within a few units in the last place; a wrong weight,
 * a wrong border rule or a missed float32 rounding is off by 1e-8 or more.
 * Where OpenCV's float32 arithmetic makes the result an exact dyadic
 * number, the tolerance is 0.  (Bit-for-bit agreement with OpenCV itself
 * on random images is checked by scripts/crosscheck-opencv.py, which needs
 * python3-opencv and is not part of the test suite.) */
#include "data_images.h"
#include "nzk_error.h"
#include "vtest.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define EXACT_ULPS 8.0

static void resize(size_t sh, size_t sw, size_t dh, size_t dw, nzk_prep_mode mode,
                   const double *src, double *dst)
{
  nzk_resize_plan *p = nzk_resize_plan_alloc(sh, sw, dh, dw, mode);
  if (!p) {
    vt_ok(0, "resize plan %zu x %zu -> %zu x %zu: %s", sh, sw, dh, dw, nzk_error_message());
    return;
  }
  nzk_resize_apply(p, src, dst);
  nzk_resize_plan_free(p);
}

/* 28 x 28 -> 8 x 8, the MNIST setting.  scale = 1 / (8/28) = 3.5 exactly,
 * so output column j samples x = (j + 0.5) 3.5 - 0.5 = 3.5 j + 1.25: pixel
 * 3.5 j + 1 with weights 0.75 / 0.25 when j is even (x = 1.25, 8.25, ...)
 * and 3.5 j + 0.5 with weights 0.25 / 0.75 when j is odd (x = 4.75, ...);
 * all in [0, 27], so no border rule applies and the weights are exact in
 * float32.  Bilinear interpolation reproduces a linear image exactly: for
 * the 8-bit ramp p(x, y) = 3x + 5y (max 216), output (i, j) must be
 *   (3 (3.5 j + 1.25) + 5 (3.5 i + 1.25)) / 255. */
static void check_ramp_28_to_8(void)
{
  unsigned char px[28 * 28];
  double out[64];
  for (int y = 0; y < 28; y++)
    for (int x = 0; x < 28; x++) px[y * 28 + x] = (unsigned char)(3 * x + 5 * y);
  nzk_image img = {28, 28, 1, px};

  for (int m = 0; m < 2; m++) {
    nzk_prep *w = nzk_prep_alloc(8, (nzk_prep_mode)m);
    int rc = nzk_prep_image(w, &img, out);
    double worst = 0;
    for (int i = 0; i < 8; i++)
      for (int j = 0; j < 8; j++) {
        double want = (3 * (3.5 * j + 1.25) + 5 * (3.5 * i + 1.25)) / 255.0;
        worst = vt_nan_max(worst, fabs(out[i * 8 + j] - want) / want);
      }
    vt_ok(rc == 0 && worst <= EXACT_ULPS * DBL_EPSILON,
          "ramp 3x+5y, 28x28 -> 8x8 (%s): max rel. error %.3g vs (3(3.5j+1.25)+5(3.5i+1.25))/255 "
          "(tol %.3g)", nzk_prep_mode_name((nzk_prep_mode)m), worst, EXACT_ULPS * DBL_EPSILON);
    /* spot value: (0, 0) samples (1.25, 1.25): (3.75 + 6.25) / 255 = 10/255 */
    vt_rel(out[0], 10.0 / 255.0, EXACT_ULPS * DBL_EPSILON, "ramp output (0,0) = 10/255 (%s)",
           nzk_prep_mode_name((nzk_prep_mode)m));
    nzk_prep_free(w);
  }
}

/* 2 x 2 -> 3 x 3 (upscaling, borders).  scale = 1 / (3/2) = 2/3; positions
 * (d + 0.5) 2/3 - 0.5 = -1/6, 1/2, 7/6.  x: -1/6 < 0 is reset to pixel 0
 * with weight 0; 1/2 mixes pixels 0 and 1 half and half; 7/6 >= 1 = last
 * index is reset to pixel 1.  y: -1/6 gives rows clamp(-1) = clamp(0) = 0,
 * 7/6 gives rows clamp(1) = clamp(2) = 1, so the first and last output
 * rows are source rows 0 and 1.  With [a b; c d] = [0.2 0.6; 1.0 0.4]:
 *   [a, (a+b)/2, b; (a+c)/2, (a+b+c+d)/4, (b+d)/2; c, (c+d)/2, d]
 *   = [0.2 0.4 0.6; 0.6 0.55 0.5; 1.0 0.7 0.4].
 * A zero-padding border would instead give 0.2 * 5/6 at (0, 0). */
static void check_upscale_borders(void)
{
  const double src[4] = {0.2, 0.6, 1.0, 0.4};
  const double want[9] = {0.2, 0.4, 0.6, 0.6, 0.55, 0.5, 1.0, 0.7, 0.4};
  double out[9];
  for (int m = 0; m < 2; m++) {
    resize(2, 2, 3, 3, (nzk_prep_mode)m, src, out);
    for (int k = 0; k < 9; k++)
      vt_rel(out[k], want[k], EXACT_ULPS * DBL_EPSILON, "2x2 -> 3x3 (%s) entry (%d,%d)",
             nzk_prep_mode_name((nzk_prep_mode)m), k / 3, k % 3);
  }
}

/* A scale of exactly 2 (4 x 4 -> 2 x 2): OpenCV averages each 2 x 2 block.
 * Source (x 1/255): [10 20 30 40; 50 60 70 80; 90 100 110 120; 130 140
 * 150 160]; block means 35, 55, 115, 135 (e.g. (10+20+50+60)/4 = 35). */
static void check_area_scale2(void)
{
  unsigned char px[16];
  double out[4];
  const double want[4] = {35, 55, 115, 135};
  for (int k = 0; k < 16; k++) px[k] = (unsigned char)(10 * (k + 1));
  nzk_image img = {4, 4, 1, px};
  for (int m = 0; m < 2; m++) {
    nzk_prep *w = nzk_prep_alloc(2, (nzk_prep_mode)m);
    nzk_prep_image(w, &img, out);
    for (int k = 0; k < 4; k++)
      vt_rel(out[k], want[k] / 255.0, EXACT_ULPS * DBL_EPSILON,
             "4x4 -> 2x2 block mean (%s) entry %d = %g/255", nzk_prep_mode_name((nzk_prep_mode)m),
             k, want[k]);
    nzk_prep_free(w);
  }
}

/* float32 weights.  Row S[x] = x (x = 0..9), width 10 -> 3, height 1 -> 1.
 * scale = 1 / (3/10) = 3.3333333333333335 (double).
 *   d = 0: s = 0.5 scale - 0.5 = 1.1666666666666667, rounded to float32:
 *          1 + 1/6 has the binary fraction .00101010..., 23 bits keep
 *          1398101 / 2^23 (the rest, 1/3 of a unit, rounds down), so
 *          f = 1398101/2^23 and the output is S[1](1-f) + S[2] f = 1 + f
 *          = 9786709 / 2^23 = 1.16666662693..., not 7/6 = 1.16666666667.
 *   d = 1: s = 1.5 scale - 0.5 = 4.5 (1.5 scale rounds to 5): 4.5.
 *   d = 2: s = 2.5 scale - 0.5 = 7.8333...; float32 keeps 21 fraction bits
 *          at this size: 5/6 * 2^21 = 1747626.67 rounds up to 1747627, so
 *          the output is 7 + 1747627/2^21 = 16427691 / 2^21.
 * These are exact dyadic numbers (the products and sums are exact in
 * double), so the tolerance is 0.  NZK_PREP_EXACT must give 7/6, 4.5 and
 * 47/6 to rounding, which differ from the OpenCV values by ~4e-8. */
static void check_float32_weights(void)
{
  double src[10], out[3];
  const double want_cv[3] = {9786709.0 / 8388608.0, 4.5, 16427691.0 / 2097152.0};
  const double want_exact[3] = {7.0 / 6.0, 4.5, 47.0 / 6.0};
  for (int x = 0; x < 10; x++) src[x] = x;

  resize(1, 10, 1, 3, NZK_PREP_OPENCV, src, out);
  for (int k = 0; k < 3; k++)
    vt_abs(out[k], want_cv[k], 0.0, "10 -> 3 with float32 weights (opencv), output %d", k);
  vt_ok(fabs(out[0] - 7.0 / 6.0) > 3e-8, "opencv output 0 differs from the real-valued 7/6 by "
        "%.3g (> 3e-8)", fabs(out[0] - 7.0 / 6.0));

  resize(1, 10, 1, 3, NZK_PREP_EXACT, src, out);
  for (int k = 0; k < 3; k++)
    vt_rel(out[k], want_exact[k], EXACT_ULPS * DBL_EPSILON,
           "10 -> 3 with double weights (exact), output %d", k);
}

/* Gray.  OpenCV: (9798 R + 19235 G + 3735 B + 16384) >> 15.
 *  (200, 100, 50): 1959600 + 1923500 + 186750 + 16384 = 4086234;
 *                  124 * 32768 = 4063232 <= 4086234 < 4096000 = 125 * 32768
 *                  -> 124; exact: 59.8 + 58.7 + 5.7 = 124.2.
 *  (2, 25, 195):   19596 + 480875 + 728325 + 16384 = 1245180 < 38 * 32768
 *                  = 1245184 -> 37, although 0.598 + 14.675 + 22.23 =
 *                  37.503 rounds to 38 (fixed point is not real rounding).
 *  (255, 255, 255): the weights sum to 32768 -> 255. */
static void check_gray(void)
{
  vt_abs(nzk_gray_value(200, 100, 50, NZK_PREP_OPENCV), 124, 0, "gray(200,100,50) opencv = 124");
  vt_rel(nzk_gray_value(200, 100, 50, NZK_PREP_EXACT), 124.2, EXACT_ULPS * DBL_EPSILON,
         "gray(200,100,50) exact = 124.2");
  vt_abs(nzk_gray_value(2, 25, 195, NZK_PREP_OPENCV), 37, 0, "gray(2,25,195) opencv = 37");
  vt_rel(nzk_gray_value(2, 25, 195, NZK_PREP_EXACT), 37.503, EXACT_ULPS * DBL_EPSILON,
         "gray(2,25,195) exact = 37.503");
  vt_abs(nzk_gray_value(255, 255, 255, NZK_PREP_OPENCV), 255, 0, "gray(255,255,255) = 255");

  /* A constant RGB image 32 x 32 -> 8 x 8 (CIFAR setting): every output is
   * the gray value / 255, since the weights of each output sum to 1
   * exactly (0.5 / 0.5: positions 4j + 1.5). */
  unsigned char px[32 * 32 * 3];
  double out[64];
  for (int k = 0; k < 32 * 32; k++) px[3 * k] = 200, px[3 * k + 1] = 100, px[3 * k + 2] = 50;
  nzk_image img = {32, 32, 3, px};
  const double want[2] = {124.0 / 255.0, 124.2 / 255.0};
  for (int m = 0; m < 2; m++) {
    nzk_prep *w = nzk_prep_alloc(8, (nzk_prep_mode)m);
    nzk_prep_image(w, &img, out);
    double worst = 0;
    for (int k = 0; k < 64; k++) worst = vt_nan_max(worst, fabs(out[k] - want[m]) / want[m]);
    vt_ok(worst <= EXACT_ULPS * DBL_EPSILON, "constant RGB 32x32 -> 8x8 (%s) = %s/255: max rel. "
          "error %.3g", nzk_prep_mode_name((nzk_prep_mode)m), m ? "124.2" : "124", worst);
    nzk_prep_free(w);
  }
}

/* Same size: OpenCV copies; a 3 x 3 gray image comes back as v / 255. */
static void check_copy_and_errors(void)
{
  const unsigned char px[9] = {0, 1, 2, 3, 4, 5, 6, 7, 255};
  double out[9];
  nzk_image img = {3, 3, 1, px};
  nzk_prep *w = nzk_prep_alloc(3, NZK_PREP_OPENCV);
  nzk_prep_image(w, &img, out);
  int same = 1;
  for (int k = 0; k < 9; k++) same &= out[k] == px[k] / 255.0;
  vt_ok(same, "3x3 -> 3x3 is a copy of v/255");

  nzk_image two = {3, 3, 2, px};
  int rc = nzk_prep_image(w, &two, out);
  vt_ok(rc == GSL_EINVAL, "2-channel image refused: %s", nzk_error_message());
  nzk_prep_free(w);
  vt_ok(nzk_prep_alloc(0, NZK_PREP_OPENCV) == NULL, "resolution 0 refused: %s",
        nzk_error_message());
  nzk_prep_mode mode;
  vt_ok(nzk_prep_mode_parse("cubic", &mode) == GSL_EINVAL, "mode 'cubic' refused: %s",
        nzk_error_message());
}

int main(void)
{
  check_ramp_28_to_8();
  check_upscale_borders();
  check_area_scale2();
  check_float32_weights();
  check_gray();
  check_copy_and_errors();
  return vt_finish();
}
