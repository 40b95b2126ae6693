#!/bin/sh
# init-bench-storage.sh - /init of make bench-storage's guest (libvmm and
# QEMU boot the same one): the virtio and SCSI modules, then guest_io on
# vda (virtio-blk, raw), and on LUN 0 (virtio-scsi, raw) and LUN 1
# (virtio-scsi, qcow2) of the SCSI controller; the seconds per workload
# come from the command line (bench_secs=N).
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.order /modules-scsi.order); do insmod /modules/$m; done
secs=$(sed 's/.*bench_secs=\([0-9.]*\).*/\1/' /proc/cmdline)
lun() {
	n=0
	while ! ls /sys/bus/scsi/devices/*:*:*:$1/block 2>/dev/null | grep -q '^sd' &&
		[ $n -lt 300 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	ls /sys/bus/scsi/devices/*:*:*:$1/block 2>/dev/null | grep '^sd'
}
n=0
while [ ! -b /dev/vda ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
/bin/guest_io /dev/vda virtio-blk-raw "$secs"
d=$(lun 0)
sleep 0.5
/bin/guest_io /dev/$d virtio-scsi-raw "$secs"
d=$(lun 1)
sleep 0.5
/bin/guest_io /dev/$d virtio-scsi-qcow2 "$secs"
echo "T: done"
poweroff -f
