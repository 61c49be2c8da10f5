// strategy: defector
// games: ipd
// description: Always defects.
//
// Axelrod library: Defector (axelrod/strategies/defector.py), "ALLD".
#define ARENA_BYTES 1024
#include "strategy.h"

enum { C = 0, D = 1 };
static const uint32_t next = D;
static void reset(void) {}
static void observe(const round_result *r) { (void)r; }

static void on_begin(const match_setup *setup) {
    reset();
    for (uint32_t i = match_rounds_start(setup); i < setup->n_history; i++) observe(&setup->history[i]);
}

static uint32_t on_move(const round_result *last) {
    if (last) observe(last);
    return next;
}
