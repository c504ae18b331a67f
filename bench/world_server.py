"""The embedded world in a process of its own, as an external endpoint for bench/gate_profile.py.

    python bench/world_server.py      # prints the endpoint URL, serves until stdin closes
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from checks.core import config  # noqa: E402
from checks.world import World  # noqa: E402

if __name__ == "__main__":
    world = World(config.load()["local"]).start()
    print(world.endpoint_url, flush=True)
    sys.stdin.read()
    world.stop()
