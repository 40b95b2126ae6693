#!/bin/sh
# init-up-switch.sh - /init of tests/linux/run-up-switch: two guests ("a",
# "b", vmmrole= on the command line) of one `vmm up`, each with four
# virtio-net devices on ports of one configured switch. ethN of a is
# 10.0.X.1, of b 10.0.X.2, X = 10, 20, 40, 60 for eth0..eth3. Each guest
# pings its peer on every device ("T: ethN A -> B ok|failed"), b listens on
# TCP 5000 on eth0 and a sends it a line; both wait for each other before
# powering off. Every line compared starts with "T: ".
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
role=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^vmmrole=//p')
me=1 peer=2
[ "$role" = b ] && me=2 peer=1
for m in $(cat /modules.order); do
	insmod /modules/$m 2>/dev/null
done
k=0
while [ ! -e /sys/class/net/eth3 ] && [ $k -lt 100 ]; do sleep 0.1; k=$((k + 1)); done
ip link set lo up
i=0
for x in 10 20 40 60; do
	ip addr add 10.0.$x.$me/24 dev eth$i
	ip link set eth$i up
	i=$((i + 1))
done
echo "T: $role up"
[ "$role" = b ] && nc -l -p 5000 >/tmp/tcp 2>/dev/null &
nc -l -p 7000 </dev/null >/tmp/peer-done &
# The peer answers on eth0 once all its devices are configured.
k=0
until ping -c 1 -W 1 10.0.10.$peer >/dev/null 2>&1 || [ $k -ge 90 ]; do k=$((k + 1)); done
# Both guests boot alike, so their pings would get the same PID and ICMP
# id; lib/net's firewall tracks an echo by addresses and id alone, so a's
# request would pass as a "reply" of b's. Shift b's PIDs.
[ "$role" = b ] && for k in 1 2 3 4 5; do sleep 0; done
i=0
for x in 10 20 40 60; do
	ok=failed
	ping -c 2 -W 2 10.0.$x.$peer >/dev/null 2>&1 && ok=ok
	echo "T: eth$i 10.0.$x.$me -> 10.0.$x.$peer $ok"
	i=$((i + 1))
done
if [ "$role" = a ]; then
	echo "tcp from a" | nc 10.0.10.2 5000 &
	sleep 3
	kill $! 2>/dev/null
fi
# Stay up until the peer has finished too.
k=0
until echo finished | nc -w 3 10.0.10.$peer 7000 2>/dev/null || [ $k -ge 100 ]; do sleep 0.3; k=$((k + 1)); done
k=0
while ! grep -q finished /tmp/peer-done && [ $k -lt 300 ]; do sleep 0.1; k=$((k + 1)); done
[ "$role" = b ] && echo "T: tcp got: $(cat /tmp/tcp)"
echo "T: powering off"
poweroff -f
