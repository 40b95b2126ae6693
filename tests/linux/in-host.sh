#!/bin/sh
# in-host.sh - runs inside a test host (tests/linux/run-linux-host): boots
# the Linux guest on kvm once per vCPU count, each on a fresh copy of the
# disk, and prints for each run its T: lines, whether sector 8 holds the
# guest's write, and vmm's exit status, between @@LINUX markers.
# With --alua PROG ORDER first, PROG (tests/linux/alua_lio.c) runs before
# the guests, between @@ALUA markers, after the modules ORDER lists (LIO:
# configfs, target_core_mod, target_core_file, iscsi_target_mod) are loaded
# from the host's module folder and configfs is mounted.
#   in-host.sh VMM WORK CMDLINE [--alua PROG ORDER] CPUS...
vmm=$1 work=$2 cmdline=$3
shift 3
if [ "${1:-}" = --alua ]; then
	alua=$2 order=$3
	shift 3
	echo "@@ALUA-BEGIN"
	for m in $(cat "$order"); do
		out=$(insmod "/.run-in-host/modules/$m" 2>&1) ||
			echo "FAIL alua/svm-host/insmod: $m: $out"
	done
	mount -t configfs none /sys/kernel/config 2>/dev/null
	ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up   # the portals are on loopback
	"$alua" "$work/alua.img"
	echo "@@ALUA-END $?"
	rm -f "$work/alua.img"
fi
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
