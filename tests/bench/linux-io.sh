# linux-io.sh - sourced by tests/bench/run-bench-linux: the virtio-blk fio
# and virtio-net iperf3 parts, each run REPS times per VMM with every run
# printed, then per figure the median with the spread (min-max) of ours
# and QEMU's and the ratio of the medians. The guests are Debian's cloud
# kernel with the busybox initramfs of tests/linux/lib.sh plus Debian's
# fio or iperf3 (tests/linux/init-fio.sh, init-iperf.sh).

# io_fio LABEL CMD...: one boot of the fio guest; prints
#   LABEL seqread=MIB/S seqwrite=MIB/S randread=IOPS randwrite=IOPS
io_fio() {
	local label=$1
	shift
	"$@" 2>&1 </dev/null | tr -d '\r' | awk -v l="$label" '
		/F: seq/ { split($3, k, "="); v[$2] = sprintf("%.1f", k[2] / 1024) }
		/F: rand/ { split($4, k, "="); v[$2] = k[2] }
		END { printf "%s seqread=%s seqwrite=%s randread=%s randwrite=%s\n", l,
		      v["seqread"] ? v["seqread"] : "none", v["seqwrite"] ? v["seqwrite"] : "none",
		      v["randread"] ? v["randread"] : "none", v["randwrite"] ? v["randwrite"] : "none" }'
}

# io_summary OURS_LABEL THEIRS_LABEL UNIT... < lines: per key of the
# "LABEL key=value ..." lines, the median (min-max) of each label and the
# ratio ours/theirs of the medians (higher is better: throughput).
io_summary() {
	awk -v a="$1" -v b="$2" '
	function med(s,   n, x, i, j, t) {
		n = split(s, x, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
			if (x[j] + 0 < x[i] + 0) { t = x[i]; x[i] = x[j]; x[j] = t }
		lo = x[1]; hi = x[n]
		return n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2
	}
	{ for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[2] == "none") continue
	      if (!(kv[1] in seen)) { seen[kv[1]] = 1; keys[++nk] = kv[1] }
	      vals[$1, kv[1]] = vals[$1, kv[1]] " " kv[2] } }
	END { for (k = 1; k <= nk; k++) { key = keys[k]
		if (!((a, key) in vals) || !((b, key) in vals)) { printf "  %s: missing\n", key; continue }
		ma = med(vals[a, key]); la = lo; ha = hi
		mb = med(vals[b, key]); lb = lo; hb = hi
		printf "  %-10s %s %.1f (%s-%s)  %s %.1f (%s-%s)  ratio %.2fx\n", key,
		       a, ma, la, ha, b, mb, lb, hb, (mb > 0 ? ma / mb : 0) } }'
}

# io_net_ours LABEL VMM KDIR WORK BACKEND SECS: two guests of one `vmm up`
# on the in-process pair; prints "LABEL tcp=MBIT/S".
io_net_ours() {
	local label=$1 vmm=$2 kdir=$3 work=$4 backend=$5 secs=$6 r
	cat >"$work/up.json" <<JSON
{ "vms": [
    { "name": "a", "backend": "$backend", "memory": "256M", "timeout": 600,
      "kernel": "$work/vmlinuz", "initrd": "initrd-net.gz",
      "cmdline": "console=ttyS0 panic=-1 quiet vmmrole=a nettime=$secs",
      "nets": [ { "pair": "bench0", "mac": "52:54:00:00:00:0a" } ] },
    { "name": "b", "backend": "$backend", "memory": "256M", "timeout": 600,
      "kernel": "$work/vmlinuz", "initrd": "initrd-net.gz",
      "cmdline": "console=ttyS0 panic=-1 quiet vmmrole=b nettime=$secs",
      "nets": [ { "pair": "bench0", "mac": "52:54:00:00:00:0b" } ] } ] }
JSON
	r=$("$vmm" up "$work/up.json" 2>&1 </dev/null | tr -d '\r' | sed -n 's/.*N: tcp mbit=//p')
	echo "$label tcp=${r:-none}"
}

# io_net_qemu LABEL WORK KDIR SECS QEMU-ARGS...: two QEMU guests, each
# with a TAP on one bridge in a network namespace of their own; prints
# "LABEL tcp=MBIT/S".
io_net_qemu() {
	local label=$1 work=$2 kdir=$3 secs=$4 ns=vmmbench$$ r i
	shift 4
	ip netns add "$ns" || { echo "$label tcp=none"; return; }
	ip -n "$ns" link add br0 type bridge
	ip -n "$ns" link set br0 up
	for i in 0 1; do
		ip -n "$ns" tuntap add "tap$i" mode tap
		ip -n "$ns" link set "tap$i" master br0
		ip -n "$ns" link set "tap$i" up
	done
	for i in a b; do
		ip netns exec "$ns" "$@" -kernel "$kdir/vmlinuz" -initrd "$work/initrd-net.gz" \
			-append "console=ttyS0 panic=-1 quiet vmmrole=$i nettime=$secs" \
			-netdev tap,id=n0,ifname=tap$([ $i = a ] && echo 0 || echo 1),script=no,downscript=no \
			-device virtio-net-pci,netdev=n0,mac=52:54:00:00:00:0$i \
			</dev/null >"$work/qemu-$i.out" 2>&1 &
	done
	wait
	ip netns del "$ns"
	r=$(tr -d '\r' <"$work/qemu-b.out" | sed -n 's/.*N: tcp mbit=//p')
	echo "$label tcp=${r:-none}"
}
