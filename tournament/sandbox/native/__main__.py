"""`python -m tournament.sandbox.native`: build the native match loop now (`make setup` runs it), so no
match ever waits for the compiler. Without a compiler it says so and exits 0: the engine then plays its
rounds in Python."""

from __future__ import annotations

import subprocess
import sys

from tournament.sandbox import native


def main() -> int:
    try:
        loaded = native.load()
    except (OSError, subprocess.SubprocessError) as error:
        stderr = getattr(error, "stderr", b"") or b""
        print(f"native match loop not built ({error}); matches play their rounds in Python", file=sys.stderr)
        if stderr:
            print(stderr.decode(errors="replace"), file=sys.stderr)
        return 0
    print(f"native match loop: {loaded.path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
