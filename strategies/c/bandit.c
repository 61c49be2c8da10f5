// strategy: bandit
// games: rps, rpsls
// description: A multi-armed bandit (Thompson sampling, decayed Beta posteriors) over rotations of simple predictors.
//
// After the multi-armed-bandit agents of the Kaggle Rock-Paper-Scissors contest (2020-21). Arms: beat-last,
// beat-frequent, an rfind-style joint-history matcher and beat-my-last, each in all n rotations, plus random.
// Every round each arm is scored as if it had been played (win 1, tie 1/2, loss 0 into a Beta posterior
// decayed by 0.95 per round); the arm with the highest posterior sample is played.
#define ARENA_BYTES 1024
#include "strategy.h"
#include "history.h"

#define MAX_MOVES 16
#define N_BASES 4           /* opponent-move predictors; each yields n arms (its rotations) */
#define MAX_ARMS (N_BASES * MAX_MOVES + 1)
#define DECAY 0.95
#define MAX_MATCH 20
#define SEARCH 1000         /* the matcher looks this many rounds back */
#define REPLAY_ROUNDS 100   /* begin scores the arms over at most this many recorded rounds (fuel) */

static uint32_t n_moves, n_arms, count[MAX_MOVES];
static double wins[MAX_ARMS], losses[MAX_ARMS]; /* decayed evidence; the posterior is Beta(1 + w, 1 + l) */
static int32_t arm_move[MAX_ARMS];             /* what each arm plays this round (-1: no prediction) */

/* ---- sampling (no libm): ln, a normal deviate, Gamma(shape >= 1) by Marsaglia-Tsang, Beta from Gammas ---- */
static double ln(double x) { /* x > 0; |error| < 1e-12 */
    union { double d; uint64_t u; } v = {x};
    int e = (int)((v.u >> 52) & 0x7ff) - 1023;
    v.u = (v.u & 0x000fffffffffffffull) | 0x3ff0000000000000ull; /* mantissa in [1, 2) */
    double m = v.d;
    if (m > 1.4142135623730951) m *= 0.5, e++;
    const double t = (m - 1) / (m + 1), t2 = t * t;
    double s = 1.0 / 15, k;
    for (k = 13; k >= 1; k -= 2) s = 1.0 / k + t2 * s;
    return 2 * t * s + e * 0.6931471805599453;
}
static double unit_open(void) { return ((double)(rng_next() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
static double normal(void) {
    double u, v, s;
    do u = 2 * unit_open() - 1, v = 2 * unit_open() - 1, s = u * u + v * v; while (s >= 1);
    return u * __builtin_sqrt(-2 * ln(s) / s);
}
static double gamma(double shape) {
    const double d = shape - 1.0 / 3, c = 1 / __builtin_sqrt(9 * d);
    for (;;) {
        double x, v;
        do x = normal(), v = 1 + c * x; while (v <= 0);
        v = v * v * v;
        const double u = unit_open();
        if (u < 1 - 0.0331 * x * x * x * x || ln(u) < 0.5 * x * x + d * (1 - v + ln(v))) return d * v;
    }
}
static double beta(double a, double b) {
    const double x = gamma(a);
    return x / (x + gamma(b));
}

/* ---- predictors of the opponent's next move ---- */
static int32_t predict_match(void) { /* rfind over the last SEARCH rounds: what followed the longest repeat */
    const uint32_t t = hist_len, stop = t > SEARCH ? t - SEARCH : 0;
    uint32_t best_len = 0, best_end = 0;
    for (uint32_t e = t < 2 ? 0 : t - 1; e-- > stop && best_len < MAX_MATCH;) {
        if (hist_both[e] != hist_both[t - 1]) continue;
        uint32_t len = 1;
        while (len <= e && len < MAX_MATCH && hist_both[e - len] == hist_both[t - 1 - len]) len++;
        if (len > best_len) best_len = len, best_end = e;
    }
    return best_len ? hist_opp[best_end + 1] : -1;
}

static void predict_arms(void) {
    int32_t base[N_BASES] = {-1, -1, -1, -1};
    if (hist_len) {
        uint32_t frequent = 0;
        for (uint32_t m = 1; m < n_moves; m++) if (count[m] > count[frequent]) frequent = m;
        base[0] = hist_opp[hist_len - 1]; /* they repeat their last move */
        base[1] = (int32_t)frequent;      /* they play their favourite */
        base[2] = predict_match();        /* they repeat history */
        base[3] = hist_my[hist_len - 1];  /* they react to my last move (rotations: copy, beat, ...) */
    }
    for (uint32_t b = 0; b < N_BASES; b++)
        for (uint32_t r = 0; r < n_moves; r++)
            arm_move[b * n_moves + r] = base[b] < 0 ? -1 : (int32_t)((base[b] + 1 + r) % n_moves);
    arm_move[n_arms - 1] = (int32_t)rng_below(n_moves); /* the random arm */
}

/* Records a round; returns whether it was stored (both sides played). */
static int record(const round_result *r) {
    if (!hist_push(r)) return 0;
    count[hist_opp[hist_len - 1]]++;
    return 1;
}

/* Score every arm's move for the round just recorded, then predict the next one. */
static void learn(int recorded) {
    if (recorded) {
        const uint32_t theirs = hist_opp[hist_len - 1];
        for (uint32_t i = 0; i < n_arms; i++) {
            wins[i] *= DECAY, losses[i] *= DECAY;
            if (arm_move[i] < 0) continue;
            const int p = rps_payoff((uint32_t)arm_move[i], theirs, n_moves);
            wins[i] += p > 0 ? 1 : p == 0 ? 0.5 : 0;
            losses[i] += p < 0 ? 1 : p == 0 ? 0.5 : 0;
        }
    }
    predict_arms();
}

static void on_begin(const match_setup *setup) {
    n_moves = setup->n_moves < MAX_MOVES ? setup->n_moves : MAX_MOVES;
    n_arms = N_BASES * n_moves + 1;
    rng_seed(setup->seed);
    hist_reset(n_moves);
    for (uint32_t m = 0; m < MAX_MOVES; m++) count[m] = 0;
    for (uint32_t i = 0; i < MAX_ARMS; i++) wins[i] = losses[i] = 0, arm_move[i] = -1;
    const uint32_t replay_from = setup->n_history > REPLAY_ROUNDS ? setup->n_history - REPLAY_ROUNDS : 0;
    for (uint32_t i = 0; i < setup->n_history; i++) {
        const int stored = record(&setup->history[i]);
        if (i >= replay_from) learn(stored);
    }
}

static uint32_t on_move(const round_result *last) {
    learn(record(last));
    double best = -1;
    uint32_t choice = (uint32_t)arm_move[n_arms - 1];
    for (uint32_t i = 0; i < n_arms; i++) {
        if (arm_move[i] < 0) continue;
        const double sample = beta(1 + wins[i], 1 + losses[i]);
        if (sample > best) best = sample, choice = (uint32_t)arm_move[i];
    }
    return choice;
}
