"""The usable accounts this process read lately, so that a create naming only accounts it knows
skips its read: it is checked against them as kept here and written in one statement that checks
them again (`post_rows.CREATE_KNOWING`), where it took a read and a write.

Nothing kept here is trusted: the write compares every column of every account it names with the
row as the database holds it at that moment, and writes nothing unless they are all the same and
still usable (then the create is made again the long way, and the rows it reads are kept). So a
disconnected account, a changed character limit or a row changed by another replica costs one
statement more, never a post checked against what is no longer so. Rows are kept whole, as the read
gave them, which is what the write compares.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from types import SimpleNamespace
from typing import Any

from crier.contracts.common import Mode

# Accounts kept per process: every account a busy replica posts to at once; the least recently
# used go first. A row is well under a kilobyte.
CAPACITY = 10_000


class KnownAccounts:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._rows: OrderedDict[tuple[str, str, str], SimpleNamespace] = OrderedDict()

    def of(self, org_id: str, mode: Mode, ids: Iterable[str]) -> dict[str, SimpleNamespace] | None:
        """The organization's accounts `ids` as last read, by id; None unless every one is known."""
        found = {}
        for account_id in ids:
            row = self._rows.get((org_id, mode, account_id))
            if row is None:
                return None
            self._rows.move_to_end((org_id, mode, account_id))
            found[account_id] = row
        return found

    def keep(self, org_id: str, mode: Mode, usable: Mapping[str, Any]) -> None:
        """Accounts as a read found them usable, by id (rows with the table's every column)."""
        for account_id, row in usable.items():
            self._rows[(org_id, mode, account_id)] = row
            self._rows.move_to_end((org_id, mode, account_id))
        while len(self._rows) > self._capacity:
            self._rows.popitem(last=False)

    def forget(self, org_id: str, mode: Mode, ids: Iterable[str]) -> None:
        for account_id in ids:
            self._rows.pop((org_id, mode, account_id), None)

    def __len__(self) -> int:
        return len(self._rows)
