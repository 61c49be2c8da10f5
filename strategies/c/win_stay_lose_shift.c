// strategy: win-stay-lose-shift
// games: ipd
// description: Pavlov: cooperates first; keeps its move after R or T, switches after P or S.
//
// Axelrod library: WinStayLoseShift (axelrod/strategies/memoryone.py), four-vector (1, 0, 0, 1): it
// cooperates next iff both players made the same move. A round with a forfeit on either side is ignored.
#define ARENA_BYTES 1024
#include "strategy.h"

enum { C = 0, D = 1 };
static uint32_t next;
static void reset(void) { next = C; }
static void observe(const round_result *r) {
    if ((r->my_move == C || r->my_move == D) && (r->their_move == C || r->their_move == D))
        next = r->my_move == r->their_move ? C : D;
}

static void on_begin(const match_setup *setup) {
    reset();
    for (uint32_t i = match_rounds_start(setup); i < setup->n_history; i++) observe(&setup->history[i]);
}

static uint32_t on_move(const round_result *last) {
    if (last) observe(last);
    return next;
}
