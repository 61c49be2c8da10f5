/*
 * The no-noise match loop's clean rounds, played from C.
 *
 * From Python a sandboxed move costs three ctypes calls plus interpreter work (about 1.7 us); the same
 * wasmtime C calls made from a C loop cost about 0.4 us. This file is that loop and nothing else: every
 * decision that is not "two legal moves, no failure" goes back to Python, which then plays the round
 * exactly as its own loops would (`tournament/orchestration/match.py`, `_play_native`).
 *
 * It is a plain shared library, not a CPython extension, and it does not link against wasmtime: the
 * caller passes the addresses of the wasmtime C API functions from the library wasmtime-py already
 * loaded, so both sides always agree on the exact wasmtime build. Python calls `play_rounds` through
 * ctypes.CDLL, which releases the GIL for the whole run: the epoch ticker thread keeps running and can
 * interrupt a runaway guest, and host imports (`log`) are ctypes callbacks that take the GIL themselves.
 */
#include <stddef.h>
#include <stdint.h>

/* Python refuses larger games (the argument tables would be large); this is only the C side's guard. */
#define MAX_MOVES 256u

typedef void *(*set_fuel_fn)(void *context, uint64_t fuel);
typedef void *(*get_fuel_fn)(const void *context, uint64_t *fuel);
typedef void (*set_deadline_fn)(void *context, uint64_t ticks_beyond_current);
typedef void *(*func_call_fn)(const void *func, void *context, const void *args, size_t args_size,
                              void *results, size_t results_size);
typedef void (*error_delete_fn)(void *error);

struct api {
    set_fuel_fn set_fuel;
    get_fuel_fn get_fuel;
    set_deadline_fn set_deadline;
    func_call_fn func_call;
    error_delete_fn error_delete;
};

/* One player's instance for the run, and what its call in the stopping round gave. */
struct side {
    void *context;              /* wasmtime_context_t* of the player's store */
    const void *func;           /* its next-move wasmtime_component_func_t* */
    void *result;               /* a wasmtime_component_val_t slot for the result */
    const uint32_t *result_u32; /* the u32 inside `result`: Python knows the union's layout, C need not */
    const void *const *args;    /* n*n + 1 lowered `option<round-result>` values, the player's own side
                                   first: [my * n + their], and [n * n] for none (round 0) */
    uint64_t fuel;              /* fuel budget per move */
    uint64_t deadline;          /* epoch deadline, in ticks beyond the current epoch */
    /* Outcome of the stopping round (written only when the run stops early). */
    uint32_t called;            /* 1 if this side's call was made in that round */
    uint32_t move;              /* the raw u32 move when `error` is NULL */
    uint64_t used;              /* fuel consumed when `error` is NULL */
    void *error;                /* wasmtime_error_t* of a failed call: Python takes ownership */
};

/* Per-round outputs of the clean rounds, `count` entries each, and the run's tallies. */
struct out {
    uint32_t *move_a;
    uint32_t *move_b;
    int64_t *payoff_a;
    int64_t *payoff_b;
    uint64_t *fuel_a;
    uint64_t *fuel_b;
    uint32_t *cell;   /* a * n + b: Python's index into the players' `last` keys for their histories */
    int64_t *tally;   /* total_a, total_b, wins_a, wins_b, draws: added to, never reset */
    int64_t *round;   /* where log lines read the current round while a call runs; may be NULL */
};

/* One move, as the Python mover makes it: fuel, deadline, call, fuel left. Returns the error, if any.
 * The deadline is re-armed before every call (the stock semantics): from C that costs a few ns, so the
 * Python path's "only when the epoch moved" optimisation is not worth its bookkeeping here. */
static void *move(const struct api *api, struct side *side, const void *arg, uint32_t *move_out,
                  uint64_t *used_out)
{
    uint64_t left = 0;
    void *error = api->set_fuel(side->context, side->fuel);
    if (error != NULL)
        return error;
    api->set_deadline(side->context, side->deadline);
    error = api->func_call(side->func, side->context, arg, 1, side->result, 1);
    if (error != NULL)
        return error;
    *move_out = *side->result_u32;
    /* As in Python: fuel that cannot be read counts as the whole budget used. */
    error = api->get_fuel(side->context, &left);
    if (error != NULL) {
        api->error_delete(error);
        *used_out = side->fuel;
    } else {
        *used_out = side->fuel - left;
    }
    return NULL;
}

static int side_ok(const struct side *side)
{
    return side != NULL && side->context != NULL && side->func != NULL && side->result != NULL &&
           side->result_u32 != NULL && side->args != NULL;
}

/*
 * Plays rounds first_round .. first_round + count - 1 while both moves are legal and neither call
 * fails. `last_cell` is the previous round's cell from A's side (a * n + b), or -1 before round 0.
 * `payoffs` holds (A's, B's) payoff per cell. Returns the number of clean rounds played; when that is
 * less than `count`, the next round stopped the run and both sides' `called`/`move`/`used`/`error`
 * describe it (B is not called when A's call failed: Python turns A's failure into its forfeit first,
 * as its own loop does, then asks B). Returns -1 for arguments it refuses.
 */
int64_t play_rounds(const struct api *api, struct side *a, struct side *b, uint32_t n_moves,
                    const int32_t *payoffs, int64_t first_round, int64_t count, int64_t last_cell,
                    const struct out *out)
{
    if (api == NULL || api->set_fuel == NULL || api->get_fuel == NULL || api->set_deadline == NULL ||
        api->func_call == NULL || api->error_delete == NULL || !side_ok(a) || !side_ok(b) ||
        payoffs == NULL || out == NULL || out->move_a == NULL || out->move_b == NULL ||
        out->payoff_a == NULL || out->payoff_b == NULL || out->fuel_a == NULL || out->fuel_b == NULL ||
        out->cell == NULL || out->tally == NULL || n_moves == 0 || n_moves > MAX_MOVES || count < 0 || first_round < 0)
        return -1;
    const int64_t none = (int64_t)n_moves * n_moves;
    if (last_cell < -1 || last_cell >= none)
        return -1;
    /* A null argument would reach wasmtime as an argument array: refuse it here, once per run. */
    for (int64_t cell = 0; cell <= none; cell++)
        if (a->args[cell] == NULL || b->args[cell] == NULL)
            return -1;
    a->called = b->called = 0;
    a->error = b->error = NULL;
    /* The cell from each player's own side: A's is (a, b), B's is (b, a). */
    int64_t cell_a = last_cell < 0 ? none : last_cell;
    int64_t cell_b = last_cell < 0 ? none : (last_cell % n_moves) * n_moves + last_cell / n_moves;
    int64_t *tally = out->tally;
    for (int64_t i = 0; i < count; i++) {
        uint32_t move_a = 0, move_b = 0;
        uint64_t used_a = 0, used_b = 0;
        if (out->round != NULL)
            *out->round = first_round + i;
        void *error_a = move(api, a, a->args[cell_a], &move_a, &used_a);
        void *error_b = NULL;
        if (error_a == NULL)
            error_b = move(api, b, b->args[cell_b], &move_b, &used_b);
        if (error_a != NULL || error_b != NULL || move_a >= n_moves || move_b >= n_moves) {
            a->called = 1;
            a->move = move_a;
            a->used = used_a;
            a->error = error_a;
            b->called = error_a == NULL;
            b->move = move_b;
            b->used = used_b;
            b->error = error_b;
            return i;
        }
        const int64_t cell = (int64_t)move_a * n_moves + move_b;
        const int64_t pay_a = payoffs[2 * cell], pay_b = payoffs[2 * cell + 1];
        out->move_a[i] = move_a;
        out->move_b[i] = move_b;
        out->payoff_a[i] = pay_a;
        out->payoff_b[i] = pay_b;
        out->fuel_a[i] = used_a;
        out->fuel_b[i] = used_b;
        out->cell[i] = (uint32_t)cell;
        tally[0] += pay_a;
        tally[1] += pay_b;
        if (pay_a > pay_b)
            tally[2]++;
        else if (pay_b > pay_a)
            tally[3]++;
        else
            tally[4]++;
        cell_a = cell;
        cell_b = (int64_t)move_b * n_moves + move_a;
    }
    return count;
}
