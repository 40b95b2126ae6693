#!/bin/sh
# init-fio.sh - /init of the virtio-blk fio benchmark guest (tests/bench/
# run-bench-linux): fio (Debian's, with its libraries, in the initramfs)
# on /dev/vda with O_DIRECT and libaio, four time-based jobs of fiotime=S
# seconds (kernel command line, default 5): sequential read and write of
# 1 MiB blocks at queue depth 4, random 4 KiB reads and writes at depth 8.
# Each prints "F: NAME kib=KIB/S iops=IOPS" (fio's terse output).
export PATH=/bin LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "T: init running"
for m in $(cat /modules.order); do insmod /modules/$m 2>/dev/null; done
n=0
while [ ! -b /dev/vda ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
t=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^fiotime=//p')
t=${t:-5}
# job NAME RW BS DEPTH: one fio job; field 7/8 of terse v3 are the read
# bandwidth (KiB/s) and IOPS, 48/49 the write ones.
job() {
	fio --name="$1" --filename=/dev/vda --direct=1 --ioengine=libaio --thread \
	    --rw="$2" --bs="$3" --iodepth="$4" --runtime="$t" --time_based \
	    --output-format=terse --terse-version=3 2>/dev/null |
	awk -F';' -v n="$1" '$1 == 3 { r = $7 + $48; i = $8 + $49
		printf "F: %s kib=%d iops=%d\n", n, r, i }'
}
job seqread read 1M 4
job seqwrite write 1M 4
job randread randread 4k 8
job randwrite randwrite 4k 8
echo "F: done"
poweroff -f
