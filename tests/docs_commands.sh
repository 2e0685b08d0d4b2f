#!/usr/bin/env bash
# Every command in README.md and docs/*.md runs as written: the short ones are run, each must exit 0; the
# others are listed, each with a reason, in tests/docs_long_commands.txt and are not run.
#
#   tests/docs_commands.sh SRC BUILD [LONG_LIST]     run the check (ctest docs_should_run_as_written)
#   tests/docs_commands.sh --list SRC                print every command found, one a line, as the list
#                                                    spells it (copy the long ones from here)
#
# The list holds "cmd: COMMAND" lines, each followed by "why: REASON" (not run: long, needs a GPU,
# Slurm, an install, ...) or "fails: REASON" (known to fail until another change lands: it is run, and
# once it exits 0 the check fails until the entry is deleted, so the list stays true).
#
# A command is a line of a ```sh (or bash, shell) block, or a line anywhere that starts with `build/bin/`
# or `$ build/bin/`; a trailing backslash joins the next line. Commands run in document order, each in
# its own `bash -c`, from a fresh temporary copy of the tracked files of SRC (so tests/..., tools/sweep/
# shapes/... resolve and outputs land in the copy), with build -> BUILD linked in it and BUILD/bin first on
# PATH (so `nnbench` alone works too). A command that runs longer than $DOCS_COMMAND_TIMEOUT seconds
# (default 120) fails: make it shorter or list it. A listed command no longer in the docs fails too, so
# the list stays true. Exit 0 all ran, 1 a command failed or the list is wrong, 2 bad usage.
set -u

usage() {
    echo "usage: $0 SRC BUILD [LONG_LIST] | $0 --list SRC" >&2
    exit 2
}

# extract SRC: "FILE<TAB>LINE<TAB>COMMAND" for every command of SRC/README.md and SRC/docs/*.md.
extract() {
    local src=$1 f
    for f in "$src"/README.md "$src"/docs/*.md; do
        [[ -f $f ]] || continue
        awk -v file="${f#"$src"/}" '
            function flush() { if (cmd != "") print file "\t" start "\t" cmd; cmd = "" }
            function take(text) {
                sub(/^[ \t]+/, "", text); sub(/[ \t]+$/, "", text)
                if (cmd == "") { sub(/^\$ /, "", text); start = NR }
                cont = text ~ /\\$/
                if (cont) sub(/[ \t]*\\$/, "", text)
                cmd = cmd == "" ? text : cmd " " text
                if (!cont) flush()
            }
            /^[ \t]*```/ {
                flush()
                if (fence) { fence = 0; shell = 0; next }
                fence = 1; lang = $0; sub(/^[ \t]*```[ \t]*/, "", lang)
                shell = lang ~ /^(sh|bash|shell)$/
                next
            }
            cmd != "" { take($0); next }
            shell && $0 !~ /^[ \t]*(#|$)/ { take($0); next }
            $0 ~ /^[ \t]*(\$ )?build\/bin\// { take($0) }
            END { flush() }
        ' "$f"
    done
}

# key COMMAND: how the list spells a command: its trailing comment dropped, blanks squeezed.
key() {
    local c=$1
    c=$(sed -E 's/[[:space:]]+#[[:space:]].*$//; s/[[:space:]]+/ /g; s/ $//' <<<"$c")
    printf '%s' "$c"
}

if [[ ${1:-} == --list ]]; then
    [[ $# -eq 2 ]] || usage
    extract "$2" | while IFS=$'\t' read -r file line cmd; do
        printf '%s:%s\t%s\n' "$file" "$line" "$(key "$cmd")"
    done
    exit 0
fi
[[ $# -ge 2 && $# -le 3 ]] || usage
SRC=$(cd "$1" && pwd) || usage
BUILD=$(cd "$2" && pwd) || usage
LIST=${3:-$SRC/tests/docs_long_commands.txt}
TIMEOUT=${DOCS_COMMAND_TIMEOUT:-120}
[[ -d $BUILD/bin ]] || { echo "docs: $BUILD/bin: no such folder (build first)" >&2; exit 2; }

problems=0
problem() {
    echo "FAIL $*"
    problems=$((problems + 1))
}

# The list: "cmd: COMMAND" then "why: REASON" or "fails: REASON" on the next line; '#' and blank lines.
declare -A why=() fails=() used=()
if [[ -f $LIST ]]; then
    pending=""
    n=0
    while IFS= read -r l || [[ -n $l ]]; do
        n=$((n + 1))
        case $l in
        cmd:*)
            [[ -z $pending ]] || problem "$LIST:$((n - 1)): 'cmd:' without a 'why:' or 'fails:' line after it"
            pending=$(key "${l#cmd:}")
            pending=${pending# } ;;
        why:* | fails:*)
            reason=${l#*:}
            if [[ -z $pending ]]; then
                problem "$LIST:$n: '${l%%:*}:' without a 'cmd:' line before it"
            elif [[ -z ${reason// /} ]]; then
                problem "$LIST:$n: empty reason for '$pending'"
            elif [[ $l == why:* ]]; then
                why[$pending]=$reason
            else
                fails[$pending]=$reason
            fi
            pending="" ;;
        '' | '#'*) ;;
        *) problem "$LIST:$n: expected 'cmd: COMMAND', 'why: REASON', 'fails: REASON', a '#' comment or a blank line" ;;
        esac
    done <"$LIST"
    [[ -z $pending ]] || problem "$LIST: 'cmd: $pending' has no 'why:' or 'fails:' line"
fi

# A fresh copy of the tracked (and new, not ignored) files, build linked in.
work=$(mktemp -d "${TMPDIR:-/tmp}/nnbench-docs.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
if git -C "$SRC" rev-parse --show-toplevel >/dev/null 2>&1; then
    git -C "$SRC" ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do [[ -e $SRC/$f ]] && printf '%s\0' "$f"; done |
        tar -C "$SRC" --null -T - -cf - | tar -C "$work" -xf -
else
    tar -C "$SRC" --exclude='./build*' -cf - . | tar -C "$work" -xf -
fi
rm -rf "$work/build"
ln -s "$BUILD" "$work/build"

found=0 ran=0 listed=0 known=0
files=""
while IFS=$'\t' read -r file line cmd; do
    found=$((found + 1))
    files+=" $file"
    k=$(key "$cmd")
    if [[ -n ${why[$k]+set} ]]; then
        used[$k]=1
        listed=$((listed + 1))
        continue
    fi
    ran=$((ran + 1))
    out=$(cd "$work" && PATH="$BUILD/bin:$PATH" timeout -k 5 "$TIMEOUT" bash -c "$cmd" </dev/null 2>&1)
    rc=$?
    if [[ -n ${fails[$k]+set} ]]; then
        used[$k]=1
        if [[ $rc -eq 0 ]]; then
            problem "$file:$line: runs now: delete its 'fails:' entry from ${LIST#"$SRC"/}: $k"
        else
            known=$((known + 1))
            echo "known $file:$line: exit $rc, listed as failing until:${fails[$k]}"
        fi
    elif [[ $rc -eq 124 || $rc -eq 137 ]]; then
        problem "$file:$line: took more than ${TIMEOUT} s: $cmd"
        echo "  make it shorter, or list it in ${LIST#"$SRC"/} with a reason (cmd: $k)"
    elif [[ $rc -ne 0 ]]; then
        problem "$file:$line: exit $rc: $cmd"
        tail -n 20 <<<"$out" | sed 's/^/  | /'
    else
        echo "ok   $file:$line: $k"
    fi
done < <(extract "$SRC")

for k in "${!why[@]}" "${!fails[@]}"; do
    [[ -n ${used[$k]+set} ]] || problem "${LIST#"$SRC"/}: 'cmd: $k' is no longer in the docs: delete it"
done
nfiles=$(tr ' ' '\n' <<<"$files" | sort -u | grep -c .)
echo "docs: $found commands in $nfiles files: $ran run ($known of them listed as failing for now)," \
    "$listed listed as long (not run), $problems problem(s)"
if [[ $found -eq 0 || $ran -eq 0 ]]; then
    echo "docs: no command was run: is $SRC the source folder?"
    exit 1
fi
[[ $problems -eq 0 ]]
