/* The joint move history, for strategies that learn from it (include after strategy.h).
 *
 * hist_my[i] and hist_opp[i] are this player's and the opponent's moves in the i-th recorded round, oldest
 * first, and hist_both[i] = hist_my[i] * n_moves + hist_opp[i] is the pair as one symbol. Rounds where either side forfeited are left out: they say nothing about how the opponent plays.
 * When HIST_CAP rounds are stored, the oldest half is dropped, so indices are only stable within one move.
 */
#ifndef HISTORY_H
#define HISTORY_H

#ifndef HIST_CAP
#define HIST_CAP 4096
#endif

typedef uint16_t hist_sym;
static hist_sym hist_my[HIST_CAP], hist_opp[HIST_CAP], hist_both[HIST_CAP];
static uint32_t hist_len;   /* rounds stored */
static uint32_t hist_moves; /* the game's number of moves */

static void hist_reset(uint32_t n_moves) {
    hist_len = 0;
    hist_moves = n_moves;
}

/* Appends a round; returns 0 and stores nothing unless both sides played a legal move. */
static int hist_push(const round_result *r) {
    if (!r || r->my_move < 0 || r->their_move < 0 || (uint32_t)r->my_move >= hist_moves ||
        (uint32_t)r->their_move >= hist_moves || hist_moves > 256)
        return 0;
    if (hist_len == HIST_CAP) {
        const uint32_t keep = HIST_CAP / 2;
        for (uint32_t i = 0; i < keep; i++) {
            hist_my[i] = hist_my[HIST_CAP - keep + i];
            hist_opp[i] = hist_opp[HIST_CAP - keep + i];
            hist_both[i] = hist_both[HIST_CAP - keep + i];
        }
        hist_len = keep;
    }
    hist_my[hist_len] = (hist_sym)r->my_move;
    hist_opp[hist_len] = (hist_sym)r->their_move;
    hist_both[hist_len] = (hist_sym)(r->my_move * hist_moves + r->their_move);
    hist_len++;
    return 1;
}

#endif
