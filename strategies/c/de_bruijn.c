// strategy: de-bruijn
// games: rps, rpsls
// description: Repeats a de Bruijn sequence B(n, k) drawn from its seed: every k-move pattern equally often.
//
// After "De Bruijn" (debruijn81) in the RoShamBo test suite (rsb-ts1.c): a sequence that frequency and
// short-context counters cannot exploit. k is the largest with n^k <= 1024 (rps: k=6, 729 moves; rpsls:
// k=4, 625); the sequence is a random Euler circuit of the de Bruijn graph (BEST theorem), so even its
// prefixes are flat. It ignores the opponent entirely.
#define ARENA_BYTES 1024
#define HISTORY_CAP 0
#include "strategy.h"

#define SEQ_MAX 1024
static uint16_t seq[SEQ_MAX];
static uint32_t seq_len, n_moves, round_index;

static void on_begin(const match_setup *setup) {
    /* Per node (the last k-1 moves): its exit towards node 0 in a spanning tree, a random rotation of its
     * other exits, how many exits the circuit used, and whether it is in the tree yet. */
    static uint16_t tree_exit[SEQ_MAX / 2], turn[SEQ_MAX / 2], used[SEQ_MAX / 2];
    static uint8_t in_tree[SEQ_MAX / 2];
    const uint32_t n = n_moves = setup->n_moves;
    round_index = setup->first_round;
    rng_seed(setup->seed);
    seq_len = 0;
    if (n < 2 || n > SEQ_MAX / 2) return;
    uint32_t nodes = 1; /* n^(k-1) */
    while (nodes * n * n <= SEQ_MAX) nodes *= n;
    for (uint32_t v = 0; v < nodes; v++) in_tree[v] = 0, used[v] = 0, turn[v] = (uint16_t)rng_below(v ? n - 1 : n);
    /* Wilson's algorithm: a uniformly random spanning tree of exits towards node 0. */
    in_tree[0] = 1;
    for (uint32_t u = 0; u < nodes; u++) {
        for (uint32_t v = u; !in_tree[v]; v = (v * n + tree_exit[v]) % nodes) tree_exit[v] = (uint16_t)rng_below(n);
        for (uint32_t v = u; !in_tree[v]; v = (v * n + tree_exit[v]) % nodes) in_tree[v] = 1;
    }
    /* Euler circuit from node 0 that leaves every other node by its tree exit last, the others first in
     * a random rotation of their order. */
    for (uint32_t v = 0; seq_len < nodes * n; seq_len++) {
        const uint32_t j = used[v]++;
        const uint32_t move = v == 0       ? (turn[0] + j) % n
                              : j == n - 1 ? tree_exit[v]
                                           : (tree_exit[v] + 1 + (turn[v] + j) % (n - 1)) % n;
        seq[seq_len] = (uint16_t)move;
        v = (v * n + move) % nodes;
    }
}

static uint32_t on_move(const round_result *last) {
    (void)last;
    const uint32_t t = round_index++;
    return seq_len ? seq[t % seq_len] : t % n_moves;
}
