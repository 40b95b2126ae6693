#!/bin/bash
# check.sh BUILD [HARNESS [LABEL]] - make check's test of the harness
# example (HARNESS: another harness with the same options, e.g. the Rust
# one; LABEL names it in the result line): a directory of
# seven passing conformance guests, one that spins past its timeout (loop),
# one that triple-faults (triple) and one whose output differs from its
# .expected file (wrong); the TAP result lines and the exit status must be
# exactly these.
set -u
b=${1:-build}
harness=${2:-$b/examples/harness/harness}
label=${3:-examples/harness}
d=$b/examples/harness/tests-$(basename "$label")
rm -rf "$d" && mkdir -p "$d"
for g in arith flags memory string control exceptions softint loop triple; do
	ln -s "$PWD/build/guests/$g.elf" "$d/$g.elf"
	[ -e "tests/guests/$g.expected" ] && ln -s "$PWD/tests/guests/$g.expected" "$d/$g.expected"
done
ln -s "$PWD/build/guests/arith.elf" "$d/wrong.elf"
printf 'not what arith prints\n' > "$d/wrong.expected"
out=$("$harness" -j 4 -t 5000 "$d")   # 5 s: flags under ASan on a loaded machine took over 2
rc=$?
want='1..10
ok 1 - arith
ok 2 - control
ok 3 - exceptions
ok 4 - flags
not ok 5 - loop
ok 6 - memory
ok 7 - softint
ok 8 - string
not ok 9 - triple
not ok 10 - wrong'
got=$(printf '%s\n' "$out" | grep -E '^(1\.\.|ok |not ok )')
if [ "$got" = "$want" ] && [ $rc = 1 ] &&
   printf '%s\n' "$out" | grep -q "^# timed out after 5000 ms" &&
   printf '%s\n' "$out" | grep -q '^#   | loop: spinning' &&
   printf '%s\n' "$out" | grep -q '^# serial output differs'; then
	echo "PASS $label: 10 guests in parallel VMs, TAP as expected (3 failures reported with their output)"
else
	echo "FAIL $label: exit $rc, TAP:"
	printf '%s\n' "$out" | sed 's/^/    /'
	exit 1
fi
