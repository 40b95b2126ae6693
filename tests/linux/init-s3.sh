#!/bin/sh
# init-s3.sh - /init of tests/linux/run-linux-s3: suspends to RAM (ACPI S3)
# with the RTC alarm set 2 s ahead as the wake source, then checks what
# resumed: memory, the CPUs, the virtio-blk disk. Lines compared start "T: ".
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.order); do
	insmod /modules/$m || echo "T: insmod $m failed"
done
n=0
while [ ! -b /dev/vda ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
echo "T: sleep states: $(cat /sys/power/state)"
echo "T: cpus online: $(cat /sys/devices/system/cpu/online)"
echo "kept across S3" > /tmp/mark
t0=$(cat /sys/class/rtc/rtc0/since_epoch)
echo +2 > /sys/class/rtc/rtc0/wakealarm
echo mem > /sys/power/state && echo "T: resumed"
t1=$(cat /sys/class/rtc/rtc0/since_epoch)
echo "T: RTC advanced at least 1 s: $([ $((t1 - t0)) -ge 1 ] && echo yes || echo "no ($t0 -> $t1)")"
echo "T: memory: $(cat /tmp/mark)"
echo "T: cpus online: $(cat /sys/devices/system/cpu/online)"
echo "T: S3 in dmesg: $(dmesg | grep -c 'Waking up from system sleep state S3')"
echo "T: read after resume: $(dd if=/dev/vda bs=512 count=1 iflag=direct 2>/dev/null | head -c 32)"
echo "T: wakealarm cleared: $([ -z "$(cat /sys/class/rtc/rtc0/wakealarm)" ] && echo yes || echo no)"
echo "T: acpi errors: $(dmesg | grep -ci 'acpi error')"
echo "T: powering off"
poweroff -f
