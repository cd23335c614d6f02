"""A platform simulator: one HTTP server that plays every platform's OAuth and identity APIs under
`/<platform>/<real path>`, so providers rebased with `platforms.provider(name, base_url)` run
against it unchanged. State lives in memory; tests drive it through the control API (`/_sim/…`,
see `platforms.simulator.control`) or `platforms.simulator.testing`.

Run it: `python -m platforms.simulator --port 9999` (or `crier simulator --port 9999`).
"""

from platforms.simulator.app import create_app
from platforms.simulator.world import World

__all__ = ["World", "create_app"]
