#!/bin/sh
# SPDX-License-Identifier: MIT
# run-suite.sh - runs the Check test program for `make check`, keeping its
# output in a log, and afterwards prints the closing line of the whole check.
#   scripts/run-suite.sh LOG CMD [ARG...]   runs CMD, output to the terminal
#                                           and LOG; exits with CMD's status
#   scripts/run-suite.sh --summary LOG GATE...
#                                           reads Check's summary line from
#                                           LOG and prints it again with the
#                                           names of the gates that passed
#                                           (make check stops at the first
#                                           failing one), then "check: P
#                                           passed, 0 failed" with P = Check
#                                           tests + the number of gates
set -eu

if [ "${1:-}" = --summary ]; then
    log=$2
    shift 2
    gates=$#
    names=""
    for g in "$@"; do names="${names:+$names, }$g"; done
    line=$(grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "run-suite: no Check summary line in $log" >&2
        exit 1
    fi
    checks=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
    failures=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
    errors=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
    bad=$((failures + errors))
    echo "Check suites: $line; gates passed: $gates ($names)"
    echo "check: $((checks - bad + gates)) passed, $bad failed"
    [ "$bad" -eq 0 ]
    exit
fi

log=${1:?usage: $0 LOG CMD [ARG...]}
shift
mkdir -p "$(dirname "$log")"
rcfile=$log.rc
rm -f "$rcfile"
{ rc=0; "$@" 2>&1 || rc=$?; echo "$rc" >"$rcfile"; } | tee "$log"
rc=$(cat "$rcfile")
rm -f "$rcfile"
exit "$rc"
