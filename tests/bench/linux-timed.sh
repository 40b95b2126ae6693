# linux-timed.sh - sourced by the Linux benchmarks (run-bench-linux and the
# part of it that runs inside a test host): boots one guest with the bench
# init (tests/linux/init-bench.sh) and reports its times. Needs bash 5
# (EPOCHREALTIME). No process substitution: test hosts have no /dev/fd.
shopt -s lastpipe

# bench_boot LABEL CMD...: runs CMD (a VMM booting the bench guest, its
# serial console on stdout) and prints
#   LABEL init=SECONDS total=SECONDS read=MIB/S write=MIB/S
# init: from the start of CMD to the guest's first init line; total: to
# CMD's end (power-off); read/write: the guest's dd, timed in the guest.
bench_boot() {
	local label=$1 t0 tinit=0 tend line rd=0 rcs=0 wcs=0
	shift
	t0=$EPOCHREALTIME
	"$@" 2>&1 </dev/null | while IFS= read -r line; do
		line=${line%$'\r'}
		case $line in
		*"T: init running"*) tinit=$EPOCHREALTIME ;;
		"B: read "*) set -- $line; rd=$3 rcs=$6 ;;
		"B: wrote "*) set -- $line; wcs=$6 ;;
		esac
	done
	tend=$EPOCHREALTIME
	awk -v l="$label" -v t0="$t0" -v ti="$tinit" -v te="$tend" -v rd="$rd" \
	    -v rcs="$rcs" -v wcs="$wcs" 'BEGIN {
		i = (ti > 0) ? sprintf("%.2f", ti - t0) : "none"
		r = (rcs > 0) ? sprintf("%.0f", rd * 100 / rcs) : "none"
		w = (wcs > 0) ? sprintf("%.0f", 16 * 100 / wcs) : "none"
		printf "%s init=%s total=%.2f read=%s write=%s\n", l, i, te - t0, r, w }'
}

# bench_better NEW BEST: succeeds when line NEW has a shorter init than BEST
# (or BEST is empty or has none).
bench_better() {
	[ -z "$2" ] || awk -v a="$1" -v b="$2" 'BEGIN {
		split(a, x, "[= ]"); split(b, y, "[= ]"); exit !(x[3] != "none" && (y[3] == "none" || x[3] + 0 < y[3] + 0)) }'
}

# bench_best REPS LABEL CMD...: the run with the shortest init of REPS.
bench_best() {
	local reps=$1 label=$2 best='' out i
	shift 2
	for ((i = 0; i < reps; i++)); do
		out=$(bench_boot "$label" "$@")
		bench_better "$out" "$best" && best=$out
	done
	echo "$best"
}
