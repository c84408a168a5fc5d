"""Lexcelon Batlab V1.0 battery testers: codec, emulator, workflows, client and shell.

See ``shared/protocols/batlab.md`` for the protocol; the modules here cite its sections.
"""
