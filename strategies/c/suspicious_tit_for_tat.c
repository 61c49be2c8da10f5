// strategy: suspicious-tit-for-tat
// games: ipd
// description: Defects first, then copies the opponent's previous move.
//
// Axelrod library: SuspiciousTitForTat (axelrod/strategies/titfortat.py), also "Mistrust".
// A forfeited opponent round is ignored: it copies the opponent's last actual move.
#define ARENA_BYTES 1024
#include "strategy.h"

enum { C = 0, D = 1 };
static uint32_t next;
static void reset(void) { next = D; }
static void observe(const round_result *r) {
    if (r->their_move == C || r->their_move == D) next = (uint32_t)r->their_move;
}

static void on_begin(const match_setup *setup) {
    reset();
    for (uint32_t i = match_rounds_start(setup); i < setup->n_history; i++) observe(&setup->history[i]);
}

static uint32_t on_move(const round_result *last) {
    if (last) observe(last);
    return next;
}
