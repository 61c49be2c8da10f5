"""The sandbox host: loads, validates, caches and runs strategy components under strict limits.

Every guest failure is turned into a typed forfeit (`tournament.rules.forfeits.ForfeitReason`);
nothing a strategy does may crash the engine.
"""
