#!/usr/bin/python3
"""The one writer (and reader) of test result records.

A results file holds one JSON object a line: {"name": ..., "status":
"pass" | "fail" | "skip", more fields}. Every script that writes one (host
tests, the in-guest runner, the crash and vanilla tests) goes through
this file, so a record is valid JSON whatever its text holds: quotes,
backslashes, newlines, control characters and bytes that are not UTF-8
(a kernel log) -- those become U+FFFD. Lines are pure ASCII.

  result.py add FILE NAME STATUS [KEY=TEXT | KEY:=INTEGER | KEY@=PATH]...
      append one record; KEY@=PATH takes the text from a file (any bytes)
  result.py copy [--prefix P] SRC DST
      append SRC's records to DST, names prefixed with P; a line of SRC
      that is not a record becomes a failed record

Readers use load(): a malformed line never raises, it is a failed record
named after the test when its name can be made out.
"""
import json
import os
import pathlib
import re
import sys

STATUSES = ("pass", "fail", "skip")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def clean(value):
    """@value with every string made valid Unicode (bad bytes: U+FFFD)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        # Command-line arguments carry undecodable bytes as lone
        # surrogates (surrogateescape): turn them back into bytes first.
        try:
            raw = value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raw = value.encode("utf-8", "replace")
        return raw.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return clean(str(value))


def dumps(name, status, **fields):
    """One record as a line of JSON (ASCII, no newline inside)."""
    name = clean(name)
    if not name:
        raise ValueError("a result record needs a name")
    if status not in STATUSES:
        raise ValueError(f"status of {name!r} is {status!r}, not one of {STATUSES}")
    rec = {"name": name, "status": status}
    for key, value in fields.items():
        if key in rec:
            raise ValueError(f"field {key!r} given twice")
        rec[key] = clean(value)
    return json.dumps(rec, ensure_ascii=True) + "\n"


def append(path, name, status, **fields):
    """Appends one record to @path (one write, so lines never interleave)."""
    line = dumps(name, status, **fields).encode("ascii")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


_NAME = re.compile(rb'"name"\s*:\s*"((?:[^"\\\n]|\\.)*)"')


def _name_in(line):
    """The test name a broken line still shows, if any."""
    m = _NAME.search(line)
    if not m:
        return None
    try:
        return clean(json.loads(b'"' + m.group(1) + b'"')) or None
    except ValueError:
        return clean(m.group(1)) or None


def parse(line):
    """The record of one line, or raises ValueError saying what is wrong."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"not UTF-8 ({e.reason} at byte {e.start})") from None
    try:
        rec = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(rec, dict):
        raise ValueError(f"a JSON {type(rec).__name__}, not an object")
    if not isinstance(rec.get("name"), str) or not rec["name"]:
        raise ValueError("no name")
    if rec.get("status") not in STATUSES:
        raise ValueError(f"status {rec.get('status')!r}")
    return rec


def load(path):
    """The records of @path. A line that is not one becomes a failed
    record with the reason in "malformed" (never an exception)."""
    path = pathlib.Path(path)
    records = []
    for n, line in enumerate(path.read_bytes().split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            records.append(parse(line))
        except ValueError as e:
            name = _name_in(line) or f"{path.name} line {n}"
            records.append({"name": name, "status": "fail",
                            "malformed": f"{path.name} line {n}: {e}"})
    return records


def _field(arg):
    """KEY=TEXT, KEY:=INTEGER or KEY@=PATH -> (key, value)."""
    key, sep, value = arg.partition("=")
    if not sep:
        raise ValueError(f"{arg!r}: not KEY=VALUE")
    kind = key[-1:] if key[-1:] in (":", "@") else ""
    key = key[:-1] if kind else key
    if not _KEY.match(key):
        raise ValueError(f"{arg!r}: bad key")
    if kind == ":":
        return key, int(value)
    if kind == "@":
        return key, pathlib.Path(value).read_bytes()
    return key, value


def main(argv):
    usage = ("usage: result.py add FILE NAME STATUS [KEY=TEXT|KEY:=INT|KEY@=PATH]...\n"
             "       result.py copy [--prefix P] SRC DST")
    try:
        if len(argv) >= 4 and argv[0] == "add":
            fields = dict(_field(a) for a in argv[4:])
            append(argv[1], argv[2], argv[3], **fields)
        elif argv[:1] == ["copy"]:
            args, prefix = argv[1:], ""
            if args[:1] == ["--prefix"] and len(args) >= 2:
                prefix, args = args[1], args[2:]
            if len(args) != 2:
                sys.exit(usage)
            for rec in load(args[0]):
                rec["name"] = prefix + rec["name"]
                append(args[1], **rec)
        else:
            sys.exit(usage)
    except (OSError, ValueError) as e:
        sys.exit(f"result.py: {e}")


if __name__ == "__main__":
    main(sys.argv[1:])
