#!/bin/sh
# init-bench-storage.sh - /init of make bench-storage's guest (libvmm and
# QEMU boot the same one): the virtio and SCSI modules, then Debian's fio
# (in the initramfs with its libraries) with O_DIRECT and libaio on every
# disk: the virtio-blk disks (vdX) named by their serial, the virtio-scsi
# LUNs (sdX) by the bench_scsi=NAME,NAME,... list of the kernel command
# line in LUN order. Per disk, time-based jobs of bench_secs=S seconds:
# random 4 KiB reads and writes at queue depth 8, then (unless the name
# contains "slow": a delayed target only for round robin) sequential 1 MiB
# reads and writes at depth 4; a failover disk (fo-*: the host kills one
# of its paths while the guest reads) gets random reads for bench_fosecs
# (6) seconds. Each prints (fio's terse output; err: fio's error, 0 none)
#   "F: DISK JOB kib=KIB/S iops=IOPS err=ERRNO"
export PATH=/bin LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "T: init running"
for m in $(cat /modules.order /modules-scsi.order); do insmod /modules/$m 2>/dev/null; done
arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^$1=//p"; }
secs=$(arg bench_secs)
secs=${secs:-3}
fosecs=$(arg bench_fosecs)
fosecs=${fosecs:-6}
scsi=$(arg bench_scsi | tr ',' ' ')
nscsi=$(echo $scsi | wc -w)
nblk=$(arg bench_nblk)
# wait until the kernel has every disk (10 s at most)
n=0
while [ $n -lt 100 ]; do
	have_blk=$(ls /sys/block | grep -c '^vd')
	have_scsi=$(ls /sys/block | grep -c '^sd')
	[ "$have_blk" -ge "${nblk:-0}" ] && [ "$have_scsi" -ge "$nscsi" ] && break
	sleep 0.1
	n=$((n + 1))
done
# job DEV NAME JOB RW BS DEPTH [SECS]: fields 7/8 of terse v3 are the read
# bandwidth (KiB/s) and IOPS, 48/49 the write ones.
job() {
	fio --name="$3" --filename="/dev/$1" --direct=1 --ioengine=libaio --thread \
	    --rw="$4" --bs="$5" --iodepth="$6" --runtime="${7:-$secs}" --time_based \
	    --output-format=terse --terse-version=3 2>/dev/null |
	awk -F';' -v d="$2" -v n="$3" '$1 == 3 {
		printf "F: %s %s kib=%d iops=%d err=%d\n", d, n, $7 + $48, $8 + $49, $5 }'
}
disk() {
	case $2 in *-fo-*) job "$1" "$2" randread randread 4k 8 "$fosecs"; return ;; esac
	job "$1" "$2" randread randread 4k 8
	job "$1" "$2" randwrite randwrite 4k 8
	case $2 in *slow*) return ;; esac
	job "$1" "$2" seqread read 1M 4
	job "$1" "$2" seqwrite write 1M 4
}
for d in $(ls /sys/block | grep '^vd'); do
	disk "$d" "blk-$(cat /sys/block/$d/serial)"
done
i=0
for name in $scsi; do
	d=$(ls /sys/bus/scsi/devices/*:*:*:$i/block 2>/dev/null | grep '^sd')
	if [ -n "$d" ]; then disk "$d" "scsi-$name"; else echo "T: no LUN $i"; fi
	i=$((i + 1))
done
echo "T: done"
poweroff -f
