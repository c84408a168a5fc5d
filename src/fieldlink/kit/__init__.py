"""What every instrument family needs and none owns: the family kit.

A family (``pakbus``, ``tdr100``, ``tracer``, ``batlab``) is its codec, its device
model, its conversations and its commands.  Everything else is here, written once:

- :mod:`.converse` -- the steps a conversation yields, and what a family's session
  must provide for the drivers to run it;
- :mod:`.drive` -- the blocking and the asyncio driver that run any conversation;
- :mod:`.rtt` -- when to resend: RFC 6298 round-trip estimation and exchange counters;
- :mod:`.reply` -- a ready-made session for command/reply instruments;
- :mod:`.fields` -- binary messages declared once, encoded and decoded from the declaration;
- :mod:`.device` -- what an emulator's device model offers the host;
- :mod:`.faults`, :mod:`.host`, :mod:`.spawn` -- serving a device model over TCP or a
  pseudo-terminal with faults and pacing, in-process or as a child process;
- :mod:`.emulate` and :mod:`.commands` -- the click scaffolding every family mounts.
- :mod:`.textfile` -- reading a user's settings or scene file, one error for each way it fails.
"""
