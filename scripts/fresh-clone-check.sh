#!/usr/bin/env bash
# Proves the repository stands alone: clones the committed HEAD into an empty temporary folder
# that has no sibling folders, then runs what a new user runs there: `npm ci && npm test`.
# Arguments after `--` go to `npm test` (e.g. vitest reporters; an --outputFile must be an
# absolute path, as the tests run in the clone).
#
#   bash scripts/fresh-clone-check.sh
#   bash scripts/fresh-clone-check.sh -- --reporter=json --outputFile="$PWD/.tmp/report.json"
#
# Uncommitted changes are not part of the clone (it checks what would land), so it warns when
# the tree has any. KAIROS_KEEP_CLONE=1 keeps the clone for inspection.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
test_args=()
if [ "${1:-}" = "--" ]; then shift; test_args=("$@"); fi

if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]; then
  echo "fresh-clone-check: warning: uncommitted changes in $repo are not in the clone" >&2
fi
# The clone's parent folder is new and holds nothing else, so a path such as ../shared or
# ../anything cannot resolve from inside it.
parent="$(mktemp -d "${TMPDIR:-/tmp}/kairos-fresh-XXXXXX")"
cleanup() { if [ "${KAIROS_KEEP_CLONE:-0}" = 1 ]; then echo "fresh-clone-check: clone kept at $parent/kairos" >&2; else rm -rf "$parent"; fi; }
trap cleanup EXIT
git clone --quiet --no-hardlinks "$repo" "$parent/kairos"
cd "$parent/kairos"
echo "fresh-clone-check: $(git log -1 --format='%h %s') in $parent/kairos (siblings: $(ls -A "$parent" | tr '\n' ' '))"
npm ci --no-audit --no-fund
npm test -- "${test_args[@]}"
