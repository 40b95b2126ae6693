#!/bin/sh
# init.sh - /init of the Linux guest tests (tests/linux/run-linux): every
# line the test compares starts with "T: ". The host put a known sector at
# the start of /dev/vda and checks what this writes at sector 8.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "T: init running"
for m in $(cat /modules.order); do
	insmod /modules/$m || echo "T: insmod $m failed"
done
echo "T: modules loaded"
n=0
while [ ! -b /dev/vda ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
[ -b /dev/vda ] && echo "T: virtio-blk disk vda: $(cat /sys/block/vda/size) sectors"
echo "T: read: $(dd if=/dev/vda bs=512 count=1 2>/dev/null | head -c 32)"
echo "written by the guest at $(cat /proc/uptime | cut -d' ' -f1)" > /tmp/msg
dd if=/tmp/msg of=/dev/vda bs=512 seek=8 conv=sync,fsync 2>/dev/null && echo "T: wrote sector 8"
echo "T: rng: $(cat /sys/class/misc/hw_random/rng_current)"
echo "T: rng bytes: $(dd if=/dev/hwrng bs=64 count=1 2>/dev/null | wc -c)"
echo "T: cpus: $(grep -c ^processor /proc/cpuinfo)"
echo "T: acpi errors: $(dmesg | grep -ci 'acpi error')"
echo "T: powering off"
poweroff -f
