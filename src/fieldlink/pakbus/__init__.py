"""PakBus: Campbell Scientific datalogger protocol (PakCtrl and BMP5)."""
