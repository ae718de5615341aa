/* rng_stream.h: random streams tied to chunks of work (DESIGN.md section 7).
 *
 * A computation that needs S draws splits them into fixed chunks (for
 * instance batches of B draws, or one training run) and gives chunk c the
 * stream nzk_stream_seed(seed, c).  Which thread or process runs a chunk
 * then never changes the numbers it sees, so results are bitwise identical
 * for any thread count.  The generator is GSL's MT19937; the 64-bit
 * (seed, chunk) pair is mixed by SplitMix64 into its 32-bit seed. */
#ifndef NZK_RNG_STREAM_H
#define NZK_RNG_STREAM_H

#include <stdint.h>
#include <gsl/gsl_rng.h>

/* Independent-looking seed for chunk `chunk` of a computation seeded by
 * `seed`; never 0 (MT19937 treats 0 as its default seed). */
unsigned long nzk_stream_seed(uint64_t seed, uint64_t chunk);

/* Allocate a generator positioned at the start of chunk `chunk`.  Returns
 * NULL (after NZK_FAIL) if memory runs out.  Free with gsl_rng_free. */
gsl_rng *nzk_stream_alloc(uint64_t seed, uint64_t chunk);

/* As nzk_stream_alloc, with the GSL generator type T instead of MT19937,
 * seeded the same way.  For hot loops whose cost is the generator itself:
 * the Monte Carlo kernel estimator uses gsl_rng_taus2, whose outputs cost
 * about a third of MT19937's through GSL (1.8 against 6.2 ns measured). */
gsl_rng *nzk_stream_alloc_type(const gsl_rng_type *T, uint64_t seed, uint64_t chunk);

/* Reposition an existing generator at the start of chunk `chunk`. */
void nzk_stream_reset(gsl_rng *r, uint64_t seed, uint64_t chunk);

/* Largest seed a program accepts (--seed or NZK_SEED): 2^63 - 1, so that
 * every seed is stored losslessly as a JSON integer (int64) in the result
 * files and a run can be repeated from its record. */
#define NZK_SEED_MAX INT64_MAX

/* The seed a program should use: NZK_SEED from the environment if set (and
 * logged once on stderr, as GSL does for GSL_RNG_SEED), else `fallback`.
 * NZK_SEED must be a decimal integer in [0, NZK_SEED_MAX]; anything else
 * (a sign, a negative or larger value, trailing text) is ignored with one
 * warning line on stderr and `fallback` is used. */
uint64_t nzk_stream_default_seed(uint64_t fallback);

/* --- light streams, re-keyed at every step ---------------------------------
 *
 * Re-keying MT19937 costs about 4 us (its 624-word state is rebuilt and
 * twisted before the first draw), more than a whole ZO step of a small
 * model.  Streams that are re-keyed per step (train.c keys one per run and
 * step) use instead the generator "nzk-splitmix64": a 64-bit Weyl state
 * x += 0x9e3779b97f4a7c15 finalised by SplitMix64 (Steele, Lea and Flood,
 * OOPSLA 2014; it passes BigCrush), 32-bit outputs, doubles from 53 bits.
 * Re-keying costs a few ns, and the key keeps all 64 bits of the
 * (seed, chunk) hash, so distinct chunks do not collide the way 32-bit
 * MT19937 seeds do after ~2^16 chunks. */
extern const gsl_rng_type *nzk_rng_splitmix64;

/* A light generator at the start of chunk `chunk`; NULL after NZK_FAIL. */
gsl_rng *nzk_stream_alloc_light(uint64_t seed, uint64_t chunk);
/* Re-key a light generator to chunk `chunk` (O(1)). */
void nzk_stream_reset_light(gsl_rng *r, uint64_t seed, uint64_t chunk);

#endif
