// strategy: tit-for-two-tats
// games: ipd
// description: Defects only after the opponent defected twice in a row.
//
// Axelrod library: TitFor2Tats (axelrod/strategies/titfortat.py): D if the opponent's last two moves
// were D, D, else C. A forfeited opponent round is ignored (neither C nor D).
#define ARENA_BYTES 1024
#include "strategy.h"

enum { C = 0, D = 1 };
static uint32_t older, latest, next; /* the opponent's last two actual moves, and the reply */
static void reset(void) { older = latest = next = C; }
static void observe(const round_result *r) {
    if (r->their_move != C && r->their_move != D) return;
    older = latest;
    latest = (uint32_t)r->their_move;
    next = older == D && latest == D ? D : C;
}

static void on_begin(const match_setup *setup) {
    reset();
    for (uint32_t i = match_rounds_start(setup); i < setup->n_history; i++) observe(&setup->history[i]);
}

static uint32_t on_move(const round_result *last) {
    if (last) observe(last);
    return next;
}
