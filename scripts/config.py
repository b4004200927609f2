#!/usr/bin/python3
"""Print testbed configuration values.

The defaults live in ansible/group_vars/all.yml (read by every role too);
ansible/local.yml, if present, overrides them, and so does the file named by
$DAXVM_CONFIG (tests use it). Usage: config.py KEY [KEY...]
Lists are printed one item per line as KEY=VALUE pairs of their dicts.
"""
import os
import pathlib
import sys

import yaml

TOP = pathlib.Path(__file__).resolve().parent.parent


def load():
    conf = yaml.safe_load((TOP / "ansible/group_vars/all.yml").read_text())
    for extra in (TOP / "ansible/local.yml", os.environ.get("DAXVM_CONFIG")):
        if extra and pathlib.Path(extra).exists():
            conf.update(yaml.safe_load(pathlib.Path(extra).read_text()) or {})
    return conf


def show(value):
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                print(" ".join(f"{k}={v}" for k, v in item.items()))
            else:
                print(item)
    elif isinstance(value, bool):
        print("1" if value else "0")
    else:
        print(value)


def main():
    conf = load()
    for key in sys.argv[1:]:
        if key not in conf:
            sys.exit(f"config.py: unknown key {key}")
        show(conf[key])


if __name__ == "__main__":
    main()
