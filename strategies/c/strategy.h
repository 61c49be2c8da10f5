/* Runtime for built-in strategies written in C against wit/strategy.wit (tournament:strategy@1.0.0).
 *
 * It implements the canonical-ABI exports of `tournament:strategy/player@1.0.0` by hand (no wit-bindgen
 * is reachable offline), so a strategy file only defines two functions:
 *
 *   static void on_begin(const match_setup *setup);     called once per instance, before round `first_round`
 *   static uint32_t on_move(const round_result *last);  called once per round, returns the move
 *
 * `last` is the previous round, or NULL when there is nothing new: on round 0, and on the first call after
 * a restart (begin with `first_round > 0`), whose previous round is already the last entry of the history.
 * No libc. A move of -1 in a round_result means that side forfeited the round. `setup->history` holds the
 * rounds of earlier meetings with this opponent, then (after a restart, `first_round > 0`) this match's
 * earlier rounds: see match_rounds_start(). The strings of `setup` are only valid during on_begin;
 * `setup->history` stays valid until the next begin.
 *
 * Tunables, defined before including this file:
 *   ARENA_BYTES  static arena for the host's lowering of begin's arguments (default 8 KiB); larger
 *                arguments (a long history) are placed in memory grown on demand, reused by later begins.
 *   HISTORY_CAP  rounds of setup->history kept (the most recent ones; default 2048, 16 bytes each).
 */
#ifndef STRATEGY_H
#define STRATEGY_H

#include <stdint.h>
#include <stddef.h>

#define EXPORT(name) __attribute__((export_name(name)))
#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))

typedef struct { const char *ptr; uint32_t len; } wit_string;

/* A round as the player sees it; a move of -1 means that side forfeited the round. */
typedef struct { int32_t my_move; int32_t their_move; int32_t my_payoff; int32_t their_payoff; } round_result;

typedef struct {
    wit_string game;            /* "rps", "rpsls", "ipd", ... (valid during on_begin only) */
    const wit_string *moves;    /* move labels (valid during on_begin only) */
    uint32_t n_moves;           /* a legal move is 0 .. n_moves - 1 */
    int has_rounds;             /* 0 when the organizer hides the match length */
    uint32_t rounds;
    uint64_t seed;              /* this player's secret seed: its only source of randomness */
    uint64_t opponent;          /* opaque, stable opponent id */
    const round_result *history;/* oldest first; the last HISTORY_CAP rounds at most */
    uint32_t n_history;
    uint32_t first_round;       /* index of the round the next on_move is for */
} match_setup;

/* Implemented by each strategy. */
static void on_begin(const match_setup *setup);
/* `last` is NULL on the first round (and right after a restart). Returns the move index. */
static uint32_t on_move(const round_result *last);

IMPORT("tournament:strategy/host@1.0.0", "log") void host_log_raw(const char *ptr, uint32_t len);

/* Writes a line to the match log (the engine truncates and rate-limits it: log rarely). */
static inline void host_log(const char *msg) {
    uint32_t n = 0;
    while (msg[n]) n++;
    host_log_raw(msg, n);
}

/* ---- allocation for the host's lowering of begin's arguments ---- */
#ifndef ARENA_BYTES
#define ARENA_BYTES (8 * 1024)
#endif
static unsigned char arena[ARENA_BYTES] __attribute__((aligned(16)));
static size_t arena_used;
static size_t heap_base, heap_top, heap_end; /* pages grown past the static data, for big arguments */

EXPORT("cabi_realloc")
void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size) {
    unsigned char *p;
    size_t start = (arena_used + align - 1) & ~(align - 1);
    if (start + new_size <= ARENA_BYTES) {
        p = arena + start;
        arena_used = start + new_size;
    } else {
        if (!heap_end) heap_base = heap_top = heap_end = __builtin_wasm_memory_size(0) * 65536;
        start = (heap_top + align - 1) & ~(align - 1);
        if (start + new_size > heap_end) {
            size_t pages = (start + new_size - heap_end + 65535) / 65536;
            if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) __builtin_trap(); /* memory cap */
            heap_end += pages * 65536;
        }
        p = (unsigned char *)start;
        heap_top = start + new_size;
    }
    if (old) {
        const unsigned char *src = old;
        for (size_t i = 0; i < old_size && i < new_size; i++) p[i] = src[i];
    }
    return p;
}

/* ---- canonical-ABI layout of list<round-result> elements in memory ----
 * record { option<u32>, option<u32>, s32, s32 }: option<u32> is {u8 tag, 3 pad, u32 value} = 8 bytes,
 * so an element is 24 bytes with 4-byte alignment; this struct has exactly that layout. */
typedef struct { uint8_t my_tag; uint32_t my_move; uint8_t their_tag; uint32_t their_move; int32_t my_payoff; int32_t their_payoff; } raw_round;
_Static_assert(sizeof(raw_round) == 24, "list<round-result> element is 24 bytes");

#ifndef HISTORY_CAP
#define HISTORY_CAP 2048
#endif
static round_result history_buf[HISTORY_CAP > 0 ? HISTORY_CAP : 1];
static int last_is_in_history; /* set by a restart: the next `last` repeats the history's final round */

EXPORT("tournament:strategy/player@1.0.0#begin")
void wit_begin(const char *game, uint32_t game_len, const wit_string *moves, uint32_t n_moves,
               int32_t has_rounds, uint32_t rounds, uint64_t seed, uint64_t opponent,
               const raw_round *history, uint32_t n_history, uint32_t first_round) {
    uint32_t keep = n_history < HISTORY_CAP ? n_history : HISTORY_CAP;
    const raw_round *src = history + (n_history - keep);
    for (uint32_t i = 0; i < keep; i++) {
        history_buf[i].my_move = src[i].my_tag ? (int32_t)src[i].my_move : -1;
        history_buf[i].their_move = src[i].their_tag ? (int32_t)src[i].their_move : -1;
        history_buf[i].my_payoff = src[i].my_payoff;
        history_buf[i].their_payoff = src[i].their_payoff;
    }
    match_setup setup = {
        {game, game_len}, moves, n_moves, has_rounds != 0, rounds, seed, opponent,
        history_buf, keep, first_round,
    };
    last_is_in_history = first_round > 0 && n_history > 0;
    on_begin(&setup);
    arena_used = 0; /* begin's arguments are dead now: a later begin reuses the space */
    heap_top = heap_base;
}

EXPORT("tournament:strategy/player@1.0.0#next-move")
uint32_t wit_next_move(int32_t has_last, int32_t my_tag, int32_t my_move, int32_t their_tag,
                       int32_t their_move, int32_t my_payoff, int32_t their_payoff) {
    if (!has_last || last_is_in_history) {
        last_is_in_history = 0;
        return on_move(NULL);
    }
    round_result last = {
        my_tag ? my_move : -1, their_tag ? their_move : -1, my_payoff, their_payoff,
    };
    return on_move(&last);
}

/* ---- helpers shared by strategies ---- */

/* Index in setup->history of the first round of the current match (rounds before it are earlier
 * meetings). Strategies that only look at the current match (the classic IPD ones, counters) start there. */
static inline uint32_t match_rounds_start(const match_setup *s) {
    return s->first_round < s->n_history ? s->n_history - s->first_round : 0;
}

/* Whether the game is named `name` (valid during on_begin only). */
static inline int game_is(const match_setup *s, const char *name) {
    uint32_t i = 0;
    for (; i < s->game.len; i++) if (name[i] != s->game.ptr[i]) return 0;
    return name[i] == 0;
}

/* The rock-paper-scissors family with n moves (rps n=3, rpsls n=5): move i beats j iff (i - j) mod n is
 * odd, so (m + 1) % n always beats m. */
static inline uint32_t rps_beat(uint32_t m, uint32_t n) { return (m + 1) % n; }
/* Payoff of playing a against b: +1 win, 0 tie, -1 loss. */
static inline int rps_payoff(uint32_t a, uint32_t b, uint32_t n) {
    uint32_t d = (a + n - b) % n;
    return d == 0 ? 0 : (d & 1) ? 1 : -1;
}

/* Minimal text formatting for host_log: append to a buffer, return the new end (caller sizes the buffer). */
static inline char *append_str(char *out, const char *s) {
    while (*s) *out++ = *s++;
    *out = 0;
    return out;
}
static inline char *append_uint(char *out, uint32_t v) {
    char digits[10];
    int n = 0;
    do digits[n++] = (char)('0' + v % 10), v /= 10; while (v);
    while (n) *out++ = digits[--n];
    *out = 0;
    return out;
}

/* splitmix64: small, fast, good enough for strategy randomness, seeded from setup->seed. */
static uint64_t rng_state;
static inline void rng_seed(uint64_t seed) { rng_state = seed; }
static inline uint64_t rng_next(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* Uniform integer in [0, n). */
static inline uint32_t rng_below(uint32_t n) { return (uint32_t)(((rng_next() >> 32) * (uint64_t)n) >> 32); }
/* Uniform double in [0, 1). */
static inline double rng_unit(void) { return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0); }

#endif
