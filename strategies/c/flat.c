// strategy: flat
// games: rps, rpsls
// description: Keeps its own move counts flat: plays its least-used move with high probability.
//
// "Flat" (flatbot3) from the RoShamBo test suite (rsb-ts1.c): each move that is not least used gets
// 20% / (n - 1), the least-used moves share the rest (rps: 80/10/10, or 45/45/10 on a tie); all tied:
// uniform. Counts its own moves in this match.
#define ARENA_BYTES 1024
#include "strategy.h"

#define MAX_MOVES 64
static uint32_t n_moves, count[MAX_MOVES];

static void count_mine(const round_result *r) {
    if (r->my_move >= 0 && (uint32_t)r->my_move < n_moves) count[r->my_move]++;
}

static void on_begin(const match_setup *setup) {
    n_moves = setup->n_moves < MAX_MOVES ? setup->n_moves : MAX_MOVES;
    rng_seed(setup->seed);
    for (uint32_t m = 0; m < MAX_MOVES; m++) count[m] = 0;
    for (uint32_t i = match_rounds_start(setup); i < setup->n_history; i++) count_mine(&setup->history[i]);
}

static uint32_t on_move(const round_result *last) {
    if (last) count_mine(last);
    uint32_t least = count[0], n_least = 0;
    for (uint32_t m = 1; m < n_moves; m++) if (count[m] < least) least = count[m];
    for (uint32_t m = 0; m < n_moves; m++) n_least += count[m] == least;
    if (n_least == n_moves) return rng_below(n_moves);
    /* Pick the k-th least-used move with probability 80%+ (shared), else the k-th other move. */
    const double other_p = 0.2 / (n_moves - 1), others = other_p * (n_moves - n_least);
    const double x = rng_unit();
    const int want_least = x >= others;
    uint32_t k = want_least ? (uint32_t)((x - others) / ((1.0 - others) / n_least)) : (uint32_t)(x / other_p);
    for (uint32_t m = 0; m < n_moves; m++) {
        if ((count[m] == least) != want_least) continue;
        if (k-- == 0) return m;
    }
    return n_moves - 1; /* rounding at the top of [0, 1) */
}
