// strategy: uniform-random
// games: rps, rpsls
// description: Plays every move with equal probability (the Nash equilibrium), from its seed.
//
// "Random (Optimal)" from the RoShamBo test suite (rsb-ts1.c): nothing can beat it in expectation,
// and it beats nothing either.
#define ARENA_BYTES 1024
#define HISTORY_CAP 0
#include "strategy.h"

static uint32_t n_moves;

static void on_begin(const match_setup *setup) {
    n_moves = setup->n_moves;
    rng_seed(setup->seed);
}

static uint32_t on_move(const round_result *last) {
    (void)last;
    return rng_below(n_moves);
}
