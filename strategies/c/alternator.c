// strategy: alternator
// games: ipd
// description: Alternates C, D, C, D, ... starting with C.
//
// Axelrod library: Alternator (axelrod/strategies/alternator.py): plays the opposite of its own previous
// actual move (after noise), so a flipped move shifts the cycle; its own forfeited round is ignored.
#define ARENA_BYTES 1024
#include "strategy.h"

enum { C = 0, D = 1 };
static uint32_t next;
static void reset(void) { next = C; }
static void observe(const round_result *r) {
    if (r->my_move == C || r->my_move == D) next = r->my_move == C ? D : C;
}

static void on_begin(const match_setup *setup) {
    reset();
    for (uint32_t i = match_rounds_start(setup); i < setup->n_history; i++) observe(&setup->history[i]);
}

static uint32_t on_move(const round_result *last) {
    if (last) observe(last);
    return next;
}
