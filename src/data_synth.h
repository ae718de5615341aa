/* data_synth.h: the synthetic regression data of DESIGN.md section 5.
 *
 * x_i has entries uniform on [0, 1) and is then normalised to unit length,
 * so it lies on the positive orthant of the unit sphere in R^d (the
 * authors call d the "degree").  The target is y_i = x_i . theta* + e_i
 * with theta* integers drawn uniformly from 1..9 and e_i ~ N(0, noise^2). */
#ifndef NZK_DATA_SYNTH_H
#define NZK_DATA_SYNTH_H

#include <gsl/gsl_matrix.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_vector.h>

/* X: n x d features (filled), y: length n targets (filled), theta_star:
 * length d (filled; may be NULL).  Draws in this order from r: X row by
 * row, then theta*, then the noise.  GSL_EBADLEN on shape mismatch,
 * GSL_EINVAL for a negative noise level. */
int nzk_synth_sphere(gsl_rng *r, double noise, gsl_matrix *X, gsl_vector *y,
                     gsl_vector *theta_star);

#endif
