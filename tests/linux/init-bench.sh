#!/bin/sh
# init-bench.sh - /init of the Linux benchmark guest (tests/bench/run-bench-linux):
# marks when init starts (the host times the boot to that line), loads the
# virtio modules, then reads /dev/vda sequentially and writes 16 MiB to it
# with O_DIRECT-free dd + fsync, timed with /proc/uptime (10 ms ticks).
export PATH=/bin
echo "T: init running"
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.order); do insmod /modules/$m 2>/dev/null; done
n=0
while [ ! -b /dev/vda ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
up() { cut -d' ' -f1 /proc/uptime | tr -d .; }   # centiseconds
mib=$(( $(cat /sys/block/vda/size) / 2048 ))
t0=$(up)
dd if=/dev/vda of=/dev/null bs=1M count=$mib 2>/dev/null
t1=$(up)
dd if=/dev/zero of=/dev/vda bs=1M count=16 conv=fsync 2>/dev/null
t2=$(up)
echo "B: read $mib MiB in $((t1 - t0)) cs"
echo "B: wrote 16 MiB in $((t2 - t1)) cs"
poweroff -f
