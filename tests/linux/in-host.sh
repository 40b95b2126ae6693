#!/bin/sh
# in-host.sh - runs inside a test host (tests/linux/run-linux-host): boots
# the Linux guest on kvm once per vCPU count, each on a fresh copy of the
# disk, and prints for each run its T: lines, whether sector 8 holds the
# guest's write, and vmm's exit status, between @@LINUX markers.
#   in-host.sh VMM WORK CMDLINE CPUS...
vmm=$1 work=$2 cmdline=$3
shift 3
for cpus in "$@"; do
	cp "$work/disk.img" "$work/run.img"
	echo "@@LINUX-BEGIN $cpus"
	"$vmm" run --backend kvm --cpus "$cpus" --mem 256M --kernel "$work/vmlinuz" \
		--initrd "$work/initrd.gz" --disk "$work/run.img" --rng \
		--cmdline "$cmdline" --timeout 600 </dev/null >"$work/out" 2>&1
	status=$?
	grep '^T: ' "$work/out" | sed 's/\r$//'
	if dd if="$work/run.img" bs=512 skip=8 count=1 2>/dev/null | grep -q '^written by the guest at '; then
		echo "@@LINUX-SECTOR8 ok"
	fi
	[ "$status" = 0 ] || tail -n 5 "$work/out" | sed 's/^/@@LINUX-LOG /'
	echo "@@LINUX-END $cpus $status"
done
