"""Every datalogger transaction, written once as a sans-I/O conversation.

Each function here returns an :data:`~fieldlink.pakbus.session.Operation` (or a
:data:`~fieldlink.pakbus.session.Stream` for data collection): a generator that
says "send this, then expect that", checks the answer and decides what to ask
next.  The blocking :class:`~fieldlink.pakbus.client.Datalogger` and the asyncio
:class:`~fieldlink.pakbus.client.AsyncDatalogger` run the very same generators
through :mod:`fieldlink.kit.drive` (DESIGN principle 2), and the tests drive
them by hand with canned responses.

One module per subject (``pakbus.md`` sections in brackets):

- :mod:`.link` -- hello, bye, ping [§4.2, §4.4, §4.8];
- :mod:`.clock` -- read, set (round trip compensated, never blindly retried) and
  sync the clock [§6.2];
- :mod:`.devconfig` -- settings: MoreSettings continuation, LargeValue fragments,
  commit [§4.10];
- :mod:`.files` -- download in swaths and upload in fragments under one TranNbr,
  File Control, the directory [§7];
- :mod:`.tables` -- ``.TDF``, data collection with MoreRecsExist continuation and
  mode-8 reassembly of records larger than a packet, records streamed as they
  arrive; Table Control [§8];
- :mod:`.values` -- Get and Set Values [§9.1];
- :mod:`.programs` -- programming statistics and sending a program [§6.3, §7.4].

The names are imported on first use (PEP 562): a command that reads the clock does
not load the file, settings and program conversations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fieldlink.kit.lazy import lazy_exports

if TYPE_CHECKING:
    from fieldlink.pakbus.operations.clock import (
        ClockSyncResult,
        nsec_datetime,
        read_clock,
        set_clock,
        sync_clock,
    )
    from fieldlink.pakbus.operations.common import MAX_PAYLOAD, ProgressCallback, check_response
    from fieldlink.pakbus.operations.devconfig import (
        MAX_SETTING_SIZE,
        DeviceSettings,
        Setting,
        encode_setting,
        get_settings,
        set_setting,
    )
    from fieldlink.pakbus.operations.files import (
        DEFAULT_MAX_FILE_SIZE,
        FILE_SWATH,
        MAX_DEFINITION_FILE_SIZE,
        device_path,
        file_command,
        file_control,
        get_file,
        list_files,
        put_file,
    )
    from fieldlink.pakbus.operations.link import bye, echo_payload, hello, ping
    from fieldlink.pakbus.operations.programs import (
        ProgramStats,
        model_from_os,
        program_stats,
        send_program,
    )
    from fieldlink.pakbus.operations.tables import (
        TableCatalog,
        TableDefinitionChanged,
        TableReset,
        collect,
        reset_table,
        resolve_fields,
        table_defs,
    )
    from fieldlink.pakbus.operations.values import FieldValue, find_field, get_value, set_value

__all__ = [
    "DEFAULT_MAX_FILE_SIZE",
    "FILE_SWATH",
    "MAX_DEFINITION_FILE_SIZE",
    "MAX_PAYLOAD",
    "MAX_SETTING_SIZE",
    "ClockSyncResult",
    "DeviceSettings",
    "FieldValue",
    "ProgramStats",
    "ProgressCallback",
    "Setting",
    "TableCatalog",
    "TableDefinitionChanged",
    "TableReset",
    "bye",
    "check_response",
    "collect",
    "device_path",
    "echo_payload",
    "encode_setting",
    "file_command",
    "file_control",
    "find_field",
    "get_file",
    "get_settings",
    "get_value",
    "hello",
    "list_files",
    "model_from_os",
    "nsec_datetime",
    "ping",
    "program_stats",
    "put_file",
    "read_clock",
    "reset_table",
    "resolve_fields",
    "send_program",
    "set_clock",
    "set_setting",
    "set_value",
    "sync_clock",
    "table_defs",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "ClockSyncResult": "clock",
        "nsec_datetime": "clock",
        "read_clock": "clock",
        "set_clock": "clock",
        "sync_clock": "clock",
        "MAX_PAYLOAD": "common",
        "ProgressCallback": "common",
        "check_response": "common",
        "MAX_SETTING_SIZE": "devconfig",
        "DeviceSettings": "devconfig",
        "Setting": "devconfig",
        "encode_setting": "devconfig",
        "get_settings": "devconfig",
        "set_setting": "devconfig",
        "DEFAULT_MAX_FILE_SIZE": "files",
        "FILE_SWATH": "files",
        "MAX_DEFINITION_FILE_SIZE": "files",
        "device_path": "files",
        "file_command": "files",
        "file_control": "files",
        "get_file": "files",
        "list_files": "files",
        "put_file": "files",
        "bye": "link",
        "echo_payload": "link",
        "hello": "link",
        "ping": "link",
        "ProgramStats": "programs",
        "model_from_os": "programs",
        "program_stats": "programs",
        "send_program": "programs",
        "TableCatalog": "tables",
        "TableDefinitionChanged": "tables",
        "TableReset": "tables",
        "collect": "tables",
        "reset_table": "tables",
        "resolve_fields": "tables",
        "table_defs": "tables",
        "FieldValue": "values",
        "find_field": "values",
        "get_value": "values",
        "set_value": "values",
    },
)
