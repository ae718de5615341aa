/* rng_stream.c: chunk-keyed random streams (see rng_stream.h). */
#include "rng_stream.h"
#include "nzk_error.h"

#include <errno.h>
#include <stdlib.h>

/* SplitMix64 finaliser (Steele, Lea and Flood, OOPSLA 2014). */
static uint64_t splitmix64(uint64_t x)
{
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

unsigned long nzk_stream_seed(uint64_t seed, uint64_t chunk)
{
  uint64_t h = splitmix64(splitmix64(seed) ^ splitmix64(chunk + 0x632be59bd9b4e019ULL));
  unsigned long s = (unsigned long)(h & 0xffffffffULL);
  return s ? s : 1;
}

gsl_rng *nzk_stream_alloc(uint64_t seed, uint64_t chunk)
{
  return nzk_stream_alloc_type(gsl_rng_mt19937, seed, chunk);
}

gsl_rng *nzk_stream_alloc_type(const gsl_rng_type *T, uint64_t seed, uint64_t chunk)
{
  gsl_rng *r = gsl_rng_alloc(T);
  if (!r) {
    NZK_FAIL(GSL_ENOMEM, "out of memory allocating a random stream");
    return NULL;
  }
  gsl_rng_set(r, nzk_stream_seed(seed, chunk));
  return r;
}

void nzk_stream_reset(gsl_rng *r, uint64_t seed, uint64_t chunk)
{
  gsl_rng_set(r, nzk_stream_seed(seed, chunk));
}

uint64_t nzk_stream_default_seed(uint64_t fallback)
{
  static int told;
  const char *env = getenv("NZK_SEED");
  if (!env || !*env) return fallback;

  char *end;
  errno = 0;
  unsigned long long v = strtoull(env, &end, 10);
  /* strtoull accepts a sign and wraps "-1" to 2^64 - 1: digits only */
  if (*env < '0' || *env > '9' || *end || errno == ERANGE || v > (unsigned long long)NZK_SEED_MAX) {
    nzk_log(NZK_LOG_WARN, "NZK_SEED=%s is not an integer in [0, 2^63-1]; using seed %llu", env,
            (unsigned long long)fallback);
    return fallback;
  }
  if (!told) {
    nzk_log(NZK_LOG_WARN, "seed overridden by NZK_SEED=%llu", v);
    told = 1;
  }
  return (uint64_t)v;
}

/* --- light streams (see rng_stream.h) ------------------------------------ */

/* The SplitMix64 output function, applied to the Weyl state. */
static inline uint64_t splitmix64_mix(uint64_t x)
{
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

static void splitmix_set(void *state, unsigned long seed)
{
  *(uint64_t *)state = (uint64_t)seed;
}

static unsigned long splitmix_get(void *state)
{
  uint64_t *x = state;
  *x += 0x9e3779b97f4a7c15ULL;
  return (unsigned long)(splitmix64_mix(*x) >> 32);
}

static double splitmix_get_double(void *state)
{
  uint64_t *x = state;
  *x += 0x9e3779b97f4a7c15ULL;
  return (double)(splitmix64_mix(*x) >> 11) * 0x1.0p-53; /* [0, 1) */
}

static const gsl_rng_type splitmix_type = {"nzk-splitmix64", 0xffffffffUL, 0, sizeof(uint64_t),
                                           splitmix_set, splitmix_get, splitmix_get_double};
const gsl_rng_type *nzk_rng_splitmix64 = &splitmix_type;

/* 64-bit key of (seed, chunk); the same mixing as nzk_stream_seed. */
static uint64_t light_key(uint64_t seed, uint64_t chunk)
{
  return splitmix64(splitmix64(seed) ^ splitmix64(chunk + 0x632be59bd9b4e019ULL));
}

gsl_rng *nzk_stream_alloc_light(uint64_t seed, uint64_t chunk)
{
  gsl_rng *r = gsl_rng_alloc(nzk_rng_splitmix64);
  if (!r) {
    NZK_FAIL(GSL_ENOMEM, "out of memory allocating a random stream");
    return NULL;
  }
  nzk_stream_reset_light(r, seed, chunk);
  return r;
}

void nzk_stream_reset_light(gsl_rng *r, uint64_t seed, uint64_t chunk)
{
  /* gsl_rng_set's unsigned long is 64 bits on the LP64 systems we build on */
  *(uint64_t *)r->state = light_key(seed, chunk);
}
