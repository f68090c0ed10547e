#!/bin/sh
# SPDX-License-Identifier: MIT
# abi-check.sh - the ABI gate of libae (make abi-check).
# Usage: scripts/abi-check.sh LIBDIR
#   LIBDIR holds libae.so (built with -g) and libae.a.
# Checks, all of them run and every problem reported before it fails:
#   1. the AE_API functions of include/ equal the symbols src/ae.map lists
#      (explicit names, no wildcard);
#   2. the dynamic symbols libae.so defines equal the ae.map list, all ae_*
#      (never ae__*), all versioned by an AE_ node;
#   3. libae.a defines only ae__* internals and the public functions;
#   4. against every frozen baseline of this major version,
#      abi/libae-MAJOR.*.abi (one per release, written by make abi-baseline
#      and never rewritten): abidiff, allowing only added functions and
#      fields appended to the versioned structs (abi/ae.abignore), and
#      scripts/abi-layout.py, which requires every field of a versioned
#      struct to keep its name, offset and type (what the suppression
#      would otherwise hide); any other difference fails;
#   5. the SONAME is libae.so.MAJOR and the newest node of src/ae.map is
#      AE_MAJOR.MINOR, the version of include/ae/common.h (new functions go
#      into the node of the release that adds them).
# scripts/abi-selftest.sh proves the policy of step 4 case by case.
# Settings (environment): MAP INC ABI_BASELINES ABI_SUPPR READELF NM ABIDIFF
#                         ABIDW PYTHON
set -eu

libdir=${1:?usage: $0 LIBDIR}
map=${MAP:-src/ae.map}
inc=${INC:-include}
suppr=${ABI_SUPPR:-abi/ae.abignore}
readelf=${READELF:-readelf}
nm=${NM:-nm}
abidiff=${ABIDIFF:-abidiff}
abidw=${ABIDW:-abidw}
python=${PYTHON:-python3}
major=$(sed -n 's/^#define AE_VERSION_MAJOR \([0-9]*\).*/\1/p' "$inc/ae/common.h")
minor=$(sed -n 's/^#define AE_VERSION_MINOR \([0-9]*\).*/\1/p' "$inc/ae/common.h")
baselines=${ABI_BASELINES:-$(ls abi/libae-"$major".*.abi 2>/dev/null || true)}
so=$libdir/libae.so
ar=$libdir/libae.a
here=$(dirname "$0")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "abi-check: FAIL: $*" >&2; fails=$((fails + 1)); }

for f in "$so" "$ar"; do
    [ -e "$f" ] || { echo "abi-check: $f not found (build it first: make lib)" >&2; exit 1; }
done

# ---- 1. headers <-> ae.map ---------------------------------------------------
"$here/api-symbols.sh" "$inc" >"$tmp/api_where"
awk '{print $1}' "$tmp/api_where" | LC_ALL=C sort -u >"$tmp/api"
"$here/map-symbols.sh" "$map" >"$tmp/map_raw"
LC_ALL=C sort -u "$tmp/map_raw" >"$tmp/map"

grep -E '[*?[]' "$tmp/map" | while read -r pat; do
    echo "abi-check: FAIL: $map lists the pattern '$pat': list every symbol by name" >&2
done
if grep -qE '[*?[]' "$tmp/map"; then fails=$((fails + 1)); fi
LC_ALL=C sort "$tmp/map_raw" | uniq -d | while read -r name; do
    echo "abi-check: FAIL: $map lists $name more than once" >&2
done
if [ -n "$(LC_ALL=C sort "$tmp/map_raw" | uniq -d)" ]; then fails=$((fails + 1)); fi

LC_ALL=C comm -23 "$tmp/api" "$tmp/map" >"$tmp/missing_in_map"
while read -r name; do
    where=$(awk -v n="$name" '$1 == n {print $2; exit}' "$tmp/api_where")
    fail "$name is declared AE_API in $inc/$where but src/ae.map does not list it:" \
         "add the line '    $name;' to the global: list of the newest node of $map" \
         "(or run 'make abi-map', which adds every missing name)"
done <"$tmp/missing_in_map"
LC_ALL=C comm -13 "$tmp/api" "$tmp/map" | grep -vE '[*?[]' >"$tmp/stale_in_map" || true
while read -r name; do
    fail "$map lists $name but no header in $inc/ declares it AE_API:" \
         "declare it in its public header, or remove it from $map" \
         "('make abi-map PRUNE=1' deletes such names from the newest, unreleased node)"
done <"$tmp/stale_in_map"

# ---- 2. dynamic symbols of libae.so <-> ae.map --------------------------------
# readelf columns: Num Value Size Type Bind Vis Ndx Name; skip UND (imports)
# and ABS (the version node names themselves).
"$readelf" --dyn-syms -W "$so" |
    awk '$1 ~ /^[0-9]+:$/ && $7 != "UND" && $7 != "ABS" && $8 != "" {print $8}' >"$tmp/dyn_versioned"
sed 's/@.*//' "$tmp/dyn_versioned" | LC_ALL=C sort -u >"$tmp/dyn"

grep -v '@@AE_' "$tmp/dyn_versioned" | while read -r sym; do
    echo "abi-check: FAIL: libae.so exports $sym without an AE_ version node (link with -Wl,--version-script=$map)" >&2
done
if grep -qv '@@AE_' "$tmp/dyn_versioned"; then fails=$((fails + 1)); fi
grep -v '^ae_' "$tmp/dyn" | while read -r sym; do
    echo "abi-check: FAIL: libae.so exports $sym, which is not an ae_ name" >&2
done
if grep -qv '^ae_' "$tmp/dyn"; then fails=$((fails + 1)); fi
grep '^ae__' "$tmp/dyn" | while read -r sym; do
    echo "abi-check: FAIL: libae.so exports the internal $sym" >&2
done
if grep -q '^ae__' "$tmp/dyn"; then fails=$((fails + 1)); fi

LC_ALL=C comm -23 "$tmp/dyn" "$tmp/map" | grep '^ae_' | grep -v '^ae__' >"$tmp/dyn_not_in_map" || true
while read -r name; do
    fail "libae.so exports $name, which $map does not list:" \
         "add the line '    $name;' to the global: list of the newest node of $map"
done <"$tmp/dyn_not_in_map"
LC_ALL=C comm -13 "$tmp/dyn" "$tmp/map" | grep -vE '[*?[]' >"$tmp/map_not_in_dyn" || true
while read -r name; do
    fail "$map lists $name but libae.so does not export it: it is not defined yet," \
         "is static, or its definition does not see its AE_API declaration" \
         "(include the public header in the .c file)"
done <"$tmp/map_not_in_dyn"

# ---- 3. libae.a: only ae__ internals and the public functions ------------------
"$nm" -g --defined-only "$ar" | awk 'NF == 3 {print $3}' | LC_ALL=C sort -u >"$tmp/static"
grep -v '^ae_' "$tmp/static" | while read -r sym; do
    echo "abi-check: FAIL: libae.a defines the global $sym: make it static, or name it ae__$sym if other files need it" >&2
done
if grep -qv '^ae_' "$tmp/static"; then fails=$((fails + 1)); fi
grep '^ae_' "$tmp/static" | grep -v '^ae__' | LC_ALL=C comm -23 - "$tmp/api" >"$tmp/static_extra" || true
while read -r name; do
    fail "libae.a defines the global $name, which is no AE_API function:" \
         "make it static, or rename it ae__${name#ae_} (internal names use the ae__ prefix)"
done <"$tmp/static_extra"

# ---- 4. every frozen baseline of this major: abidiff + field layouts ------------
versioned=$(sed -n 's/^ *name_regexp *= *//p' "$suppr")
if [ -z "$baselines" ]; then
    fail "no ABI baseline abi/libae-$major.*.abi for major version $major:" \
         "create it with 'make abi-baseline' at the release and commit it"
elif ! "$readelf" -S -W "$so" | grep -q '\.debug_info'; then
    fail "$so has no debug info: abidiff needs a -g build (OPT must contain -g)"
else
    "$abidw" --headers-dir "$inc" --drop-private-types --no-corpus-path --no-comp-dir-path \
        --out-file "$tmp/new.abi" "$so"
    for baseline in $baselines; do
        set +e
        "$abidiff" --no-added-syms --drop-private-types --headers-dir2 "$inc" \
            --suppressions "$suppr" "$baseline" "$so" >"$tmp/abidiff.out" 2>&1
        rc=$?
        "$python" "$here/abi-layout.py" "$baseline" "$tmp/new.abi" "$versioned" \
            >"$tmp/layout.out" 2>&1
        lrc=$?
        set -e
        if [ "$rc" -ne 0 ]; then
            cat "$tmp/abidiff.out" >&2
            what="ABI change"
            [ $((rc & 8)) -ne 0 ] && what="incompatible ABI change"
            [ $((rc & 3)) -ne 0 ] && what="abidiff error"
            fail "abidiff $baseline $so exited $rc ($what; report above)." \
                 "Only added functions and fields appended at the end of the versioned" \
                 "structs are allowed within a major version (docs/stability.md)." \
                 "A released baseline is never rewritten: an incompatible change waits" \
                 "for the next major version"
        fi
        if [ "$lrc" -ne 0 ]; then
            cat "$tmp/layout.out" >&2
            fail "a versioned struct changed other than by appending fields" \
                 "(scripts/abi-layout.py $baseline; report above)"
        fi
    done
fi

# ---- 5. SONAME and the newest version node follow include/ae/common.h -----------
soname=$("$readelf" -d -W "$so" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
[ "$soname" = "libae.so.$major" ] ||
    fail "$so has the SONAME '$soname'; AE_VERSION_MAJOR $major needs libae.so.$major"
newest=$(grep -oE '^AE_[0-9]+\.[0-9]+' "$map" | tail -n 1)
[ "$newest" = "AE_$major.$minor" ] ||
    fail "the newest node of $map is $newest, but the version is $major.$minor:" \
         "functions added in $major.$minor go into a new node 'AE_$major.$minor { ... } $newest;'" \
         "('make abi-map' creates it)"

n=$(wc -l <"$tmp/dyn")
if [ "$fails" -ne 0 ]; then
    echo "abi-check: $fails problem(s); libae.so exports $n symbols, $map lists $(wc -l <"$tmp/map")" >&2
    exit 1
fi
echo "abi-check: OK: $n symbols, all in $map and declared AE_API in $inc/; libae.a clean;" \
     "SONAME $soname, newest node $newest; compatible with the baselines:" $baselines
