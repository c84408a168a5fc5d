"""Every decoder end to end under hypothesis, through the fuzz targets (issue 13).

The targets are what ``python -m fieldlink.fuzz`` runs for millions of inputs; here
each gets random bytes and mutations of its seeds, and may raise only FieldlinkError.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldlink.errors import FieldlinkError
from fieldlink.fuzz import TARGETS, Target
from fieldlink.fuzz.__main__ import fuzz_random, main

NAMES = sorted(TARGETS)


def _run(target: Target, data: bytes) -> None:
    with contextlib.suppress(FieldlinkError):
        target.run(data)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=150)
@given(data=st.binary(max_size=600))
def test_random_bytes_raise_only_fieldlink_errors(name: str, data: bytes) -> None:
    _run(TARGETS[name], data)


@st.composite
def _mutated(draw: st.DrawFn, seeds: tuple[bytes, ...]) -> bytes:
    base = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        if not base:
            break
        i = draw(st.integers(0, len(base) - 1))
        base[i] = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, draw(st.integers(0, 255))]))
    cut = draw(st.integers(0, len(base)))
    return bytes(base[:cut] if draw(st.booleans()) else base)


@pytest.mark.parametrize("name", [n for n in NAMES if TARGETS[n].seeds])
@settings(max_examples=150)
@given(data=st.data())
def test_mutated_seeds_raise_only_fieldlink_errors(name: str, data: st.DataObject) -> None:
    target = TARGETS[name]
    _run(target, data.draw(_mutated(target.seeds)))


@pytest.mark.parametrize("name", [n for n in NAMES if TARGETS[n].seeds])
def test_seeds_decode(name: str) -> None:
    """The seeds are valid inputs, so mutations start from the decoders' deep paths."""
    for seed in TARGETS[name].seeds:
        if name == "toa5-tail":
            continue  # its seed has a quoted line break, a StoreError in numeric mode
        TARGETS[name].run(seed)


def test_the_tdf_target_compiles_and_decodes_records() -> None:
    """The .TDF target reaches records: a seed decodes into a whole record."""
    from fieldlink.fuzz import pakbus

    seen: list[object] = []
    real = pakbus._use_records

    def spy(payload: object) -> None:
        seen.extend(getattr(payload, "records", []))
        real(payload)

    pakbus._use_records = spy  # type: ignore[assignment]
    try:
        TARGETS["pakbus-tdf"].run(TARGETS["pakbus-tdf"].seeds[0])
    finally:
        pakbus._use_records = real  # type: ignore[assignment]
    assert len(seen) == 1


def test_the_runner_finds_a_bug_and_saves_its_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def buggy(data: bytes) -> None:
        if len(data) > 3 and data[0] == 0xFF:
            raise IndexError("a decoder bug")

    monkeypatch.chdir(tmp_path)
    target = Target("buggy", buggy, "", (b"\xff\x00\x00\x00\x00",))
    assert fuzz_random(target, 5.0, max_len=64, seed=1, input_timeout=10) == 1
    (saved,) = tmp_path.glob("fuzz-crash-buggy-*.bin")
    assert saved.read_bytes()[0] == 0xFF


def test_the_runner_runs_a_target_from_the_command_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import logging

    args = ["pakbus-dir", "--seconds", "0.3", "--engine", "random"]
    assert main(args, limit_memory=False) == 0
    assert logging.root.manager.disable == logging.NOTSET  # logging is left as it was
    out = capsys.readouterr().out
    assert "pakbus-dir:" in out and "only FieldlinkError" in out
    assert main(["--list", "--engine", "random"], limit_memory=False) == 0
    assert set(NAMES) <= set(capsys.readouterr().out.split())


def test_every_target_is_documented() -> None:
    assert {"pakbus-records", "pakbus-tdf", "pakbus-session", "toa5-tail", "csv-tail"} <= set(NAMES)
    for target in TARGETS.values():
        assert target.doc.strip(), target.name
    assert sys.modules["fieldlink.fuzz"].__doc__
