"""After start-up, a service's objects are out of the collector's sight and young collections are
rarer: checked in a process of its own, which the test runner's collector is not."""

from __future__ import annotations

import json
import subprocess
import sys

from crier.kit.collector import YOUNG_THRESHOLD

_CHILD = """
import gc, json
import crier.kit.service  # what every service has imported by the time it starts
from crier.kit.collector import settle_after_start

before = gc.get_threshold()
frozen = settle_after_start()
# What a collection still walks: what was made since.
made_since = [[i] for i in range(1000)]
gc.collect()
print(json.dumps({"frozen": frozen, "count": gc.get_freeze_count(), "before": before, "after": gc.get_threshold(),
                  "tracked": len(gc.get_objects())}))
"""


def test_start_up_objects_are_frozen_and_young_collections_are_rarer() -> None:
    done = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, timeout=60, check=True)
    seen = json.loads(done.stdout)
    # The imports alone are tens of thousands of objects; all of them are set aside.
    assert seen["frozen"] == seen["count"] > 10_000
    # What the collector still tracks is what was made after: the thousand lists and little else.
    assert seen["tracked"] < 5_000
    assert seen["before"][0] == 700
    assert seen["after"] == [YOUNG_THRESHOLD, *seen["before"][1:]]
