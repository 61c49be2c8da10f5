// strategy: rotate
// games: rps, rpsls
// description: Cycles through the moves in order: rock, paper, scissors, rock, ...
//
// "Rotate R-P-S" from the RoShamBo test suite (rsb-ts1.c): plays round index mod n, so a restarted
// instance resumes the cycle where the match is.
#define ARENA_BYTES 1024
#define HISTORY_CAP 0
#include "strategy.h"

static uint32_t n_moves, round_index;

static void on_begin(const match_setup *setup) {
    n_moves = setup->n_moves;
    round_index = setup->first_round;
}

static uint32_t on_move(const round_result *last) {
    (void)last;
    return round_index++ % n_moves;
}
