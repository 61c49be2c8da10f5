// strategy: beat-last
// games: rps, rpsls
// description: Plays the move that beats the opponent's previous move.
//
// "Beat Last Move" (copybot) from the RoShamBo test suite (rsb-ts1.c). Before the opponent has played
// it plays paper, as the original did (it read rock from the empty history). Forfeited rounds are skipped.
#define ARENA_BYTES 1024
#include "strategy.h"

static uint32_t n_moves, their_last;

static void on_begin(const match_setup *setup) {
    n_moves = setup->n_moves;
    their_last = 0;
    for (uint32_t i = 0; i < setup->n_history; i++)
        if (setup->history[i].their_move >= 0) their_last = (uint32_t)setup->history[i].their_move;
}

static uint32_t on_move(const round_result *last) {
    if (last && last->their_move >= 0) their_last = (uint32_t)last->their_move;
    return rps_beat(their_last, n_moves);
}
