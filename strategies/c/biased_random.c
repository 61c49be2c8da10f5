// strategy: biased-random
// games: rps, rpsls
// description: Random with a bias: 20% rock, 20% paper, 60% scissors (last move 60%, others share 40%).
//
// "R-P-S 20-20-60" from the RoShamBo test suite (rsb-ts1.c). With n moves the last move keeps 60% and
// the other n - 1 share the remaining 40% equally; a frequency counter exploits it.
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
    double x = rng_unit();
    if (x >= 0.4) return n_moves - 1;
    return (uint32_t)(x / 0.4 * (n_moves - 1));
}
