// strategy: always-switch
// games: rps, rpsls
// description: Never repeats its own previous move; picks uniformly among the others.
//
// "Always Switchin'" (switchbot) from the RoShamBo test suite (rsb-ts1.c). The first move (or the one
// after its own forfeit) is uniform over all moves.
#define ARENA_BYTES 1024
#include "strategy.h"

static uint32_t n_moves;
static int32_t my_last; /* -1: none */

static void on_begin(const match_setup *setup) {
    n_moves = setup->n_moves;
    rng_seed(setup->seed);
    my_last = -1;
    if (setup->first_round > 0 && setup->n_history > 0)
        my_last = setup->history[setup->n_history - 1].my_move;
}

static uint32_t on_move(const round_result *last) {
    if (last) my_last = last->my_move;
    if (my_last < 0 || (uint32_t)my_last >= n_moves) return rng_below(n_moves);
    return ((uint32_t)my_last + 1 + rng_below(n_moves - 1)) % n_moves;
}
