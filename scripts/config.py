#!/usr/bin/python3
"""Print testbed configuration values.

The defaults live in ansible/group_vars/all.yml (read by every role too);
ansible/local.yml, if present, overrides them, and so does the file named by
$DAXVM_CONFIG (tests use it). Values that are Jinja expressions (derived
facts such as vm_maxmem_mib) are rendered here as Ansible renders them, so
every layer computes them from the one definition.

  config.py KEY...                 each value; lists one item a line
  config.py --fields KEY FIELD...  a list of dicts: the FIELDs of each item,
                                   tab-separated, one item a line
"""
import hashlib
import os
import pathlib
import sys

import jinja2
from jinja2 import meta
import yaml

TOP = pathlib.Path(__file__).resolve().parent.parent


def load():
    conf = yaml.safe_load((TOP / "ansible/group_vars/all.yml").read_text())
    for extra in (TOP / "ansible/local.yml", os.environ.get("DAXVM_CONFIG")):
        if extra and pathlib.Path(extra).exists():
            conf.update(yaml.safe_load(pathlib.Path(extra).read_text()) or {})
    return conf


def rendered(conf):
    """@conf with its Jinja expressions evaluated, each after the values it
    uses (Ansible's filters the configuration needs: hash, dirname)."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters["hash"] = lambda s, algo="sha1": hashlib.new(algo, str(s).encode()).hexdigest()
    env.filters["dirname"] = os.path.dirname
    done = {k: v for k, v in conf.items() if not (isinstance(v, str) and "{{" in v)}
    done["playbook_dir"] = str(TOP / "ansible")
    todo = {k: v for k, v in conf.items() if k not in done}
    while todo:
        ready = {k: v for k, v in todo.items()
                 if meta.find_undeclared_variables(env.parse(v)) <= done.keys()}
        if not ready:
            sys.exit(f"config.py: cannot evaluate {', '.join(sorted(todo))}")
        for k, v in ready.items():
            out = env.from_string(v).render(done)
            done[k] = int(out) if out.lstrip("-").isdigit() else out
            del todo[k]
    return done


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
    conf = rendered(load())
    args = sys.argv[1:]
    if args[:1] == ["--fields"]:
        if len(args) < 3:
            sys.exit("usage: config.py --fields KEY FIELD...")
        key, fields = args[1], args[2:]
        items = conf.get(key)
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            sys.exit(f"config.py: {key} is not a list of dicts")
        for item in items:
            missing = [f for f in fields if f not in item]
            if missing:
                sys.exit(f"config.py: an item of {key} has no {', '.join(missing)}: {item}")
            print("\t".join(str(item[f]) for f in fields))
        return
    for key in args:
        if key not in conf:
            sys.exit(f"config.py: unknown key {key}")
        show(conf[key])


if __name__ == "__main__":
    main()
