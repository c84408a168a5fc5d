"""How fast the frame decoder eats a 64 KiB read, against plain unquoting in the same run.

The peer is ``bytes.replace``-based unquoting of the same bytes (the floor any decoder
must pay); the ratio shows the decoder's own overhead.  Run:
``python benchmarks/bench_framing.py``.
"""

from __future__ import annotations

import timeit

from fieldlink.pakbus.protocol.framing import FrameDecoder, encode_frame, unquote

FRAME = encode_frame(
    bytes.fromhex("A0019FFE10010FFE1B2A00005075626C696300095365747074000001BDCCCCCD")
)


def main() -> None:
    count = 65536 // len(FRAME)
    stream = FRAME * count

    def decode() -> None:
        assert len(FrameDecoder().feed(stream)) == count

    def floor() -> None:
        for part in stream.split(b"\xbd"):
            if part:
                unquote(part)

    rounds = 20
    ours = min(timeit.repeat(decode, number=1, repeat=rounds))
    peer = min(timeit.repeat(floor, number=1, repeat=rounds))
    print(
        f"{count} frames in a 64 KiB read: decoder {count / ours:,.0f} frames/s, "
        f"split+unquote {count / peer:,.0f} frames/s, overhead x{ours / peer:.2f}"
    )


if __name__ == "__main__":
    main()
