from __future__ import annotations

from dataclasses import dataclass

from kit.settings import CommonSettings


@dataclass(frozen=True)
class ConnectSettings(CommonSettings):
    pass
