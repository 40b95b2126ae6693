#!/bin/bash
# in-host-linux.sh - the svm test host's part of run-bench-linux: libvmm's
# kvm backend and QEMU -accel kvm boot the bench guest on the host's KVM.
#   in-host-linux.sh VMM WORK REPS QEMU
vmm=$1 work=$2 reps=$3 qemu=$4
cd "$(dirname "$0")/../.." || exit 2
. tests/bench/linux-timed.sh
cmdline="console=ttyS0 panic=-1 quiet noxsave"   # noxsave: see tests/linux/run-linux-host
bench_best "$reps" "libvmm-kvm" "$vmm" run --backend kvm --cpus 1 --mem 256M \
	--kernel "$work/vmlinuz" --initrd "$work/initrd.gz" --disk "$work/disk.img" --rng \
	--cmdline "$cmdline" --timeout 900
bench_best "$reps" qemu-kvm "$qemu" -accel kvm -M q35 -cpu host -m 256 -smp 1 \
	-nographic -nodefaults -serial stdio -no-reboot -kernel "$work/vmlinuz" \
	-initrd "$work/initrd.gz" -append "$cmdline" \
	-drive file="$work/disk.img",if=none,id=d0,format=raw -device virtio-blk-pci,drive=d0 \
	-device virtio-rng-pci
