"""Match and tournament orchestration: pairing, the match loop, worker processes and progress."""
