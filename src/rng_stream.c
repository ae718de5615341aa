/* rng_stream.c: chunk-keyed random streams (see rng_stream.h). */
#include "rng_stream.h"
#include "nzk_error.h"

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
  unsigned long long v = strtoull(env, &end, 10);
  if (*end) {
    nzk_log(NZK_LOG_WARN, "NZK_SEED=%s is not an integer; using seed %llu", env,
            (unsigned long long)fallback);
    return fallback;
  }
  if (!told) {
    nzk_log(NZK_LOG_WARN, "seed overridden by NZK_SEED=%llu", v);
    told = 1;
  }
  return (uint64_t)v;
}
