// strategy: grudger
// games: ipd
// description: Cooperates until the opponent defects once, then defects forever.
//
// Axelrod library: Grudger (axelrod/strategies/grudger.py), Friedman's strategy, also Grim Trigger.
// A forfeited opponent round is not a defection.
#define ARENA_BYTES 1024
#include "strategy.h"

enum { C = 0, D = 1 };
static uint32_t next;
static void reset(void) { next = C; }
static void observe(const round_result *r) {
    if (r->their_move == D) next = D;
}

static void on_begin(const match_setup *setup) {
    reset();
    for (uint32_t i = match_rounds_start(setup); i < setup->n_history; i++) observe(&setup->history[i]);
}

static uint32_t on_move(const round_result *last) {
    if (last) observe(last);
    return next;
}
