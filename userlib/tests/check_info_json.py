"""Checks daxvm-info's JSON (stdin) for PATH against what the system says."""
import json
import os
import sys

path = sys.argv[1]
d = json.load(sys.stdin)
has_daxvm = os.path.exists("/proc/fs/daxvm/version")
assert d["kernel"]["daxvm"] is has_daxvm, d["kernel"]
assert d["kernel"]["library_uapi_version"] == 2
assert d["path"] == path
f = d["file"]
assert isinstance(f["dax"], bool) and isinstance(f["map_sync"], bool), f
assert not (f["dax"] and not f["dax_known"]), f
knobs = d["knobs"]
for name in ("daxvm_msync", "zombie_max_pages"):
    v = knobs[name]
    assert isinstance(v, int) if has_daxvm else v == {"error": "kernel lacks DaxVM"}, (name, v)
if d["device"] is None:
    assert "device_error" in d and "daxvm_page_tables_on" not in knobs, d
else:
    assert "daxvm_page_tables_on" in knobs, knobs
if path == "/dev/shm":  # tmpfs: never DAX, no block device
    assert d["device"] is None and not f["dax"] and not f["map_sync"], d
print("json ok")
