// strategy: rfind
// games: rps, rpsls
// description: History matching: finds the longest recent pattern (up to 20 rounds) seen before and beats what followed.
//
// The classic "rfind" bot of the rpscontest.com era: the most recent earlier occurrence of the longest
// suffix (at most 20 rounds) of the joint history predicts the opponent's next move; it plays what beats
// it, and plays randomly when nothing matches. Learns from earlier meetings too.
#define ARENA_BYTES 1024
#include "strategy.h"
#include "history.h"

#define MAX_MATCH 20

static void on_begin(const match_setup *setup) {
    rng_seed(setup->seed);
    hist_reset(setup->n_moves);
    for (uint32_t i = 0; i < setup->n_history; i++) hist_push(&setup->history[i]);
}

static uint32_t on_move(const round_result *last) {
    hist_push(last);
    const uint32_t t = hist_len;
    uint32_t best_len = 0, best_end = 0;
    /* Candidate occurrences end at e (most recent first) and must be followed by a round. */
    for (uint32_t e = t < 2 ? 0 : t - 1; e-- > 0 && best_len < MAX_MATCH;) {
        if (hist_both[e] != hist_both[t - 1]) continue;
        uint32_t len = 1;
        while (len <= e && len < MAX_MATCH && hist_both[e - len] == hist_both[t - 1 - len]) len++;
        if (len > best_len) best_len = len, best_end = e;
    }
    if (best_len == 0) return rng_below(hist_moves);
    return rps_beat(hist_opp[best_end + 1], hist_moves);
}
