"""A platform simulator: one HTTP server that plays every platform's OAuth and identity APIs under
`/<platform>/<real path>`, so providers rebased with `platforms.provider(name, base_url)` run
against it unchanged. State lives in memory; tests drive it through the control API (`/_sim/…`,
see `platforms.simulator.control`) or `tests.support.simulator`.

Run it: `python -m crier.platforms.simulator --port 9999` (or `crier simulator --port 9999`).
"""

from crier.platforms.simulator.app import create_app
from crier.platforms.simulator.world import World

__all__ = ["World", "create_app"]
