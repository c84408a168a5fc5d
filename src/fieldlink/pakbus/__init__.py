"""PakBus: Campbell Scientific datalogger protocol (PakCtrl and BMP5).

``protocol`` is the codec; ``session``, ``drive`` and ``operations`` are the
client's conversations (written once, run by a blocking and an asyncio driver);
``client`` is the user's API; ``emulator`` is the virtual logger; ``cli`` the
``fieldlink logger`` commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fieldlink.pakbus.client import AsyncDatalogger, Datalogger

__all__ = ["AsyncDatalogger", "Datalogger"]


def __getattr__(name: str) -> Any:
    # Lazy, so that importing the codec (``fieldlink.pakbus.protocol``) does not load the client.
    if name in __all__:
        from fieldlink.pakbus import client

        return getattr(client, name)
    raise AttributeError(name)
