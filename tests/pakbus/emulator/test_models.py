"""The logger model table: what each model reports, and the captures in data/."""

from __future__ import annotations

from fieldlink.pakbus.emulator.models import MODELS, captured_rows, logger_model, status_fields
from fieldlink.pakbus.protocol.codes import DeviceType


def test_the_cr1000_is_the_captured_one() -> None:
    m = logger_model("cr1000")
    assert (m.os_version, m.os_sig, m.os_date) == ("CR1000.Std.24", 12288, "11/18/11")
    assert (m.serial_number, m.program_extension, m.rev_board) == ("E4668", ".CR1", "std.04")
    assert m.device_type == DeviceType.CR1000 == 12
    assert (m.memory_size, m.cpu_drive_size, m.card_size) == (4_194_304, 524_288, 2_000_000_000)
    assert (m.extended_prog_stats, m.dir_version, m.lithium_volts) == (False, 1, 3.21)


def test_each_generation_shares_its_sizes_and_formats() -> None:
    old = [MODELS[n] for n in ("CR1000", "CR800", "CR3000")]
    new = [MODELS[n] for n in ("CR6", "CR1000X")]
    assert {(m.memory_size, m.extended_prog_stats, m.dir_version) for m in old} == {
        (4_194_304, False, 1)
    }
    assert {(m.memory_size, m.extended_prog_stats, m.dir_version) for m in new} == {
        (134_217_728, True, 2)
    }
    assert MODELS["CR800"].card_size == 0  # no card slot
    assert MODELS["CR1000X"].os_version == "CR1000X.Std.04.02"
    assert MODELS["CR1000X"].program_extension == ".CR1X"
    assert all(m.device_type == DeviceType[name] for name, m in MODELS.items())


def test_captures_skip_comments_and_blank_lines() -> None:
    rows = captured_rows("cr1000_devconfig.txt")
    assert rows and all(row and not row[0].startswith("#") for row in rows)
    assert len(status_fields()) == len(captured_rows("cr1000_status_fields.txt"))
