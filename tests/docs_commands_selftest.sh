#!/usr/bin/env bash
# tests/docs_commands.sh on a fixture (tests/data/docs_commands) with one command of each kind: it must
# run the short ones, skip the listed ones, and fail naming a failing command with its output, a command
# past the time limit, a 'fails:' entry that runs now and a listed command no longer in the docs.
#   tests/docs_commands_selftest.sh SRC BUILD
set -u
src=$1 build=$2
fixture=$src/tests/data/docs_commands
out=$(DOCS_COMMAND_TIMEOUT=2 "$src/tests/docs_commands.sh" "$fixture" "$build" "$fixture/long.txt" 2>&1)
rc=$?
echo "$out"
bad=0
[[ $rc -eq 1 ]] || { echo "SELFTEST: exit $rc, expected 1"; bad=1; }
while IFS= read -r expected; do
    grep -qF -- "$expected" <<<"$out" || { echo "SELFTEST: expected '$expected'"; bad=1; }
done <<'LINES'
ok   README.md:4: build/bin/nnbench --version
ok   README.md:5: build/bin/nnbench --help
FAIL README.md:7: exit 2: build/bin/nnbench --no-such-flag
  | nnbench
ok   README.md:14: build/bin/nnbench-compare --help
FAIL docs/a.md:2: took more than 2 s: sleep 30
ok   docs/a.md:3: test -f docs/a.md && test ! -e results
FAIL docs/a.md:4: runs now: delete its 'fails:' entry from long.txt: true
known docs/a.md:5: exit 1, listed as failing until: fails as listed
FAIL long.txt: 'cmd: build/bin/nnbench --gone' is no longer in the docs: delete it
docs: 9 commands in 2 files: 8 run (1 of them listed as failing for now), 1 listed as long (not run), 4 problem(s)
LINES
[[ $bad -eq 0 ]] && echo "SELFTEST: the check failed as expected, naming each problem"
exit $bad
