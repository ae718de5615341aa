/* model_mlp.c: MLP forward pass (one GEMM per layer for all n inputs) and
 * exact per-sample Jacobian by batched backpropagation; the formulas,
 * parametrisations and parameter layout are in model_mlp.h. */
#include "model_mlp.h"
#include "nzk_error.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

#include "nzk_blas.h"

typedef struct {
  nzk_model base; /* first, so an nzk_model * is an nzk_mlp * */
  nzk_mlp_spec spec;
  size_t w_off[NZK_MLP_MAX_LAYERS + 1], b_off[NZK_MLP_MAX_LAYERS + 1];
  double s[NZK_MLP_MAX_LAYERS + 1]; /* weight scale s_l of layer l */
  double beta;                      /* bias scale */
  size_t cap_n;                     /* rows the scratch below holds */
  double *A[NZK_MLP_MAX_LAYERS + 1]; /* pre-activations, n x w_l */
  double *H[NZK_MLP_MAX_LAYERS + 1]; /* activations, n x w_l, l < L */
  double *D, *Dnext;                 /* backprop deltas, n x max width */
} nzk_mlp;

static const char mlp_name[] = "mlp";

/* --- names and parsing ---------------------------------------------- */

const char *nzk_activation_name(nzk_activation act)
{
  return act == NZK_ACT_RELU ? "relu" : act == NZK_ACT_TANH ? "tanh" : "unknown";
}

const char *nzk_parametrisation_name(nzk_parametrisation param)
{
  return param == NZK_PARAM_STANDARD ? "standard" : param == NZK_PARAM_NTK ? "ntk" : "unknown";
}

int nzk_activation_parse(const char *name, nzk_activation *act)
{
  if (strcmp(name, "relu") == 0) *act = NZK_ACT_RELU;
  else if (strcmp(name, "tanh") == 0) *act = NZK_ACT_TANH;
  else return NZK_FAIL(GSL_EINVAL, "unknown activation '%s' (expected relu or tanh)", name);
  return 0;
}

int nzk_parametrisation_parse(const char *name, nzk_parametrisation *param)
{
  if (strcmp(name, "standard") == 0) *param = NZK_PARAM_STANDARD;
  else if (strcmp(name, "ntk") == 0) *param = NZK_PARAM_NTK;
  else return NZK_FAIL(GSL_EINVAL, "unknown parametrisation '%s' (expected standard or ntk)", name);
  return 0;
}

int nzk_mlp_widths_parse(const char *list, nzk_mlp_spec *spec)
{
  size_t count = 0;
  const char *s = list;
  for (;;) {
    char *end;
    if (count > NZK_MLP_MAX_LAYERS)
      return NZK_FAIL(GSL_EINVAL, "widths '%s': more than %d widths (at most %d layers)", list,
                      NZK_MLP_MAX_LAYERS + 1, NZK_MLP_MAX_LAYERS);
    errno = 0;
    unsigned long long v = (*s >= '0' && *s <= '9') ? strtoull(s, &end, 10) : 0;
    if (!(*s >= '0' && *s <= '9') || (*end != ',' && *end != '\0') || errno == ERANGE)
      return NZK_FAIL(GSL_EINVAL, "widths '%s': entry %zu is not a positive integer", list,
                      count + 1);
    if (v == 0)
      return NZK_FAIL(GSL_EINVAL, "widths '%s': entry %zu is a zero width", list, count + 1);
    spec->widths[count++] = (size_t)v;
    if (*end == '\0') break;
    s = end + 1;
  }
  if (count < 2)
    return NZK_FAIL(GSL_EINVAL, "widths '%s': need at least an input and an output width", list);
  spec->n_layers = count - 1;
  if (spec->widths[count - 1] != 1)
    return NZK_FAIL(GSL_EINVAL, "widths '%s': the output width must be 1 (scalar models), got %zu",
                    list, spec->widths[count - 1]);
  return 0;
}

/* --- architecture ----------------------------------------------------- */

size_t nzk_mlp_n_params(const nzk_mlp_spec *spec)
{
  if (spec->n_layers < 1 || spec->n_layers > NZK_MLP_MAX_LAYERS) return 0;
  size_t p = 0;
  for (size_t l = 1; l <= spec->n_layers; l++)
    p += spec->widths[l] * (spec->widths[l - 1] + 1);
  return p;
}

int nzk_mlp_spec_validate(const nzk_mlp_spec *spec)
{
  const size_t L = spec->n_layers;
  if (L < 1 || L > NZK_MLP_MAX_LAYERS)
    return NZK_FAIL(GSL_EINVAL, "MLP: %zu layers, expected 1 to %d", L, NZK_MLP_MAX_LAYERS);
  for (size_t l = 0; l <= L; l++)
    if (spec->widths[l] == 0 || spec->widths[l] > (size_t)INT_MAX)
      return NZK_FAIL(GSL_EINVAL, "MLP: width %zu (position %zu) must be in 1..%d",
                      spec->widths[l], l + 1, INT_MAX);
  if (spec->widths[L] != 1)
    return NZK_FAIL(GSL_EINVAL, "MLP: output width must be 1 (scalar models), got %zu",
                    spec->widths[L]);
  if (spec->act != NZK_ACT_RELU && spec->act != NZK_ACT_TANH)
    return NZK_FAIL(GSL_EINVAL, "MLP: unknown activation code %d", (int)spec->act);
  if (spec->param != NZK_PARAM_STANDARD && spec->param != NZK_PARAM_NTK)
    return NZK_FAIL(GSL_EINVAL, "MLP: unknown parametrisation code %d", (int)spec->param);
  /* Jacobian rows have p entries and BLAS takes int leading dimensions. */
  double p = 0;
  for (size_t l = 1; l <= L; l++) p += (double)spec->widths[l] * ((double)spec->widths[l - 1] + 1);
  if (p >= (double)INT_MAX)
    return NZK_FAIL(GSL_EINVAL, "MLP: %.0f parameters, more than BLAS can index (%d)", p, INT_MAX);
  return 0;
}

int nzk_mlp_layer_offsets(const nzk_mlp_spec *spec, size_t l, size_t *w_off, size_t *b_off)
{
  if (l < 1 || l > spec->n_layers)
    return NZK_FAIL(GSL_EINVAL, "MLP: layer %zu out of range 1..%zu", l, spec->n_layers);
  size_t off = 0;
  for (size_t k = 1; k < l; k++) off += spec->widths[k] * (spec->widths[k - 1] + 1);
  *w_off = off;
  *b_off = off + spec->widths[l] * spec->widths[l - 1];
  return 0;
}

void nzk_mlp_describe(const nzk_mlp_spec *spec, char *buf, size_t len)
{
  size_t used = 0;
  if (len == 0) return;
  buf[0] = '\0';
  for (size_t l = 0; l <= spec->n_layers && used < len; l++)
    used += (size_t)snprintf(buf + used, len - used, l ? "-%zu" : "%zu", spec->widths[l]);
  if (used < len)
    snprintf(buf + used, len - used, " %s %s", nzk_activation_name(spec->act),
             nzk_parametrisation_name(spec->param));
}

int nzk_mlp_init(const nzk_mlp_spec *spec, gsl_rng *r, double *theta)
{
  int status = nzk_mlp_spec_validate(spec);
  if (status) return status;
  size_t off = 0;
  for (size_t l = 1; l <= spec->n_layers; l++) {
    const size_t count = spec->widths[l] * (spec->widths[l - 1] + 1);
    const double bound = 1.0 / sqrt((double)spec->widths[l - 1]);
    if (spec->param == NZK_PARAM_STANDARD)
      for (size_t k = 0; k < count; k++) theta[off + k] = gsl_ran_flat(r, -bound, bound);
    else
      for (size_t k = 0; k < count; k++) theta[off + k] = gsl_ran_gaussian_ziggurat(r, 1.0);
    off += count;
  }
  return 0;
}

/* --- scratch ---------------------------------------------------------- */

static void mlp_free_scratch(nzk_mlp *m)
{
  for (size_t l = 0; l <= NZK_MLP_MAX_LAYERS; l++) {
    free(m->A[l]);
    free(m->H[l]);
    m->A[l] = m->H[l] = NULL;
  }
  free(m->D);
  free(m->Dnext);
  m->D = m->Dnext = NULL;
  m->cap_n = 0;
}

/* Make the scratch hold n rows (grows only). */
static int mlp_reserve(nzk_mlp *m, size_t n)
{
  if (n <= m->cap_n) return 0;
  mlp_free_scratch(m);
  const size_t L = m->spec.n_layers;
  size_t wmax = 1;
  int bad = 0;
  for (size_t l = 0; l <= L; l++)
    if (m->spec.widths[l] > wmax) wmax = m->spec.widths[l];
  for (size_t l = 1; l <= L; l++) {
    m->A[l] = malloc(n * m->spec.widths[l] * sizeof(double));
    if (l < L) m->H[l] = malloc(n * m->spec.widths[l] * sizeof(double));
    bad |= !m->A[l] || (l < L && !m->H[l]);
  }
  m->D = malloc(n * wmax * sizeof(double));
  m->Dnext = malloc(n * wmax * sizeof(double));
  if (bad || !m->D || !m->Dnext) {
    mlp_free_scratch(m);
    return NZK_FAIL(GSL_ENOMEM, "MLP: out of memory for activations of %zu inputs", n);
  }
  m->cap_n = n;
  return 0;
}

/* --- forward ---------------------------------------------------------- */

static double act_value(nzk_activation act, double a)
{
  return act == NZK_ACT_RELU ? (a > 0 ? a : 0) : tanh(a);
}

/* Derivative from the pre-activation a and the activation h = act(a). */
static double act_slope(nzk_activation act, double a, double h)
{
  return act == NZK_ACT_RELU ? (a > 0 ? 1.0 : 0.0) : 1.0 - h * h;
}

/* A_l = s_l H_{l-1} W_l^T + beta 1 b_l^T, then H_l = act(A_l) if l < L. */
static void mlp_layer_forward(nzk_mlp *m, size_t l, const double *theta, const double *Hprev,
                              size_t ld_prev, size_t n)
{
  const size_t in = m->spec.widths[l - 1], out = m->spec.widths[l];
  const double *W = theta + m->w_off[l], *b = theta + m->b_off[l];
  double *A = m->A[l];
  for (size_t i = 0; i < n; i++)
    for (size_t o = 0; o < out; o++) A[i * out + o] = m->beta * b[o];
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)out, (int)in, m->s[l], Hprev,
              (int)ld_prev, W, (int)in, 1.0, A, (int)out);
  if (l == m->spec.n_layers) return;
  double *H = m->H[l];
  for (size_t k = 0; k < n * out; k++) H[k] = act_value(m->spec.act, A[k]);
}

/* Forward pass for all rows of X, keeping every A_l and H_l. */
static int mlp_run_forward(nzk_mlp *m, const double *theta, const gsl_matrix *X)
{
  const size_t n = X->size1;
  if (X->size2 != m->spec.widths[0])
    return NZK_FAIL(GSL_EBADLEN, "MLP forward: X has %zu columns, the network's input width is %zu",
                    X->size2, m->spec.widths[0]);
  int status = mlp_reserve(m, n);
  if (status) return status;
  mlp_layer_forward(m, 1, theta, X->data, X->tda, n);
  for (size_t l = 2; l <= m->spec.n_layers; l++)
    mlp_layer_forward(m, l, theta, m->H[l - 1], m->spec.widths[l - 1], n);
  return 0;
}

static int mlp_forward(nzk_model *self, const double *theta, const gsl_matrix *X, double *f)
{
  nzk_mlp *m = (nzk_mlp *)self;
  if (X->size1 == 0) return 0;
  int status = mlp_run_forward(m, theta, X);
  if (status) return status;
  memcpy(f, m->A[m->spec.n_layers], X->size1 * sizeof *f);
  return 0;
}

/* --- Jacobian ---------------------------------------------------------- */

/* Row i of J, block of layer l: s_l D[i,o] Hprev[i,c] at W_l[o,c] and
 * beta D[i,o] at b_l[o].  D is n x w_l. */
static void mlp_write_jacobian_block(const nzk_mlp *m, size_t l, const double *D,
                                     const double *Hprev, size_t ld_prev, gsl_matrix *J)
{
  const size_t n = J->size1, in = m->spec.widths[l - 1], out = m->spec.widths[l];
  const double s = m->s[l];
  for (size_t i = 0; i < n; i++) {
    double *row = gsl_matrix_ptr(J, i, 0);
    double *gW = row + m->w_off[l], *gb = row + m->b_off[l];
    const double *h = Hprev + i * ld_prev, *d = D + i * out;
    for (size_t o = 0; o < out; o++) {
      const double c = s * d[o];
      double *g = gW + o * in;
      for (size_t k = 0; k < in; k++) g[k] = c * h[k];
      gb[o] = m->beta * d[o];
    }
  }
}

/* Dnext = s_l (D W_l) o act'(A_{l-1}):  (n x w_l)(w_l x w_{l-1}). */
static void mlp_backprop_delta(nzk_mlp *m, size_t l, const double *theta, size_t n)
{
  const size_t in = m->spec.widths[l - 1], out = m->spec.widths[l];
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)in, (int)out, m->s[l], m->D,
              (int)out, theta + m->w_off[l], (int)in, 0.0, m->Dnext, (int)in);
  const double *A = m->A[l - 1], *H = m->H[l - 1];
  for (size_t k = 0; k < n * in; k++) m->Dnext[k] *= act_slope(m->spec.act, A[k], H[k]);
  double *t = m->D;
  m->D = m->Dnext;
  m->Dnext = t;
}

static int mlp_jacobian(nzk_model *self, const double *theta, const gsl_matrix *X, gsl_matrix *J)
{
  nzk_mlp *m = (nzk_mlp *)self;
  const size_t n = X->size1, L = m->spec.n_layers;
  if (J->size1 != n || J->size2 != self->p)
    return NZK_FAIL(GSL_EBADLEN, "MLP Jacobian: J is %zu x %zu, expected %zu x %zu", J->size1,
                    J->size2, n, self->p);
  if (n == 0) return 0;
  int status = mlp_run_forward(m, theta, X);
  if (status) return status;

  for (size_t i = 0; i < n; i++) m->D[i] = 1.0; /* Delta_L = df/dA_L = 1 */
  for (size_t l = L; l >= 1; l--) {
    const double *Hprev = l > 1 ? m->H[l - 1] : X->data;
    const size_t ld_prev = l > 1 ? m->spec.widths[l - 1] : X->tda;
    mlp_write_jacobian_block(m, l, m->D, Hprev, ld_prev, J);
    if (l > 1) mlp_backprop_delta(m, l, theta, n);
  }
  return 0;
}

/* --- allocation ---------------------------------------------------------- */

static void mlp_free(nzk_model *self)
{
  nzk_mlp *m = (nzk_mlp *)self;
  mlp_free_scratch(m);
  free(m);
}

nzk_model *nzk_mlp_alloc(const nzk_mlp_spec *spec)
{
  if (nzk_mlp_spec_validate(spec)) return NULL;
  nzk_mlp *m = calloc(1, sizeof *m);
  if (!m) {
    NZK_FAIL(GSL_ENOMEM, "MLP: out of memory");
    return NULL;
  }
  m->spec = *spec;
  m->beta = 1.0;
  for (size_t l = 1; l <= spec->n_layers; l++) {
    nzk_mlp_layer_offsets(spec, l, &m->w_off[l], &m->b_off[l]);
    m->s[l] = spec->param == NZK_PARAM_NTK ? 1.0 / sqrt((double)spec->widths[l - 1]) : 1.0;
  }
  m->base.name = mlp_name;
  m->base.p = nzk_mlp_n_params(spec);
  m->base.d = spec->widths[0];
  m->base.forward = mlp_forward;
  m->base.jacobian = mlp_jacobian;
  m->base.free = mlp_free;
  return &m->base;
}

const nzk_mlp_spec *nzk_mlp_spec_of(const nzk_model *m)
{
  if (!m || m->name != mlp_name) return NULL;
  return &((const nzk_mlp *)m)->spec;
}

/* --- tangent ------------------------------------------------------------ */

struct nzk_mlp_tangent {
  nzk_mlp *net;  /* private copy of the network (its own scratch) */
  double *theta0;
  gsl_matrix *X0;
  double *f0;     /* length n */
  double *Adot, *Hdot; /* n x max width each */
};

void nzk_mlp_tangent_free(nzk_mlp_tangent *t)
{
  if (!t) return;
  if (t->net) mlp_free(&t->net->base);
  free(t->theta0);
  if (t->X0) gsl_matrix_free(t->X0);
  free(t->f0);
  free(t->Adot);
  free(t->Hdot);
  free(t);
}

nzk_mlp_tangent *nzk_mlp_tangent_alloc(const nzk_model *mlp, const double *theta0,
                                       const gsl_matrix *X0)
{
  const nzk_mlp_spec *spec = nzk_mlp_spec_of(mlp);
  if (!spec) {
    NZK_FAIL(GSL_EINVAL, "MLP tangent: the model is '%s', not an MLP", mlp ? mlp->name : "NULL");
    return NULL;
  }
  const size_t n = X0->size1, p = mlp->p;
  size_t wmax = 1;
  for (size_t l = 0; l <= spec->n_layers; l++)
    if (spec->widths[l] > wmax) wmax = spec->widths[l];
  nzk_mlp_tangent *t = calloc(1, sizeof *t);
  if (!t) goto nomem;
  t->net = (nzk_mlp *)nzk_mlp_alloc(spec);
  t->theta0 = malloc(p * sizeof *t->theta0);
  t->X0 = gsl_matrix_alloc(n ? n : 1, X0->size2);
  t->f0 = malloc((n ? n : 1) * sizeof *t->f0);
  t->Adot = malloc((n ? n : 1) * wmax * sizeof *t->Adot);
  t->Hdot = malloc((n ? n : 1) * wmax * sizeof *t->Hdot);
  if (!t->net || !t->theta0 || !t->X0 || !t->f0 || !t->Adot || !t->Hdot) goto nomem;
  memcpy(t->theta0, theta0, p * sizeof *t->theta0);
  if (n == 0 || X0->size2 != spec->widths[0]) {
    NZK_FAIL(GSL_EBADLEN, "MLP tangent: X0 is %zu x %zu, need at least one row and %zu columns", n,
             X0->size2, spec->widths[0]);
    nzk_mlp_tangent_free(t);
    return NULL;
  }
  gsl_matrix_memcpy(t->X0, X0);
  if (mlp_forward(&t->net->base, t->theta0, t->X0, t->f0)) {
    nzk_mlp_tangent_free(t);
    return NULL;
  }
  return t;
nomem:
  NZK_FAIL(GSL_ENOMEM, "MLP tangent: out of memory");
  nzk_mlp_tangent_free(t);
  return NULL;
}

const double *nzk_mlp_tangent_f0(const nzk_mlp_tangent *t) { return t->f0; }

/* Adot = s_l (Hdot_prev W_l^T + Hprev V_l^T) + beta 1 vb^T for layer l;
 * Hdot_prev is NULL for the first layer (the inputs do not move). */
static void tangent_layer(const nzk_mlp_tangent *t, size_t l, const double *v,
                          const double *Hdot_prev, const double *Hprev, size_t ld_prev)
{
  const nzk_mlp *m = t->net;
  const size_t n = t->X0->size1, in = m->spec.widths[l - 1], out = m->spec.widths[l];
  const double *vb = v + m->b_off[l];
  for (size_t i = 0; i < n; i++)
    for (size_t o = 0; o < out; o++) t->Adot[i * out + o] = m->beta * vb[o];
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)out, (int)in, m->s[l], Hprev,
              (int)ld_prev, v + m->w_off[l], (int)in, 1.0, t->Adot, (int)out);
  if (Hdot_prev)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)out, (int)in, m->s[l],
                Hdot_prev, (int)in, t->theta0 + m->w_off[l], (int)in, 1.0, t->Adot, (int)out);
}

void nzk_mlp_tangent_apply(nzk_mlp_tangent *t, const double *v, double *jv)
{
  const nzk_mlp *m = t->net;
  const size_t n = t->X0->size1, L = m->spec.n_layers;
  for (size_t l = 1; l <= L; l++) {
    const double *Hprev = l > 1 ? m->H[l - 1] : t->X0->data;
    const size_t ld_prev = l > 1 ? m->spec.widths[l - 1] : t->X0->tda;
    tangent_layer(t, l, v, l > 1 ? t->Hdot : NULL, Hprev, ld_prev);
    if (l == L) break;
    const size_t w = m->spec.widths[l];
    const double *A = m->A[l], *H = m->H[l];
    for (size_t k = 0; k < n * w; k++) t->Hdot[k] = act_slope(m->spec.act, A[k], H[k]) * t->Adot[k];
  }
  memcpy(jv, t->Adot, n * sizeof *jv);
}
