"""The MT-5 protocol of first-generation Tracer controllers (``tracer.md`` Part A).

:mod:`.crc` is the checksum, :mod:`.framing` turns frames into bytes and a byte
stream back into frames, :mod:`.messages` gives the three commands' payloads types.
"""

from __future__ import annotations
