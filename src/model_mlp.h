/* model_mlp.h: multilayer perceptrons as nzk_models, with the exact
 * per-sample Jacobian by backpropagation (DESIGN.md sections 1 and 3, T4).
 *
 * Architecture.  Widths w_0 = d (input), w_1 .. w_{L-1} (hidden), w_L = 1
 * (the models of the suite are scalar-valued).  Layer l = 1..L computes,
 * for all n inputs at once (H_0 = X, n x d),
 *   A_l = s_l H_{l-1} W_l^T + beta 1 b_l^T      (n x w_l, one GEMM)
 *   H_l = act(A_l)  for l < L,   f = A_L        (no activation at the end)
 * with W_l of size w_l x w_{l-1}, act = ReLU or tanh, and
 *   standard:  s_l = 1,                beta = 1; W, b ~ U(-1/sqrt(w_{l-1}), +)
 *              (PyTorch's default nn.Linear initialisation)
 *   NTK:       s_l = 1/sqrt(w_{l-1}),  beta = 1; W, b ~ N(0, 1)
 * Bias convention under NTK parametrisation: the bias enters unscaled
 * (beta = 1 in the notation of Jacot et al., 2018) with a N(0, 1) initial
 * value, so it is of the same order as the weighted sum s_l W_l h.
 *
 * Parameter layout.  theta is one flat vector, layer after layer, each
 * layer's weights (row-major, row o is the fan-in of unit o) followed by its
 * biases, the order of PyTorch's parameters():
 *   theta = [W_1 (w_1 x w_0), b_1 (w_1), W_2, b_2, ..., W_L, b_L],
 *   p = sum_l w_l (w_{l-1} + 1).
 * nzk_mlp_layer_offsets gives where each block starts.
 *
 * Jacobian (backpropagation, batched).  With Delta_L = 1 (n x 1) and
 *   Delta_{l-1} = s_l (Delta_l W_l) o act'(A_{l-1})     (one GEMM per layer),
 * row i of J holds s_l Delta_l[i,o] H_{l-1}[i,c] at the entry of W_l[o,c]
 * and beta Delta_l[i,o] at b_l[o].  ReLU'(0) is taken as 0, as PyTorch does.
 *
 * An MLP model keeps its forward activations as scratch (grown to the
 * largest n seen), so one object is used by one thread at a time. */
#ifndef NZK_MODEL_MLP_H
#define NZK_MODEL_MLP_H

#include <stddef.h>
#include <gsl/gsl_rng.h>

#include "model.h"

#define NZK_MLP_MAX_LAYERS 16

typedef enum { NZK_ACT_RELU = 0, NZK_ACT_TANH } nzk_activation;
typedef enum { NZK_PARAM_STANDARD = 0, NZK_PARAM_NTK } nzk_parametrisation;

/* An architecture: n_layers affine layers L, widths[0..L]. */
typedef struct {
  size_t n_layers;
  size_t widths[NZK_MLP_MAX_LAYERS + 1];
  nzk_activation act;
  nzk_parametrisation param;
} nzk_mlp_spec;

/* "relu" / "tanh";  "standard" / "ntk".  GSL_EINVAL naming the word. */
int nzk_activation_parse(const char *name, nzk_activation *act);
int nzk_parametrisation_parse(const char *name, nzk_parametrisation *param);
const char *nzk_activation_name(nzk_activation act);
const char *nzk_parametrisation_name(nzk_parametrisation param);

/* Parse a width list "64,10,5,1" (input width first, output width last)
 * into spec->widths and spec->n_layers; act and param are left alone.
 * GSL_EINVAL naming the offending position for an empty or non-numeric
 * entry, a zero width, fewer than two widths, more than
 * NZK_MLP_MAX_LAYERS + 1, or an output width other than 1. */
int nzk_mlp_widths_parse(const char *list, nzk_mlp_spec *spec);

/* 0 if the spec describes a buildable network (1 <= L <= max, every width
 * >= 1, w_L = 1, known activation and parametrisation, p < 2^31 so BLAS
 * leading dimensions fit in an int); else GSL_EINVAL with the reason. */
int nzk_mlp_spec_validate(const nzk_mlp_spec *spec);

/* Number of parameters p = sum_l w_l (w_{l-1} + 1) (0 if invalid). */
size_t nzk_mlp_n_params(const nzk_mlp_spec *spec);

/* Offsets in theta of W_l and b_l for layer l = 1..L.  GSL_EINVAL if l is
 * out of range. */
int nzk_mlp_layer_offsets(const nzk_mlp_spec *spec, size_t l, size_t *w_off, size_t *b_off);

/* "64-10-5-1 relu ntk" into buf. */
void nzk_mlp_describe(const nzk_mlp_spec *spec, char *buf, size_t len);

/* An MLP as an nzk_model (name "mlp", p and d from the spec).  forward
 * needs X with spec->widths[0] columns; jacobian fills J (n x p).  Both
 * return GSL_EBADLEN on a shape mismatch, GSL_ENOMEM if scratch cannot
 * grow.  Returns NULL after NZK_FAIL if the spec is invalid or memory runs
 * out.  Free with nzk_model_free. */
nzk_model *nzk_mlp_alloc(const nzk_mlp_spec *spec);

/* The spec of an MLP model, NULL if m is not one. */
const nzk_mlp_spec *nzk_mlp_spec_of(const nzk_model *m);

/* Draw initial parameters theta (length p) in layout order from r:
 * standard U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases,
 * NTK N(0, 1) (GSL's ziggurat sampler).  GSL_EINVAL for an invalid spec. */
int nzk_mlp_init(const nzk_mlp_spec *spec, gsl_rng *r, double *theta);

/* --- tangent (forward-mode) products ----------------------------------
 *
 * The tangent of an MLP at theta0 on inputs X0 computes J0 v =
 * J(X0; theta0) v for any v (length p) without forming J0, by forward-mode
 * differentiation with the activations at theta0 cached:
 *   Adot_1 = s_1 X0 V_1^T + beta 1 vb_1^T
 *   Adot_l = s_l (Hdot_{l-1} W_l^T + H_{l-1} V_l^T) + beta 1 vb_l^T,
 *   Hdot_l = act'(A_l) o Adot_l,          J0 v = Adot_L,
 * where V_l, vb_l are the weight and bias blocks of v.  Cost: two GEMMs
 * per layer (twice a forward pass), memory O(n sum_l w_l), against n p
 * doubles and a memory-bound GEMV for a stored J0; this is what makes
 * linearized networks of width 1024 cheap (model_linearized.h). */
typedef struct nzk_mlp_tangent nzk_mlp_tangent;

/* Tangent of the MLP `mlp` at theta0 (copied) on X0 (copied).  NULL after
 * NZK_FAIL: GSL_EINVAL if mlp is not an MLP, GSL_EBADLEN on X0's width,
 * GSL_ENOMEM. */
nzk_mlp_tangent *nzk_mlp_tangent_alloc(const nzk_model *mlp, const double *theta0,
                                       const gsl_matrix *X0);
void nzk_mlp_tangent_free(nzk_mlp_tangent *t);
/* jv (length n) = J(X0; theta0) v. */
void nzk_mlp_tangent_apply(nzk_mlp_tangent *t, const double *v, double *jv);
/* f(X0; theta0) (length n), owned by t. */
const double *nzk_mlp_tangent_f0(const nzk_mlp_tangent *t);

#endif
