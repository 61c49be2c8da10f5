// strategy: iocaine-powder
// games: rps, rpsls
// description: Dan Egnor's 1999 RoShamBo winner: history matchers and frequency counters at six horizons, second-guessed, picked by meta-strategies.
//
// A port of iocainebot (rsb-ts1.c) to n moves: predictors (longest earlier match of my, the opponent's and
// the joint history; most frequent move) at horizons 1000, 100, 10, 5, 2, 1, each for either side's next move
// and in every rotation (naive, second, triple guess); a meta-strategy per horizon picks the best of them over
// that horizon, the top layer the best meta-strategy. Frequency windows use their horizon (the original's never moved).
#define ARENA_BYTES 1024
#include "strategy.h"
#include "history.h"

#define MAX_MOVES 16
#define WINDOW 1000        /* the longest horizon ("trials" in the original) */
#define N_AGES 6
#define REPLAY_ROUNDS 20   /* begin scores predictors over at most this many recorded rounds (fuel) */
#define LOG_ROUND 100      /* the round at which it logs its current choice, once */
static const int32_t ages[N_AGES] = {1000, 100, 10, 5, 2, 1};
enum { MINE, THEIRS, BOTH };

/* A predictor: its latest prediction, and how each rotation of its predictions scored over each horizon. */
typedef struct {
    int32_t last;                       /* the move it predicted for the current round (-1: none) */
    uint32_t scored;                    /* rounds scored so far */
    uint8_t diff[WINDOW];               /* per scored round: (actual - predicted) mod n, a ring */
    int32_t sum[N_AGES][MAX_MOVES];     /* per horizon and rotation r: payoff of playing prediction + r */
} predictor;

static predictor pr_history[N_AGES][3][2], pr_freq[N_AGES][2], pr_random, pr_fixed, pr_meta[N_AGES];
static int8_t payoff_table[MAX_MOVES][MAX_MOVES]; /* [rotation][diff]: playing pred + r against pred + d */
static uint32_t n_moves, round_index, chosen_age;

static void reset_predictor(predictor *p) {
    p->last = -1;
    p->scored = 0;
    for (int a = 0; a < N_AGES; a++)
        for (int r = 0; r < MAX_MOVES; r++) p->sum[a][r] = 0;
}

/* Score the previous prediction against the opponent's actual move `last` (-1: none), then record `guess`. */
static void do_predict(predictor *p, int32_t last, int32_t guess) {
    if (last >= 0 && p->last >= 0) {
        const uint32_t d = ((uint32_t)last + n_moves - (uint32_t)p->last) % n_moves;
        const uint32_t t = p->scored++;
        for (int a = 0; a < N_AGES; a++) {
            if (t >= (uint32_t)ages[a]) { /* the round leaving this horizon */
                const uint32_t old = p->diff[(t - ages[a]) % WINDOW];
                for (uint32_t r = 0; r < n_moves; r++) p->sum[a][r] -= payoff_table[r][old];
            }
            for (uint32_t r = 0; r < n_moves; r++) p->sum[a][r] += payoff_table[r][d];
        }
        p->diff[t % WINDOW] = (uint8_t)d;
    }
    p->last = guess;
}

/* Offer this predictor's best rotation over horizon `a` if it beats `*score`. */
static int scan_predict(const predictor *p, int a, int32_t *move, int32_t *score) {
    int found = 0;
    for (uint32_t r = 0; r < n_moves; r++)
        if (p->sum[a][r] > *score) *score = p->sum[a][r], *move = (int32_t)((p->last + r) % n_moves), found = 1;
    return found;
}

/* For each horizon, the end of the longest match of the recent history `h` with an earlier stretch within
 * that horizon (-1: none), chosen exactly as the original's loops: the latest of the longest, scanning back
 * while a longer match is possible, stopping at one longer than half the history. One backward scan serves
 * all horizons (the original's loops are prefixes of each other), and the match lengths come from the
 * Z-algorithm on the reversed history, so a move costs linear time even when long runs repeat. */
static void do_history(const hist_sym *h, int32_t best[N_AGES]) {
    static int32_t z[WINDOW + 1]; /* z[k]: length of the match ending k rounds before the latest */
    const int32_t len = (int32_t)hist_len;
    const hist_sym *latest = h + len - 1; /* latest[-k]: the symbol k rounds back */
    int32_t best_len = 0, best_i = -1, a = N_AGES - 1, horizon = ages[a];
    int32_t box_start = 0, box_end = 0; /* the match reaching furthest back so far: [box_start, box_end) */
    for (int32_t k = 1, i = len - 2; i >= best_len; k++, i--) {
        while (k >= horizon) { /* i is beyond horizon a: a's answer is final */
            best[a--] = best_i;
            if (a < 0) return;
            horizon = ages[a];
        }
        int32_t m;
        if (k >= box_end) { /* outside any known match: compare from the latest symbol */
            if (latest[-k] != latest[0]) {
                z[k] = 0;
                continue;
            }
            m = 1;
        } else { /* inside the box: the match at k - box_start repeats here, up to the box's end */
            m = z[k - box_start];
            if (m < box_end - k) {
                z[k] = m;
                continue; /* shorter than the box's match at box_start, which is not longer than best */
            }
            m = box_end - k;
        }
        while (k + m < len && latest[-m] == latest[-(k + m)]) m++;
        box_start = k, box_end = k + m;
        z[k] = m;
        if (m > best_len) {
            best_len = m, best_i = i;
            if (m > len / 2) break;
        }
    }
    while (a >= 0) best[a--] = best_i;
}

/* Move counts of each side over each horizon, kept up to date as rounds are recorded. */
static uint32_t window_count[N_AGES][2][MAX_MOVES];

/* Records a round in the history and the counts; returns whether it was stored (both sides played). */
static int record(const round_result *r) {
    if (!hist_push(r)) return 0;
    const int32_t len = (int32_t)hist_len;
    for (int a = 0; a < N_AGES; a++) {
        window_count[a][0][hist_my[len - 1]]++, window_count[a][1][hist_opp[len - 1]]++;
        if (len > ages[a]) /* the round leaving the horizon (compaction keeps more than WINDOW rounds) */
            window_count[a][0][hist_my[len - 1 - ages[a]]]--, window_count[a][1][hist_opp[len - 1 - ages[a]]]--;
    }
    return 1;
}

/* The most frequent move of a side over a horizon (ties: lowest move). */
static int32_t most_frequent(int a, int side) {
    const uint32_t *count = window_count[a][side];
    int32_t best = 0;
    for (uint32_t m = 1; m < n_moves; m++) if (count[m] > count[best]) best = (int32_t)m;
    return best;
}

/* One Iocaine Powder step: score the round just recorded (`scored`: whether there is one), predict anew. */
static uint32_t iocaine(int scored) {
    const int32_t last = scored ? hist_opp[hist_len - 1] : -1;
    const int32_t guess = (int32_t)rng_below(n_moves);
    int32_t best[3][N_AGES];
    do_history(hist_my, best[MINE]);
    do_history(hist_opp, best[THEIRS]);
    do_history(hist_both, best[BOTH]);
    for (int a = 0; a < N_AGES; a++) {
        for (int w = 0; w < 3; w++) {
            const int32_t b = best[w][a];
            do_predict(&pr_history[a][w][0], last, b < 0 ? guess : hist_my[b + 1]);
            do_predict(&pr_history[a][w][1], last, b < 0 ? guess : hist_opp[b + 1]);
        }
        for (int p = 0; p < 2; p++) do_predict(&pr_freq[a][p], last, most_frequent(a, p));
    }
    do_predict(&pr_random, last, guess);
    do_predict(&pr_fixed, last, 0);

    for (int a = 0; a < N_AGES; a++) {
        int32_t score = -1, move = -1;
        for (int aa = 0; aa < N_AGES; aa++)
            for (int p = 0; p < 2; p++) {
                for (int w = 0; w < 3; w++) scan_predict(&pr_history[aa][w][p], a, &move, &score);
                scan_predict(&pr_freq[aa][p], a, &move, &score);
            }
        scan_predict(&pr_random, a, &move, &score);
        scan_predict(&pr_fixed, a, &move, &score);
        do_predict(&pr_meta[a], last, move);
    }
    int32_t score = -1, move = guess;
    for (int a = 0; a < N_AGES; a++)
        if (scan_predict(&pr_meta[a], 0, &move, &score)) chosen_age = (uint32_t)a;
    return (uint32_t)move;
}

static void on_begin(const match_setup *setup) {
    n_moves = setup->n_moves;
    round_index = setup->first_round;
    rng_seed(setup->seed);
    hist_reset(n_moves);
    for (int a = 0; a < N_AGES; a++)
        for (uint32_t m = 0; m < MAX_MOVES; m++) window_count[a][0][m] = window_count[a][1][m] = 0;
    if (n_moves < 2 || n_moves > MAX_MOVES) return;
    for (uint32_t r = 0; r < n_moves; r++)
        for (uint32_t d = 0; d < n_moves; d++) payoff_table[r][d] = (int8_t)rps_payoff(r, d, n_moves);
    for (int a = 0; a < N_AGES; a++) {
        for (int w = 0; w < 3; w++) reset_predictor(&pr_history[a][w][0]), reset_predictor(&pr_history[a][w][1]);
        reset_predictor(&pr_freq[a][0]), reset_predictor(&pr_freq[a][1]), reset_predictor(&pr_meta[a]);
    }
    reset_predictor(&pr_random), reset_predictor(&pr_fixed);
    /* Earlier rounds feed the matchers; the predictors replay only the most recent ones (fuel). */
    const uint32_t replay_from = setup->n_history > REPLAY_ROUNDS ? setup->n_history - REPLAY_ROUNDS : 0;
    for (uint32_t i = 0; i < setup->n_history; i++) {
        const int stored = record(&setup->history[i]);
        if (i >= replay_from) iocaine(stored);
    }
}

static uint32_t on_move(const round_result *last) {
    if (n_moves < 2 || n_moves > MAX_MOVES) return n_moves > 1 ? rng_below(n_moves) : 0;
    const uint32_t move = iocaine(record(last));
    if (round_index++ == LOG_ROUND) {
        char line[64];
        append_uint(append_str(append_uint(append_str(line, "round "), LOG_ROUND), ": following horizon "),
                    (uint32_t)ages[chosen_age]);
        host_log(line);
    }
    return move;
}
