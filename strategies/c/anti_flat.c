// strategy: anti-flat
// games: rps, rpsls
// description: Exploits flat play: beats the opponent's least-used move(s) so far.
//
// "Anti-Flat" (antiflatbot) from the RoShamBo test suite (rsb-ts1.c): a flat player's next move is
// probably its least-used one. Plays the move with the best total payoff against the least-used moves
// (rps: what beats the least-used move; on a two-way tie, the one of the pair that beats the other);
// random when all counts are equal. Counts every recorded round, including earlier meetings.
#define ARENA_BYTES 1024
#include "strategy.h"

#define MAX_MOVES 64
static uint32_t n_moves, count[MAX_MOVES];

static void count_theirs(const round_result *r) {
    if (r->their_move >= 0 && (uint32_t)r->their_move < n_moves) count[r->their_move]++;
}

static void on_begin(const match_setup *setup) {
    n_moves = setup->n_moves < MAX_MOVES ? setup->n_moves : MAX_MOVES;
    rng_seed(setup->seed);
    for (uint32_t m = 0; m < MAX_MOVES; m++) count[m] = 0;
    for (uint32_t i = 0; i < setup->n_history; i++) count_theirs(&setup->history[i]);
}

static uint32_t on_move(const round_result *last) {
    if (last) count_theirs(last);
    uint32_t least = count[0];
    for (uint32_t m = 1; m < n_moves; m++) if (count[m] < least) least = count[m];
    int best = -1000000, ties = 0;
    uint32_t choice = 0;
    for (uint32_t a = 0; a < n_moves; a++) {
        int score = 0;
        for (uint32_t b = 0; b < n_moves; b++) if (count[b] == least) score += rps_payoff(a, b, n_moves);
        if (score > best) best = score, ties = 1, choice = a;
        else if (score == best && rng_below(++ties) == 0) choice = a; /* uniform among the best */
    }
    return choice;
}
