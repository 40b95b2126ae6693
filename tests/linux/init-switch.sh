#!/bin/sh
# init-switch.sh - /init of the switch guests (tests/linux/run-switch):
# brings eth0 up with vmm_ip from the command line and pings every other
# guest 10.0.0.1..vmm_n (retrying for 30 s while they boot); prints
# "T: ping A -> B ok|failed" lines (and "5/5" when five more all came
# back); guest 1 listens on TCP port 5000 and the others that reach it
# send it a line ("T: tcp ... got:" on guest 1); then each waits so that
# the others can ping it too, and powers off.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.order); do
	insmod /modules/$m 2>/dev/null
done
for w in $(cat /proc/cmdline); do
	case $w in vmm_ip=*) ip=${w#vmm_ip=} ;; vmm_n=*) n=${w#vmm_n=} ;; esac
done
k=0
while [ ! -e /sys/class/net/eth0 ] && [ $k -lt 100 ]; do sleep 0.1; k=$((k + 1)); done
ip link set lo up
ip link set eth0 up
ip addr add "$ip/24" dev eth0
echo "T: $ip up"
[ "$ip" = 10.0.0.1 ] && nc -l -p 5000 >/tmp/tcp 2>/dev/null &
i=1
while [ $i -le "$n" ]; do
	peer=10.0.0.$i
	if [ "$peer" != "$ip" ]; then
		try=0 ok=failed
		while [ $try -lt 15 ]; do
			ping -c 1 -W 2 "$peer" >/dev/null 2>&1 && ok=ok && break
			try=$((try + 1))
		done
		echo "T: ping $ip -> $peer $ok"
		if [ $ok = ok ] && ping -c 5 -i 0.2 "$peer" | grep -q ' 0% packet loss'; then
			echo "T: ping $ip -> $peer 5/5"
		fi
		if [ $ok = ok ] && [ "$peer" = 10.0.0.1 ]; then   # TCP to guest 1's listener
			echo "tcp from $ip" | nc "$peer" 5000 &
			sleep 3
			kill $! 2>/dev/null
		fi
	fi
	i=$((i + 1))
done
sleep 40                       # the others may still be pinging this one
[ "$ip" = 10.0.0.1 ] && echo "T: tcp 10.0.0.1 got: $(cat /tmp/tcp)"
echo "T: $ip powering off"
poweroff -f
