// strategy: constant
// games: rps, rpsls
// description: Always plays the first move (rock): the classic "Good Ole Rock" dummy bot.
//
// From Darse Billings' RoShamBo test suite (rsb-ts1.c, 1999): "Nuthin' beats rock."
// Any opponent that notices a pattern beats it every round.
#define ARENA_BYTES 1024
#define HISTORY_CAP 0
#include "strategy.h"

static void on_begin(const match_setup *setup) { (void)setup; }

static uint32_t on_move(const round_result *last) {
    (void)last;
    return 0;
}
