#!/bin/bash
# test-cli.sh [VMM] - the vmm command: exit statuses, the one stderr line of
# each failure, and small guests built here with gcc (64-bit, Multiboot).
# Prints "PASS name", "FAIL name: why" or "NOT RUN name: why" per case and
# exits non-zero if any case failed.
set -u
VMM=$(realpath "${1:-build/vmm}")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
failed=0

pass() { echo "PASS cli/$1"; }
fail() { echo "FAIL cli/$1: $2"; failed=1; }
notrun() { echo "NOT RUN cli/$1: $2"; }

# check NAME STATUS STDERR_REGEX [STDOUT] -- ARGS...: run vmm ARGS; expect the
# exit status, exactly one stderr line matching the regex (no stderr at all
# when it is empty) and, if given, exactly that stdout.
check() {
	local name=$1 want=$2 pattern=$3 out=$4 st lines
	shift 5
	# shellcheck disable=SC2086
	timeout 60 ${RUN_AS:-} "$VMM" "$@" >"$T/stdout" 2>"$T/stderr" </dev/null
	st=$?
	lines=$(wc -l <"$T/stderr")
	if [ "$st" -ne "$want" ]; then
		fail "$name" "exit status $st, expected $want; stderr: $(head -c 300 "$T/stderr")"
	elif [ -z "$pattern" ] && [ "$lines" -ne 0 ]; then
		fail "$name" "unexpected stderr: $(head -c 300 "$T/stderr")"
	elif [ -n "$pattern" ] && { [ "$lines" -ne 1 ] || ! grep -qE "$pattern" "$T/stderr"; }; then
		fail "$name" "stderr ($lines lines) does not match /$pattern/: $(head -c 300 "$T/stderr")"
	elif [ "$out" != "-" ] && [ "$(cat "$T/stdout")" != "$out" ]; then
		fail "$name" "stdout '$(head -c 200 "$T/stdout")', expected '$out'"
	else
		pass "$name"
	fi
}

# ---- Guests ------------------------------------------------------------------
# guest NAME BITS LOAD_ADDR [LDFLAGS...] <<< ASM: builds $T/NAME.elf.
guest() {
	local name=$1 bits=$2 addr=$3
	shift 3
	cat >"$T/$name.S"
	sed "s/@ADDR@/$addr/" >"$T/$name.ld" <<-'LD'
	ENTRY(_start)
	SECTIONS {
		. = @ADDR@;
		.text : { *(.text*) }
		.data : { *(.data*) *(.bss*) }
		/DISCARD/ : { *(.note*) *(.comment) *(.eh_frame*) }
	}
	LD
	gcc -m"$bits" -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-z,noexecstack \
	    -Wl,-T,"$T/$name.ld" "$@" -o "$T/$name.elf" "$T/$name.S" 2>"$T/$name.log"
}

build_guests() {
	guest halt 64 0x100000 <<-'S' || return 1
	.globl _start
	_start: hlt
	jmp _start
	S
	guest exit42 64 0x100000 <<-'S' || return 1
	.globl _start
	_start: mov $42, %al
	out %al, $0xf4
	hlt
	S
	# writes CPUID.1:ECX.PCID (bit 17) to the debug exit: status 3 or 1
	guest pcid 64 0x100000 <<-'S' || return 1
	.globl _start
	_start: mov $1, %eax
	cpuid
	shr $17, %ecx
	and $1, %ecx
	mov %ecx, %eax
	out %al, $0xf4
	hlt
	S
	guest hello 64 0x100000 <<-'S' || return 1
	.globl _start
	_start: lea msg(%rip), %rsi
	mov $0x3f8, %dx
	1: lodsb
	test %al, %al
	jz 2f
	out %al, %dx
	jmp 1b
	2: hlt
	msg: .asciz "hello from a guest\n"
	S
	guest cmdline 64 0x100000 <<-'S' || return 1
	.globl _start
	_start: mov %rdx, %rsi
	mov $0x3f8, %dx
	1: lodsb
	test %al, %al
	jz 2f
	out %al, %dx
	jmp 1b
	2: hlt
	S
	guest crash 64 0x100000 <<-'S' || return 1
	.globl _start
	_start: ud2
	S
	guest spin 64 0x100000 <<-'S' || return 1
	.globl _start
	_start: jmp _start
	S
	guest far 64 0x8000000 <<-'S' || return 1
	.globl _start
	_start: hlt
	S
	guest badentry 64 0x100000 -Wl,-e,0x10000000 <<-'S' || return 1
	.globl _start
	_start: hlt
	S
	guest multiboot 32 0x100000 <<-'S' || return 1
	.code32
	.align 4
	.long 0x1badb002, 0x3, -(0x1badb002 + 0x3)
	.globl _start
	_start: cmp $0x2badb002, %eax
	jne 1f
	mov 64(%ebx), %esi     /* boot_loader_name */
	mov $0x3f8, %dx
	2: lodsb
	test %al, %al
	jz 3f
	out %al, %dx
	jmp 2b
	3: mov $7, %al
	out %al, $0xf4
	1: hlt
	S
	# fw_cfg: vCPU 0 prints the signature, the vCPU count and byte 3 of the
	# RAM size (16M: 0x01000000), or "no" when the signature is not "QEMU".
	guest fwcfg 64 0x100000 <<-'S' || return 1
	.globl _start
	_start: test %rdi, %rdi
	jnz 9f
	mov $0x510, %dx
	xor %eax, %eax
	out %ax, %dx
	inc %dx
	in %dx, %al
	cmp $'Q', %al
	jne 8f
	mov %al, %bl
	mov $0x3f8, %dx
	mov %bl, %al
	out %al, %dx
	mov $3, %ecx
	1: mov $0x511, %dx
	in %dx, %al
	mov $0x3f8, %dx
	out %al, %dx
	loop 1b
	mov $0x510, %dx
	mov $5, %ax
	out %ax, %dx
	inc %dx
	in %dx, %al
	add $'0', %al
	mov $0x3f8, %dx
	out %al, %dx
	mov $0x510, %dx
	mov $3, %ax
	out %ax, %dx
	inc %dx
	in %dx, %al
	in %dx, %al
	in %dx, %al
	in %dx, %al
	add $'0', %al
	mov $0x3f8, %dx
	out %al, %dx
	jmp 9f
	8: mov $0x3f8, %dx
	mov $'n', %al
	out %al, %dx
	mov $'o', %al
	out %al, %dx
	9: cli
	hlt
	S
	# pc-testdev from a Multiboot guest (paging off, so 0xff000000 is
	# reachable): exits with 0 if every check holds, else the number of the
	# first that failed.
	guest testdev 32 0x100000 <<-'S' || return 1
	.code32
	.align 4
	.long 0x1badb002, 0x3, -(0x1badb002 + 0x3)
	.globl _start
	_start: mov $1, %bl
	mov $0x12345678, %eax
	out %eax, $0xe0
	in $0xe1, %al
	cmp $0x56, %al
	jne 9f
	inc %bl
	in $0xea, %ax
	cmp $0x1234, %ax
	jne 9f
	inc %bl
	mov $0xab, %al
	out %al, $0xeb
	in $0xe0, %eax
	cmp $0xab345678, %eax
	jne 9f
	inc %bl
	movl $0xcafef00d, 0xff000010
	movb 0xff000012, %al
	cmp $0xfe, %al
	jne 9f
	inc %bl
	movw $0xbeef, 0xff00fffe
	movl 0xff00fffc, %eax
	cmp $0xbeef0000, %eax
	jne 9f
	xor %bl, %bl
	9: mov %bl, %al
	out %al, $0xf4
	hlt
	S
	# Prints the Multiboot command line (flags bit 2), or "none".
	guest mbcmd 32 0x100000 <<-'S' || return 1
	.code32
	.align 4
	.long 0x1badb002, 0x3, -(0x1badb002 + 0x3)
	.globl _start
	_start: mov $none, %esi
	testl $4, (%ebx)
	jz 1f
	mov 16(%ebx), %esi
	1: mov $0x3f8, %dx
	2: lodsb
	test %al, %al
	jz 3f
	out %al, %dx
	jmp 2b
	3: mov $0, %al
	out %al, $0xf4
	hlt
	none: .asciz "none"
	S
	guest trace 64 0x100000 <<-'S' || return 1
	.globl _start
	_start: mov $42, %eax
	add %eax, %eax
	mov %eax, %ebx
	push %rbx
	ud2
	S
	printf 'hello, I am not an ELF file\n' >"$T/notelf"
	head -c 100 "$T/halt.elf" >"$T/truncated.elf"
}

# ---- Cases that need no guest run ---------------------------------------------
usage_cases() {
	check no-command 2 '^vmm: missing command' - --
	check unknown-command 2 "^vmm: unknown command frob" - -- frob
	check unknown-top-option 2 "^vmm: unknown option --frob" - -- --frob
	check help 0 '' - -- --help
	grep -q "exit status" "$T/stdout" && pass help-lists-statuses ||
		fail help-lists-statuses "--help does not document exit statuses"
	check version 0 '' "vmm (libvmm) 1.0.0" -- --version
	check info 0 '' - -- info
	grep -qE '^emu +(yes|no) ' "$T/stdout" && grep -qE '^kvm +(yes|no) ' "$T/stdout" &&
		pass info-lists-backends || fail info-lists-backends "$(cat "$T/stdout")"
	check run-help 0 '' - -- run --help
	check missing-image 2 '^vmm: missing IMAGE' - -- run
	check two-images 2 "^vmm: unexpected argument 'b'" - -- run a b
	check unknown-option 2 "^vmm: unknown option '--frobnicate'" - -- run --frobnicate x.elf
	check option-needs-value 2 "^vmm: option '--mem' needs a value" - -- run x.elf --mem
	check mem-zero 2 "^vmm: bad size '0': guest RAM must be more than 0 bytes" - -- run --mem 0 x.elf
	check mem-garbage 2 "^vmm: bad size '64X'" - -- run --mem 64X x.elf
	check mem-unaligned 2 "^vmm: bad size '4095': must be a multiple of 4 KiB" - -- run --mem 4095 x.elf
	check mem-overflow 2 "^vmm: bad size '99999999999T': too large" - -- run --mem 99999999999T x.elf
	check mem-100T 2 "^vmm: cannot create the VM: .*(RAM|memory)" - -- run --mem 100T x.elf
	check cpus-zero 2 "^vmm: bad vCPU count '0'" - -- run --cpus 0 x.elf
	check cpus-65 2 "^vmm: bad vCPU count '65'" - -- run --cpus 65 x.elf
	check timeout-bad 2 "^vmm: bad timeout 'soon'" - -- run --timeout soon x.elf
	check timeout-negative 2 "^vmm: bad timeout '-1'" - -- run --timeout=-1 x.elf
	check unknown-backend 2 "^vmm: unknown backend 'foo'" - -- run --backend foo x.elf
	check scsi-needs-kernel 2 "^vmm: --initrd, --disk, --net, --scsi, --rng, --vsock and --control need --kernel" - \
		-- run --scsi x.img x.elf
	check scsi-nine 2 "^vmm: more than 8 --scsi options" - -- run --kernel k \
		$(for i in 1 2 3 4 5 6 7 8 9; do printf -- '--scsi d%d ' $i; done)
	truncate -s 1M "$T/grow.img"
	check resize-control-no-vm 2 "^vmm: disk resize: --control $T/none.sock: No such file" - \
		-- disk resize --control "$T/none.sock" "$T/grow.img" 2M
	check control-needs-kernel 2 "need --kernel" - -- run --control "$T/c.sock" x.elf
	check scsi-missing 2 "^vmm: --scsi $T/none.img: LUN 0: $T/none.img: No such file" - \
		-- run --backend emu --kernel "$T/none" --scsi "$T/none.img"
}

# ---- vmm run --net: each bad value is one line naming it ----------------------
net_usage_cases() {
	local k="--kernel $T/notelf"
	check net-needs-kernel 2 "^vmm: --initrd, --disk, --net, --scsi, --rng, --vsock and --control need --kernel" - -- run --net user x.elf
	check net-unknown-backend 2 "^vmm: bad --net 'slirp': expected tap=IFNAME, pair=NAME or user" - -- run $k --net slirp
	check net-tap-empty 2 "^vmm: bad --net 'tap=': the tap name must be 1 to 15 bytes" - -- run $k --net tap=
	check net-tap-long 2 "^vmm: bad --net 'tap=abcdefghijklmnop': the tap name must be 1 to 15 bytes" - -- run $k --net tap=abcdefghijklmnop
	check net-pair-long 2 "^vmm: bad --net 'pair=p+': the pair name must be 1 to 63 bytes" - -- run $k --net "pair=$(printf 'p%.0s' $(seq 64))"
	check net-empty-part 2 "^vmm: bad --net 'user,': an empty part" - -- run $k --net user,
	check net-unknown-option 2 "^vmm: bad --net 'pair=a,speed=9': unknown option 'speed' \(known: mac, mtu, offload, hostfwd\)" - -- run $k --net pair=a,speed=9
	check net-option-no-value 2 "^vmm: bad --net 'pair=a,mac': option 'mac' needs a value" - -- run $k --net pair=a,mac
	check net-mac-bad 2 "^vmm: bad --net 'pair=a,mac=52:54:00:zz:00:01': mac '52:54:00:zz:00:01' is not six hex bytes" - -- run $k --net pair=a,mac=52:54:00:zz:00:01
	check net-mac-multicast 2 "^vmm: bad --net 'tap=t0,mac=01:00:5e:00:00:01': mac '01:00:5e:00:00:01' is a multicast address" - -- run $k --net tap=t0,mac=01:00:5e:00:00:01
	check net-mtu-range 2 "^vmm: bad --net 'pair=a,mtu=67': mtu '67' is not a number from 68 to 65518" - -- run $k --net pair=a,mtu=67
	check net-user-mtu 2 "^vmm: bad --net 'user,mtu=9000': user-mode networking has MTU 1500" - -- run $k --net user,mtu=9000
	check net-offload-bad 2 "^vmm: bad --net 'pair=a,offload=yes': offload 'yes': expected on or off" - -- run $k --net pair=a,offload=yes
	check net-hostfwd-not-user 2 "^vmm: bad --net 'pair=a,hostfwd=tcp::2222-:22': hostfwd needs the user backend" - -- run $k --net pair=a,hostfwd=tcp::2222-:22
	check net-hostfwd-syntax 2 "^vmm: bad --net 'user,hostfwd=tcp:2222:22': hostfwd=tcp:2222:22: expected hostfwd=\[tcp\|udp\]:\[HOSTADDR\]:HOSTPORT-\[GUESTADDR\]:GUESTPORT" - -- run $k --net user,hostfwd=tcp:2222:22
	check net-hostfwd-proto 2 "^vmm: bad --net 'user,hostfwd=sctp::2222-:22': hostfwd protocol 'sctp': expected tcp or udp" - -- run $k --net user,hostfwd=sctp::2222-:22
	check net-hostfwd-addr 2 "^vmm: bad --net 'user,hostfwd=tcp:127.1:2222-:22': hostfwd address '127.1' is not an IPv4 address" - -- run $k --net user,hostfwd=tcp:127.1:2222-:22
	check net-hostfwd-port 2 "^vmm: bad --net 'user,hostfwd=tcp::2222-:65536': hostfwd port '65536' is not a number from 1 to 65535" - -- run $k --net user,hostfwd=tcp::2222-:65536
	check net-hostfwd-many 2 "^vmm: bad --net 'user,hostfwd=.*': more than 16 hostfwd" - -- run $k --net "user$(for i in $(seq 17); do printf ',hostfwd=tcp::%d-:22' $((40000 + i)); done)"
	check net-too-many 2 "^vmm: more than 8 --net options" - -- run $k $(for i in $(seq 9); do printf -- '--net pair=p%d ' $i; done)
	check net-pair-third 2 "^vmm: --net pair=a: vmm_virtio_net_add: pair 'a' already connects two devices" - -- run $k --net pair=a --net pair=a --net pair=a
}

# Refusals that need the device: a forwarded port in use, a TAP without
# the right to create it (as an unprivileged user when run as root).
net_device_cases() {
	local b=$1 k="--backend $1 --kernel $T/notelf" pid port
	port=$(( 20000 + RANDOM % 40000 ))
	socat TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork /dev/null &
	pid=$!
	for _ in $(seq 50); do [ -n "$(ss -Htln "sport = :$port" 2>/dev/null)" ] && break; sleep 0.1; done
	check "$b/net-hostfwd-in-use" 2 "^vmm: --net user,hostfwd=tcp:127.0.0.1:$port-:22: vmm_virtio_net_add: cannot forward host TCP port $port to the guest" - -- run $k --net "user,hostfwd=tcp:127.0.0.1:$port-:22"
	kill $pid
	wait $pid 2>/dev/null
	if [ "$(id -u)" != 0 ]; then
		check "$b/net-tap-no-rights" 2 "^vmm: --net tap=vmmcli0: vmm_virtio_net_add: .*(Permission denied|Operation not permitted)" - -- run $k --net tap=vmmcli0
	elif command -v setpriv >/dev/null && [ "$b" = emu ]; then
		chmod 755 "$T"
		RUN_AS="setpriv --reuid=65534 --regid=65534 --clear-groups"
		check "$b/net-tap-no-rights" 2 "^vmm: --net tap=vmmcli0: vmm_virtio_net_add: .*(Permission denied|Operation not permitted)" - -- run $k --net tap=vmmcli0
		RUN_AS=
		chmod 700 "$T"
	fi
}

# ---- vmm up: config files (docs/config.md) ------------------------------------
# cfg NAME JSON: writes $T/NAME.json.
cfg() { printf '%s\n' "$2" >"$T/$1.json"; }

up_usage_cases() {
	check up-missing-config 2 '^vmm: missing CONFIG' - -- up
	check up-no-file 2 "^vmm: $T/none.json: cannot open: No such file" - -- up "$T/none.json"
	cfg malformed '{"vms": [ { "elf": "x" ]}'
	check up-malformed 2 "^vmm: $T/malformed.json: line 1, column 23: bad JSON: " - -- up "$T/malformed.json"
	printf '{\n  "vms": [\n    { "elf": "x",\n' >"$T/truncated.json"
	check up-truncated 2 "truncated.json: line 3: the JSON text ends too early" - -- up "$T/truncated.json"
	cfg trailing '{"vms": [{"elf": "x"}]} {}'
	check up-trailing 2 "trailing.json: line 1, column 25: text after the JSON value" - -- up "$T/trailing.json"
	cfg top-array '[1]'
	check up-top-not-object 2 'top-array.json: expected a JSON object at the top, got an array' - -- up "$T/top-array.json"
	cfg unknown-top '{"vms": [{"elf": "x"}], "vm": 1}'
	check up-unknown-top-key 2 'unknown-top.json: unknown key "vm" \(known here: version, vms, switches, storage\)' - -- up "$T/unknown-top.json"
	cfg unknown-key '{"vms": [{"elf": "x", "cpu": 2}]}'
	check up-unknown-key 2 'unknown-key.json: vms\[0\]: unknown key "cpu" \(known here: name, ' - -- up "$T/unknown-key.json"
	cfg unknown-nested '{"vms": [{"kernel": "k", "nets": [{"pair": "p", "pear": 1}]}]}'
	check up-unknown-nested-key 2 'vms\[0\]\.nets\[0\]: unknown key "pear"' - -- up "$T/unknown-nested.json"
	cfg wrong-type '{"vms": [{"elf": "x"}, {"elf": "y", "cpus": "2"}]}'
	check up-wrong-type 2 'wrong-type.json: vms\[1\]\.cpus: expected an integer, got a string$' - -- up "$T/wrong-type.json"
	cfg wrong-bool '{"vms": [{"kernel": "k", "rng": 1}]}'
	check up-wrong-type-bool 2 'vms\[0\]\.rng: expected true or false, got an integer' - -- up "$T/wrong-bool.json"
	cfg wrong-disks '{"vms": [{"kernel": "k", "disks": {"path": "d"}}]}'
	check up-wrong-type-array 2 'vms\[0\]\.disks: expected an array' - -- up "$T/wrong-disks.json"
	cfg cpus-range '{"vms": [{"elf": "x", "cpus": 65}]}'
	check up-out-of-range 2 'vms\[0\]\.cpus: 65 is out of range \(1 to 64\)' - -- up "$T/cpus-range.json"
	cfg cid-range '{"vms": [{"kernel": "k", "vsock": {"cid": 2, "socket": "s"}}]}'
	check up-cid-range 2 'vms\[0\]\.vsock\.cid: 2 is out of range \(3 to 4294967294\)' - -- up "$T/cid-range.json"
	cfg mem-bad '{"vms": [{"elf": "x", "memory": "12Q"}]}'
	check up-memory-bad 2 "vms\[0\]\.memory: bad size '12Q'" - -- up "$T/mem-bad.json"
	cfg mac-bad '{"vms": [{"kernel": "k", "nets": [{"pair": "p", "mac": "52:54:00:zz:00:01"}]}]}'
	check up-mac-bad 2 'vms\[0\]\.nets\[0\]\.mac: "52:54:00:zz:00:01": expected six hex bytes' - -- up "$T/mac-bad.json"
	cfg two-backends '{"vms": [{"kernel": "k", "nets": [{"pair": "p", "tap": "t"}]}]}'
	check up-net-two-kinds 2 'vms\[0\]\.nets\[0\]: needs exactly one of "pair", "tap", "user" and "switch"' - -- up "$T/two-backends.json"
	cfg dup-name '{"vms": [{"name": "a", "elf": "x"}, {"name": "a", "elf": "y"}]}'
	check up-duplicate-name 2 'vms\[1\]\.name: "a" is the name of vms\[0\] too' - -- up "$T/dup-name.json"
	cfg no-image '{"vms": [{"name": "a"}]}'
	check up-no-image 2 'vms\[0\]: needs exactly one of "kernel" \(Linux\) and "elf"' - -- up "$T/no-image.json"
	cfg elf-disk '{"vms": [{"elf": "x", "disks": [{"path": "d"}]}]}'
	check up-elf-with-disk 2 'vms\[0\]: "initrd", "disks", "nets", "rng", "vsock" and "console" need "kernel"' - -- up "$T/elf-disk.json"
	cfg storage '{"vms": [{"kernel": "k", "disks": [{"storage": "s"}]}]}'
	check up-storage-reserved 2 'vms\[0\]\.disks\[0\]\.storage: not supported yet' - -- up "$T/storage.json"
	cfg version '{"version": 2, "vms": [{"elf": "x"}]}'
	check up-version 2 'version: 2 is out of range \(1 to 1\)' - -- up "$T/version.json"
}

# "switches" and the VMs' {"switch", "port"} entries: each refusal names its
# key path.
up_switch_cases() {
	local e='"vms": [{"elf": "x"}]' k='"kernel": "k"' sw='"switches": [{"name": "sw0", "ports": [{"name": "p"}]}]'
	cfg sw-not-array "{\"switches\": {\"name\": \"sw0\"}, $e}"
	check up-switches-not-array 2 'sw-not-array.json: switches: expected an array$' - -- up "$T/sw-not-array.json"
	cfg sw-no-name "{\"switches\": [{\"mtu\": 1500}], $e}"
	check up-switch-no-name 2 'switches\[0\]: missing key "name"' - -- up "$T/sw-no-name.json"
	cfg sw-unknown "{\"switches\": [{\"name\": \"sw0\", \"vlans\": 1}], $e}"
	check up-switch-unknown-key 2 'switches\[0\]: unknown key "vlans" \(known here: name, mtu, fdb_size, ageing, ports, uplink, etcd\)' - -- up "$T/sw-unknown.json"
	cfg sw-dup "{\"switches\": [{\"name\": \"sw0\"}, {\"name\": \"sw0\"}], $e}"
	check up-switch-duplicate 2 'switches\[1\]\.name: "sw0" is the name of switches\[0\] too' - -- up "$T/sw-dup.json"
	cfg sw-mtu "{\"switches\": [{\"name\": \"sw0\", \"mtu\": 65519}], $e}"
	check up-switch-mtu 2 'switches\[0\]\.mtu: 65519 is out of range \(68 to 65518\)' - -- up "$T/sw-mtu.json"
	cfg port-dup "{\"switches\": [{\"name\": \"sw0\", \"ports\": [{\"name\": \"p\"}, {\"name\": \"p\"}]}], $e}"
	check up-port-duplicate 2 'switches\[0\]\.ports\[1\]\.name: "p" is the name of ports\[0\] too' - -- up "$T/port-dup.json"
	cfg port-vlan "{\"switches\": [{\"name\": \"sw0\", \"ports\": [{\"name\": \"p\", \"vlan\": 4095}]}], $e}"
	check up-port-vlan 2 'switches\[0\]\.ports\[0\]\.vlan: 4095 is out of range \(1 to 4094\)' - -- up "$T/port-vlan.json"
	cfg port-both "{\"switches\": [{\"name\": \"sw0\", \"ports\": [{\"name\": \"p\", \"vlan\": 2, \"trunk\": [3]}]}], $e}"
	check up-port-vlan-and-trunk 2 'switches\[0\]\.ports\[0\]: give "vlan" \(an access port\) or "trunk"' - -- up "$T/port-both.json"
	cfg port-trunk "{\"switches\": [{\"name\": \"sw0\", \"ports\": [{\"name\": \"p\", \"trunk\": [3, \"4\"]}]}], $e}"
	check up-port-trunk-type 2 'switches\[0\]\.ports\[0\]\.trunk\[1\]: expected a VLAN, an integer from 1 to 4094' - -- up "$T/port-trunk.json"
	cfg port-trunk2 "{\"switches\": [{\"name\": \"sw0\", \"ports\": [{\"name\": \"p\", \"trunk\": [3, 3]}]}], $e}"
	check up-port-trunk-twice 2 'switches\[0\]\.ports\[0\]\.trunk\[1\]: VLAN 3 is listed twice' - -- up "$T/port-trunk2.json"
	cfg port-native "{\"switches\": [{\"name\": \"sw0\", \"ports\": [{\"name\": \"p\", \"native\": 3}]}], $e}"
	check up-port-native-alone 2 'switches\[0\]\.ports\[0\]\.native: only with "trunk"' - -- up "$T/port-native.json"
	cfg pol-sec "{\"switches\": [{\"name\": \"sw0\", \"ports\": [{\"name\": \"p\", \"policy\": {\"forged_transmits\": \"no\"}}]}], $e}"
	check up-policy-security 2 'ports\[0\]\.policy\.forged_transmits: "no": expected "reject" or "accept"' - -- up "$T/pol-sec.json"
	cfg pol-unknown "{\"switches\": [{\"name\": \"sw0\", \"ports\": [{\"name\": \"p\", \"policy\": {\"promisc\": \"accept\"}}]}], $e}"
	check up-policy-unknown-key 2 'ports\[0\]\.policy: unknown key "promisc"' - -- up "$T/pol-unknown.json"
	cfg pol-ip "{\"switches\": [{\"name\": \"sw0\", \"ports\": [{\"name\": \"p\", \"policy\": {\"antispoof\": {\"ipv4\": [\"10.0.0.256\"]}}}]}], $e}"
	check up-policy-antispoof-ip 2 'policy\.antispoof\.ipv4\[0\]: expected an IPv4 address' - -- up "$T/pol-ip.json"
	cfg pol-shape "{\"switches\": [{\"name\": \"sw0\", \"ports\": [{\"name\": \"p\", \"policy\": {\"shaping\": {\"out\": {\"average\": 2000, \"peak\": 1000}}}}]}], $e}"
	check up-policy-shaping-peak 2 'policy\.shaping\.out: "peak" is below "average"' - -- up "$T/pol-shape.json"
	cfg pol-rule "{\"switches\": [{\"name\": \"sw0\", \"ports\": [{\"name\": \"p\", \"policy\": {\"firewall\": {\"rules\": [{\"action\": \"allow\", \"src\": \"10.0.0.0/40\"}]}}}]}], $e}"
	check up-policy-rule-src 2 'policy\.firewall\.rules\[0\]\.src: "10.0.0.0/40": expected "any", an IPv4 address or ADDRESS/BITS' - -- up "$T/pol-rule.json"
	cfg pol-rule2 "{\"switches\": [{\"name\": \"sw0\", \"ports\": [{\"name\": \"p\", \"policy\": {\"firewall\": {\"rules\": [{\"proto\": \"tcp\"}]}}}]}], $e}"
	check up-policy-rule-action 2 'policy\.firewall\.rules\[0\]: needs "action"' - -- up "$T/pol-rule2.json"
	cfg pol-rule3 "{\"switches\": [{\"name\": \"sw0\", \"ports\": [{\"name\": \"p\", \"policy\": {\"firewall\": {\"rules\": [{\"action\": \"allow\", \"dst_ports\": \"90-80\"}]}}}]}], $e}"
	check up-policy-rule-ports 2 'policy\.firewall\.rules\[0\]\.dst_ports: expected a port or a range "LO-HI"' - -- up "$T/pol-rule3.json"
	cfg pol-mirror "{\"switches\": [{\"name\": \"sw0\", \"ports\": [{\"name\": \"p\", \"policy\": {\"mirror\": {\"port\": \"p\"}}}]}], $e}"
	check up-policy-mirror-self 2 'ports\[0\]\.policy\.mirror\.port: "p" is the port itself' - -- up "$T/pol-mirror.json"
	cfg ref-switch "{$sw, \"vms\": [{$k, \"nets\": [{\"switch\": \"sw1\", \"port\": \"p\"}]}]}"
	check up-net-no-switch 2 'vms\[0\]\.nets\[0\]\.switch: no switch "sw1" in "switches"' - -- up "$T/ref-switch.json"
	cfg ref-port "{$sw, \"vms\": [{$k, \"nets\": [{\"switch\": \"sw0\", \"port\": \"q\"}]}]}"
	check up-net-no-port 2 'vms\[0\]\.nets\[0\]\.port: switch "sw0" has no port "q"' - -- up "$T/ref-port.json"
	cfg ref-noport "{$sw, \"vms\": [{$k, \"nets\": [{\"switch\": \"sw0\"}]}]}"
	check up-net-switch-needs-port 2 'vms\[0\]\.nets\[0\]: "switch" needs "port"' - -- up "$T/ref-noport.json"
	cfg ref-twice "{$sw, \"vms\": [{$k, \"nets\": [{\"switch\": \"sw0\", \"port\": \"p\"}]}, {$k, \"nets\": [{\"switch\": \"sw0\", \"port\": \"p\"}]}]}"
	check up-net-port-taken 2 'vms\[1\]\.nets\[0\]\.port: "p" of switch "sw0" is taken by vms\[0\]\.nets\[0\]' - -- up "$T/ref-twice.json"
	cfg ref-tap "{\"switches\": [{\"name\": \"sw0\", \"ports\": [{\"name\": \"p\", \"tap\": \"t0\"}]}], \"vms\": [{$k, \"nets\": [{\"switch\": \"sw0\", \"port\": \"p\"}]}]}"
	check up-net-tap-port 2 'vms\[0\]\.nets\[0\]\.port: "p" of switch "sw0" is a TAP port' - -- up "$T/ref-tap.json"
	cfg ref-mac "{\"switches\": [{\"name\": \"sw0\", \"ports\": [{\"name\": \"p\", \"mac\": \"52:54:00:00:00:01\"}]}], \"vms\": [{$k, \"nets\": [{\"switch\": \"sw0\", \"port\": \"p\", \"mac\": \"52:54:00:00:00:02\"}]}]}"
	check up-net-port-mac 2 'vms\[0\]\.nets\[0\]\.mac: differs from the mac of port "p" of switch "sw0"' - -- up "$T/ref-mac.json"
	cfg ref-mtu "{$sw, \"vms\": [{$k, \"nets\": [{\"switch\": \"sw0\", \"port\": \"p\", \"mtu\": 9000}]}]}"
	check up-net-port-mtu 2 'vms\[0\]\.nets\[0\]\.mtu: a switch port has its switch.s MTU' - -- up "$T/ref-mtu.json"
	cfg ref-port-alone "{\"vms\": [{$k, \"nets\": [{\"pair\": \"x\", \"port\": \"p\"}]}]}"
	check up-net-port-without-switch 2 'vms\[0\]\.nets\[0\]\.port: only with "switch"' - -- up "$T/ref-port-alone.json"
}

# A switch's "uplink" and "etcd" (cli/config_uplink.c), the ports of a
# switch in a cluster, files of switches alone, and `vmm cluster seed`:
# each refusal names its key path.
up_cluster_cases() {
	local e='"vms": [{"elf": "x"}]' u='"uplink": {"local": "10.0.0.1"}'
	local et='"endpoint": "http://127.0.0.1:1", "host": "h1"'
	sw() { cfg "$1" "{\"switches\": [{\"name\": \"sw0\", $2}], $e}"; }
	sw ul-type '"uplink": 1'
	check up-uplink-not-object 2 'switches\[0\]\.uplink: expected an object$' - -- up "$T/ul-type.json"
	sw ul-key '"uplink": {"vni": 1}'
	check up-uplink-unknown-key 2 'switches\[0\]\.uplink: unknown key "vni" \(known here: local, udp_port, vnis, remotes, known_only, learn\)' - -- up "$T/ul-key.json"
	sw ul-local '"uplink": {"local": "10.0.0.300"}'
	check up-uplink-local 2 'switches\[0\]\.uplink\.local: "10\.0\.0\.300" is not an IPv4 address' - -- up "$T/ul-local.json"
	sw ul-local0 '"uplink": {"local": "0.0.0.0"}'
	check up-uplink-local-zero 2 'switches\[0\]\.uplink\.local: 0\.0\.0\.0 is no tunnel address' - -- up "$T/ul-local0.json"
	sw ul-port '"uplink": {"udp_port": 0}'
	check up-uplink-udp-port 2 'switches\[0\]\.uplink\.udp_port: 0 is out of range \(1 to 65535\)' - -- up "$T/ul-port.json"
	sw ul-learn '"uplink": {"learn": "no"}'
	check up-uplink-learn-type 2 'switches\[0\]\.uplink\.learn: expected true or false, got a string' - -- up "$T/ul-learn.json"
	sw ul-vnis '"uplink": {"vnis": {"10": 5010}}'
	check up-uplink-vnis-type 2 'switches\[0\]\.uplink\.vnis: expected an array$' - -- up "$T/ul-vnis.json"
	sw ul-vni '"uplink": {"vnis": [{"vlan": 10, "vni": 16777216}]}'
	check up-uplink-vni-range 2 'switches\[0\]\.uplink\.vnis\[0\]\.vni: 16777216 is out of range \(1 to 16777215\)' - -- up "$T/ul-vni.json"
	sw ul-vlan '"uplink": {"vnis": [{"vlan": 4095, "vni": 1}]}'
	check up-uplink-vni-vlan-range 2 'switches\[0\]\.uplink\.vnis\[0\]\.vlan: 4095 is out of range \(1 to 4094\)' - -- up "$T/ul-vlan.json"
	sw ul-vni-half '"uplink": {"vnis": [{"vlan": 10}]}'
	check up-uplink-vni-missing 2 'switches\[0\]\.uplink\.vnis\[0\]: needs "vlan" \(1 to 4094\) and "vni" \(1 to 16777215\)' - -- up "$T/ul-vni-half.json"
	sw ul-vni-key '"uplink": {"vnis": [{"vlan": 10, "vni": 1, "id": 2}]}'
	check up-uplink-vni-unknown-key 2 'switches\[0\]\.uplink\.vnis\[0\]: unknown key "id" \(known here: vlan, vni\)' - -- up "$T/ul-vni-key.json"
	sw ul-vlan2 '"uplink": {"vnis": [{"vlan": 10, "vni": 100}, {"vlan": 10, "vni": 200}]}'
	check up-uplink-vlan-twice 2 'switches\[0\]\.uplink\.vnis\[1\]: VLAN 10 is mapped by vnis\[0\] too' - -- up "$T/ul-vlan2.json"
	sw ul-vni2 '"uplink": {"vnis": [{"vlan": 10, "vni": 100}, {"vlan": 20, "vni": 100}]}'
	check up-uplink-vni-twice 2 'switches\[0\]\.uplink\.vnis\[1\]: VNI 100 is the one of vnis\[0\] too' - -- up "$T/ul-vni2.json"
	sw ul-rem '"uplink": {"remotes": ["10.0.0.2", "x"]}'
	check up-uplink-remote-bad 2 'switches\[0\]\.uplink\.remotes\[1\]: "x" is not an IPv4 address of a remote VTEP' - -- up "$T/ul-rem.json"
	sw ul-rem-type '"uplink": {"remotes": [167772162]}'
	check up-uplink-remote-type 2 'switches\[0\]\.uplink\.remotes\[0\]: expected an IPv4 address \(a string\)' - -- up "$T/ul-rem-type.json"
	sw ul-rem2 '"uplink": {"remotes": ["10.0.0.2", "10.0.0.2"]}'
	check up-uplink-remote-twice 2 'switches\[0\]\.uplink\.remotes\[1\]: 10\.0\.0\.2 is remotes\[0\] too' - -- up "$T/ul-rem2.json"
	sw et-noup "\"etcd\": {$et}"
	check up-etcd-needs-uplink 2 'switches\[0\]: "etcd" needs "uplink" \(the VXLAN tunnel' - -- up "$T/et-noup.json"
	sw et-type "$u, \"etcd\": \"http://127.0.0.1:2379\""
	check up-etcd-not-object 2 'switches\[0\]\.etcd: expected an object$' - -- up "$T/et-type.json"
	sw et-key "$u, \"etcd\": {\"endpoints\": [\"http://127.0.0.1:2379\"]}"
	check up-etcd-unknown-key 2 'switches\[0\]\.etcd: unknown key "endpoints" \(known here: endpoint, prefix, name, host, vtep, lease_ttl, timeout_ms\)' - -- up "$T/et-key.json"
	sw et-noend "$u, \"etcd\": {\"host\": \"h1\"}"
	check up-etcd-no-endpoint 2 'switches\[0\]\.etcd: missing key "endpoint"' - -- up "$T/et-noend.json"
	sw et-https "$u, \"etcd\": {\"endpoint\": \"https://127.0.0.1:2379\", \"host\": \"h1\"}"
	check up-etcd-endpoint-not-http 2 'switches\[0\]\.etcd\.endpoint: "https://127\.0\.0\.1:2379": expected an http:// URL' - -- up "$T/et-https.json"
	sw et-nohost "$u, \"etcd\": {\"endpoint\": \"http://127.0.0.1:2379\"}"
	check up-etcd-no-host 2 'switches\[0\]\.etcd: missing key "host" \(this host.s name' - -- up "$T/et-nohost.json"
	sw et-host "$u, \"etcd\": {\"endpoint\": \"http://127.0.0.1:2379\", \"host\": \"a b\"}"
	check up-etcd-host-bad 2 'switches\[0\]\.etcd\.host: "a b": 1 to 63 letters, digits' - -- up "$T/et-host.json"
	sw et-name "$u, \"etcd\": {$et, \"name\": \"\"}"
	check up-etcd-name-empty 2 'switches\[0\]\.etcd\.name: "": 1 to 63 letters' - -- up "$T/et-name.json"
	sw et-novtep "\"uplink\": {}, \"etcd\": {$et}"
	check up-etcd-no-vtep 2 'switches\[0\]\.etcd: missing key "vtep" \(this host.s tunnel address' - -- up "$T/et-novtep.json"
	sw et-vtep "$u, \"etcd\": {$et, \"vtep\": \"0.0.0.0\"}"
	check up-etcd-vtep-zero 2 'switches\[0\]\.etcd\.vtep: 0\.0\.0\.0 is no tunnel address' - -- up "$T/et-vtep.json"
	sw et-prefix "$u, \"etcd\": {$et, \"prefix\": \"vmm/\"}"
	check up-etcd-prefix 2 'switches\[0\]\.etcd\.prefix: "vmm/": must start with ./.' - -- up "$T/et-prefix.json"
	sw et-ttl "$u, \"etcd\": {$et, \"lease_ttl\": 1}"
	check up-etcd-lease-ttl 2 'switches\[0\]\.etcd\.lease_ttl: 1 is out of range \(2 to 3600\)' - -- up "$T/et-ttl.json"
	sw et-tmo "$u, \"etcd\": {$et, \"timeout_ms\": 0.5}"
	check up-etcd-timeout-type 2 'switches\[0\]\.etcd\.timeout_ms: expected an integer, got a number with a fraction' - -- up "$T/et-tmo.json"
	sw et-vnis "\"uplink\": {\"local\": \"10.0.0.1\", \"vnis\": [{\"vlan\": 10, \"vni\": 5010}]}, \"etcd\": {$et}"
	check up-etcd-uplink-vnis 2 'switches\[0\]\.uplink\.vnis: the cluster.s with "etcd" \(its vni/VLAN keys\)' - -- up "$T/et-vnis.json"
	sw et-rem "\"uplink\": {\"local\": \"10.0.0.1\", \"remotes\": [\"10.0.0.2\"]}, \"etcd\": {$et}"
	check up-etcd-uplink-remotes 2 'switches\[0\]\.uplink\.remotes: the cluster.s with "etcd" \(its host/NAME keys\)' - -- up "$T/et-rem.json"
	sw et-pvlan "$u, \"etcd\": {$et}, \"ports\": [{\"name\": \"p\", \"group\": \"web\", \"vlan\": 10}]"
	check up-etcd-port-vlan 2 'switches\[0\]\.ports\[0\]\.vlan: the port.s group in etcd says this' - -- up "$T/et-pvlan.json"
	sw et-ppol "$u, \"etcd\": {$et}, \"ports\": [{\"name\": \"p\", \"group\": \"web\", \"policy\": {}}]"
	check up-etcd-port-policy 2 'switches\[0\]\.ports\[0\]\.policy: the port.s group in etcd says this' - -- up "$T/et-ppol.json"
	sw et-pnog "$u, \"etcd\": {$et}, \"ports\": [{\"name\": \"p\"}]"
	check up-etcd-port-no-group 2 'switches\[0\]\.ports\[0\]: missing key "group" \(the cluster.s port group' - -- up "$T/et-pnog.json"
	sw et-pgrp "$u, \"etcd\": {$et}, \"ports\": [{\"name\": \"p\", \"group\": \"w/x\"}]"
	check up-etcd-port-group-bad 2 'switches\[0\]\.ports\[0\]\.group: "w/x": 1 to 63 letters' - -- up "$T/et-pgrp.json"
	sw grp-alone '"ports": [{"name": "p", "group": "web"}]'
	check up-port-group-standalone 2 'switches\[0\]\.ports\[0\]\.group: only in a switch with "etcd"' - -- up "$T/grp-alone.json"
	cfg et-same "{\"switches\": [{\"name\": \"a\", $u, \"etcd\": {$et, \"name\": \"c\"}}, {\"name\": \"b\", \"uplink\": {\"local\": \"10.0.0.2\"}, \"etcd\": {$et, \"name\": \"c\"}}], $e}"
	check up-etcd-same-cluster 2 'switches\[1\]\.etcd\.name: "c" at http://127\.0\.0\.1:1 is the cluster switch of switches\[0\] too' - -- up "$T/et-same.json"
	# the library's refusals at setup: etcd not reachable (no etcd on port 1)
	cfg et-down "{\"switches\": [{\"name\": \"sw0\", \"uplink\": {\"local\": \"127.0.0.1\", \"udp_port\": 47917}, \"etcd\": {$et, \"timeout_ms\": 2000}}]}"
	check up-etcd-unreachable 2 'et-down.json: switches\[0\] \(sw0\): cluster: etcd: cannot connect to 127\.0\.0\.1:1' - -- up "$T/et-down.json"
	cfg novms '{}'
	check up-no-vms 2 'novms.json: missing key "vms" \(an array of VMs\)' - -- up "$T/novms.json"
	cfg emptyvms '{"vms": []}'
	check up-empty-vms 2 'emptyvms.json: vms: has 0 VMs \(1 to 16 allowed; none only in a file with switches\)' - -- up "$T/emptyvms.json"
	# vmm cluster seed
	check cluster-no-subcommand 2 '^vmm: cluster: missing subcommand' - -- cluster
	check cluster-unknown-subcommand 2 '^vmm: cluster: unknown subcommand' - -- cluster sow
	cfg seed-ok '{"switches": [{"name": "sw0", "ports": [{"name": "web", "vlan": 10}]}]}'
	check cluster-seed-no-etcd 2 '^vmm: cluster seed: missing --etcd URL' - -- cluster seed "$T/seed-ok.json"
	check cluster-seed-no-file 2 '^vmm: cluster seed: missing CONFIG.json' - -- cluster seed --etcd http://127.0.0.1:1
	check cluster-seed-two-files 2 '^vmm: cluster seed: takes one CONFIG file' - -- cluster seed --etcd http://127.0.0.1:1 "$T/seed-ok.json" "$T/seed-ok.json"
	check cluster-seed-bad-option 2 '^vmm: cluster seed: unknown option or missing value' - -- cluster seed --etc http://127.0.0.1:1 "$T/seed-ok.json"
	check cluster-seed-bad-file 2 'et-vtep.json: switches\[0\]\.etcd\.vtep: 0\.0\.0\.0' - -- cluster seed --etcd http://127.0.0.1:1 "$T/et-vtep.json"
	cfg seed-vms "{$e}"
	check cluster-seed-no-switches 2 '^vmm: cluster seed: the file has no "switches"' - -- cluster seed --etcd http://127.0.0.1:1 "$T/seed-vms.json"
	cfg seed-etcd "{\"switches\": [{\"name\": \"sw0\", $u, \"etcd\": {$et}}]}"
	check cluster-seed-etcd-switch 2 'switches\[0\] \(sw0\): has "etcd": seed from a file of standalone switches' - -- cluster seed --etcd http://127.0.0.1:1 "$T/seed-etcd.json"
	cfg seed-mirror '{"switches": [{"name": "sw0", "ports": [{"name": "p"}, {"name": "q", "policy": {"mirror": {"port": "p"}}}]}]}'
	check cluster-seed-mirror 2 'switches\[0\] \(sw0\): ports\[1\] \(q\): policy\.mirror: a group has no mirror' - -- cluster seed --etcd http://127.0.0.1:1 "$T/seed-mirror.json"
	check cluster-seed-unreachable 2 'seed-ok.json: switches\[0\] \(sw0\): etcd: cannot connect to 127\.0\.0\.1:1' - -- cluster seed --etcd http://127.0.0.1:1 "$T/seed-ok.json"
}

# A TAP port the user may not create: refused by the library at setup,
# named by its switch and port (as an unprivileged user when run as root).
up_switch_setup_case() {
	cfg sw-tap "{\"switches\": [{\"name\": \"sw0\", \"ports\": [{\"name\": \"t\", \"tap\": \"vmmcli1\"}]}], \"vms\": [{\"backend\": \"emu\", \"elf\": \"halt.elf\"}]}"
	chmod 755 "$T"
	chmod 644 "$T/sw-tap.json"
	if [ "$(id -u)" != 0 ]; then
		check up-switch-tap-no-rights 2 'sw-tap.json: switches\[0\] \(sw0\): ports\[0\] \(t\): .*(Permission denied|Operation not permitted)' - -- up "$T/sw-tap.json"
	elif command -v setpriv >/dev/null; then
		RUN_AS="setpriv --reuid=65534 --regid=65534 --clear-groups"
		check up-switch-tap-no-rights 2 'sw-tap.json: switches\[0\] \(sw0\): ports\[0\] \(t\): .*(Permission denied|Operation not permitted)' - -- up "$T/sw-tap.json"
		RUN_AS=
	else
		notrun up-switch-tap-no-rights "running as root without setpriv"
	fi
	chmod 700 "$T"
}

# lockhold FILE: holds an OFD write lock on FILE (as a VM's writable disk
# does) until killed; prints "locked" once it holds it.
build_lockhold() {
	cat >"$T/lockhold.c" <<-'C'
	#define _GNU_SOURCE
	#include <fcntl.h>
	#include <stdio.h>
	#include <unistd.h>
	int main(int argc, char **argv)
	{
		struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		int fd = open(argv[1], O_RDWR);
		if (argc != 2 || fd < 0 || fcntl(fd, F_OFD_SETLK, &lk))
			return 1;
		printf("locked\n");
		fflush(stdout);
		pause();
		return 0;
	}
	C
	gcc -o "$T/lockhold" "$T/lockhold.c" 2>"$T/lockhold.log"
}

up_cases() {
	local b=$1 pid
	cfg "up-missing-kernel-$b" "{\"vms\": [{\"backend\": \"$b\", \"kernel\": \"$T/nokernel\"}]}"
	check "$b/up-missing-kernel" 2 "vms\[0\] \(vm0\): kernel $T/nokernel: cannot read image .*No such file" - -- up "$T/up-missing-kernel-$b.json"
	cfg "up-not-kernel-$b" "{\"vms\": [{\"backend\": \"$b\", \"kernel\": \"$T/notelf\"}]}"
	check "$b/up-not-kernel" 2 "vms\[0\] \(vm0\): kernel $T/notelf: .*(bzImage|vmlinux)" - -- up "$T/up-not-kernel-$b.json"
	truncate -s 1M "$T/disk.img"
	cfg "up-disk-twice-$b" "{\"vms\": [{\"backend\": \"$b\", \"kernel\": \"$T/notelf\", \"disks\": [{\"path\": \"disk.img\"}, {\"path\": \"disk.img\"}]}]}"
	check "$b/up-disk-locked-by-vm" 2 "vms\[0\] \(vm0\): disks\[1\]: virtio-blk: '$T/disk.img' is in use" - -- up "$T/up-disk-twice-$b.json"
	cfg "up-missing-disk-$b" "{\"vms\": [{\"backend\": \"$b\", \"kernel\": \"$T/notelf\", \"disks\": [{\"path\": \"nodisk.img\"}]}]}"
	check "$b/up-missing-disk" 2 "disks\[0\]: virtio-blk: cannot open '$T/nodisk.img' read-write: No such file" - -- up "$T/up-missing-disk-$b.json"
	if build_lockhold; then
		"$T/lockhold" "$T/disk.img" >"$T/lockhold.out" &
		pid=$!
		for _ in $(seq 50); do grep -q locked "$T/lockhold.out" && break; sleep 0.1; done
		cfg "up-disk-locked-$b" "{\"vms\": [{\"backend\": \"$b\", \"kernel\": \"$T/notelf\", \"disks\": [{\"path\": \"disk.img\", \"readonly\": true}]}]}"
		check "$b/up-disk-locked-by-process" 2 "disks\[0\]: virtio-blk: '$T/disk.img' is in use: another VM \(or program\) holds a write lock" - -- up "$T/up-disk-locked-$b.json"
		kill "$pid"
		wait "$pid" 2>/dev/null
	else
		fail "$b/up-disk-locked-by-process" "gcc could not build the lock holder: $(head -c 200 "$T/lockhold.log")"
	fi
	[ "$b" = emu ] && up_unreadable_case
	[ "$b" = emu ] && up_switch_setup_case
	up_guest_cases "$b"
}

# An unreadable kernel: as root, checked as an unprivileged user (with emu:
# such a user may not open /dev/kvm).
up_unreadable_case() {
	local b=emu
	printf 'x' >"$T/secret-kernel"
	chmod 000 "$T/secret-kernel"
	cfg "up-unreadable-kernel-$b" "{\"vms\": [{\"backend\": \"$b\", \"kernel\": \"secret-kernel\"}]}"
	chmod 755 "$T"
	chmod 644 "$T/up-unreadable-kernel-$b.json"
	if [ "$(id -u)" != 0 ]; then
		check "$b/up-unreadable-kernel" 2 "kernel $T/secret-kernel: cannot read image .*Permission denied" - -- up "$T/up-unreadable-kernel-$b.json"
	elif command -v setpriv >/dev/null; then
		RUN_AS="setpriv --reuid=65534 --regid=65534 --clear-groups"
		check "$b/up-unreadable-kernel" 2 "kernel $T/secret-kernel: cannot read image .*Permission denied" - -- up "$T/up-unreadable-kernel-$b.json"
		RUN_AS=
	else
		notrun "$b/up-unreadable-kernel" "running as root without setpriv"
	fi
	chmod 700 "$T"
}

# Guests: one VM prints as it is; several VMs prefix each line.
up_guest_cases() {
	local b=$1
	cfg "up-one-$b" "{\"vms\": [{\"name\": \"a\", \"backend\": \"$b\", \"elf\": \"hello.elf\"}]}"
	check "$b/up-one-vm" 0 '' 'hello from a guest' -- up "$T/up-one-$b.json"
	cfg "up-two-$b" "{\"vms\": [{\"name\": \"a\", \"backend\": \"$b\", \"elf\": \"hello.elf\"}, {\"name\": \"b\", \"backend\": \"$b\", \"elf\": \"halt.elf\"}]}"
	check "$b/up-two-vms" 0 '' 'a: hello from a guest' -- up "$T/up-two-$b.json"
	cfg "up-status-$b" "{\"vms\": [{\"name\": \"a\", \"backend\": \"$b\", \"elf\": \"halt.elf\"}, {\"name\": \"b\", \"backend\": \"$b\", \"elf\": \"exit42.elf\"}, {\"name\": \"c\", \"backend\": \"$b\", \"elf\": \"crash.elf\"}]}"
	check "$b/up-first-failure" 85 '^vmm: c: guest triple-faulted at rip 0x100000' '' -- up "$T/up-status-$b.json"
	cfg "up-timeout-$b" "{\"vms\": [{\"name\": \"a\", \"backend\": \"$b\", \"elf\": \"halt.elf\"}, {\"name\": \"b\", \"backend\": \"$b\", \"elf\": \"spin.elf\", \"timeout\": 0.5}]}"
	check "$b/up-timeout" 6 '^vmm: b: timed out after 0.5 s$' '' -- up "$T/up-timeout-$b.json"
}

# ---- Cases that create a VM on BACKEND -------------------------------------------
image_cases() {
	local b=$1
	check "$b/image-missing" 2 "^vmm: $T/nothere.elf: cannot read image .*No such file" - -- run --backend "$b" "$T/nothere.elf"
	check "$b/image-directory" 2 "not a regular file" - -- run --backend "$b" "$T"
	check "$b/not-elf" 2 "^vmm: $T/notelf: not an ELF file: bad magic 68 65 6c 6c" - -- run --backend "$b" "$T/notelf"
	check "$b/truncated-elf" 2 "^vmm: .*truncated ELF: program headers" - -- run --backend "$b" "$T/truncated.elf"
	check "$b/segment-outside-ram" 2 "ELF segment 0 \[0x8000000, 0x8000001\) lies outside guest RAM \(64 MiB\)" - -- run --backend "$b" "$T/far.elf"
	check "$b/entry-outside-ram" 2 "entry point 0x10000000 is outside guest RAM \(64 MiB\)" - -- run --backend "$b" "$T/badentry.elf"
	check "$b/ram-too-small" 2 "too small for the ELF64 boot area" - -- run --backend "$b" --mem 64K "$T/halt.elf"
	check "$b/cmdline-too-long" 2 "cmdline is 2048 bytes or longer" - -- run --backend "$b" --cmdline "$(head -c 3000 /dev/zero | tr '\0' x)" "$T/halt.elf"
}

guest_cases() {
	local b=$1
	check "$b/halt" 0 '' '' -- run --backend "$b" "$T/halt.elf"
	check "$b/debug-exit" 85 '' '' -- run --backend "$b" "$T/exit42.elf"
	check "$b/uart-hello" 0 '' 'hello from a guest' -- run --backend "$b" "$T/hello.elf"
	check "$b/cmdline" 0 '' 'console=ttyS0 x' -- run --backend "$b" --cmdline 'console=ttyS0 x' "$T/cmdline.elf"
	check "$b/smp-halt" 0 '' - -- run --backend "$b" --cpus 2 --mem 16M "$T/halt.elf"
	check "$b/triple-fault" 4 '^vmm: guest triple-faulted at rip 0x100000' '' -- run --backend "$b" "$T/crash.elf"
	check "$b/timeout" 6 '^vmm: timed out after 0.5 s$' '' -- run --backend "$b" --timeout 0.5 "$T/spin.elf"
	check "$b/multiboot" 15 '' 'libvmm' -- run --backend "$b" "$T/multiboot.elf"
	check "$b/multiboot-aps-wait" 15 '' 'libvmm' -- run --backend "$b" --cpus 3 "$T/multiboot.elf"
	check "$b/fw-cfg" 0 '' 'QEMU31' -- run --backend "$b" --fw-cfg --cpus 3 --mem 16M "$T/fwcfg.elf"
	check "$b/fw-cfg-off" 0 '' 'no' -- run --backend "$b" --cpus 3 --mem 16M "$T/fwcfg.elf"
	check "$b/test-devices" 1 '' '' -- run --backend "$b" --test-devices "$T/testdev.elf"
	check "$b/test-devices-off" 3 '' '' -- run --backend "$b" "$T/testdev.elf"
	if [ "$b" = emu ]; then   # kvm reports PCID only where the host has it
		check "$b/cpu-pcid" 3 '' '' -- run --backend "$b" "$T/pcid.elf"
	fi
	check "$b/cpu-hide" 1 '' '' -- run --backend "$b" --cpu-hide invpcid,pcid "$T/pcid.elf"
	check "$b/cpu-hide-unknown" 2 "^vmm: --cpu-hide: .*unknown CPU feature 'avx' \(features that can be hidden: pcid, invpcid, pku\)$" '' -- run --backend "$b" --cpu-hide avx "$T/pcid.elf"
	check "$b/multiboot-cmdline" 1 '' "$T/mbcmd.elf a=1 b" -- run --backend "$b" --cmdline 'a=1 b' "$T/mbcmd.elf"
	check "$b/multiboot-no-cmdline" 1 '' "$T/mbcmd.elf" -- run --backend "$b" "$T/mbcmd.elf"
	if [ -e build/guests/hello.elf ]; then
		check "$b/hello-guest" 0 '' - -- run --backend "$b" build/guests/hello.elf
		grep -q '^Hello' "$T/stdout" && pass "$b/hello-guest-output" ||
			fail "$b/hello-guest-output" "stdout: $(head -c 200 "$T/stdout")"
	else
		notrun "$b/hello-guest" "build/guests/hello.elf not built"
	fi
}

# --trace: the exact lines for a tiny guest (emu), or one line saying the
# backend cannot trace.
trace_cases() {
	local b=$1 want
	want=$(printf '%s\n' \
		'0x100000: mov eax, 0x2a ; rax=0x2a' \
		'0x100005: add eax, eax ; rax=0x54 rflags=0x12' \
		'0x100007: mov ebx, eax ; rbx=0x54' \
		'0x100009: push rbx ; rsp=0x3fffff0' \
		'0x10000a: ud2 ; exception 6')
	if [ "$b" != emu ]; then
		check "$b/trace-unsupported" 2 "^vmm: --trace: .*backend $b cannot trace" '' -- run --backend "$b" --trace "$T/halt.elf"
		return
	fi
	timeout 60 "$VMM" run --backend emu --trace "$T/trace.elf" >"$T/stdout" 2>"$T/stderr" </dev/null
	# the guest's #UD has no IDT: a triple fault ends the run (status 4, one
	# more stderr line after the trace)
	if [ "$(head -n 5 "$T/stderr")" = "$want" ] && grep -q '^vmm: guest triple-faulted' "$T/stderr"; then
		pass "$b/trace-stderr"
	else
		fail "$b/trace-stderr" "trace: $(head -c 400 "$T/stderr")"
	fi
	check "$b/trace-file" 4 '^vmm: guest triple-faulted at rip 0x10000a' '' -- run --backend emu --trace="$T/trace.txt" "$T/trace.elf"
	[ "$(cat "$T/trace.txt")" = "$want" ] && pass "$b/trace-file-lines" ||
		fail "$b/trace-file-lines" "trace file: $(head -c 400 "$T/trace.txt")"
	check "$b/trace-file-bad" 2 "^vmm: --trace: cannot open $T/nodir/x: No such file" '' -- run --backend emu --trace="$T/nodir/x" "$T/halt.elf"
}

usage_cases
net_usage_cases
up_usage_cases
up_switch_cases
up_cluster_cases
if ! build_guests; then
	fail build-guests "gcc could not build the test guests: $(cat "$T"/*.log | head -c 300)"
	exit 1
fi
backends=$("$VMM" info | awk 'NR > 1 && $2 == "yes" { print $1 }')
if [ -z "$backends" ]; then
	notrun images "no usable backend here ('vmm info')"
	notrun guests "no usable backend here ('vmm info')"
fi
for b in $backends; do
	image_cases "$b"
	guest_cases "$b"
	trace_cases "$b"
	command -v socat >/dev/null && net_device_cases "$b"
	up_cases "$b"
done
exit $failed
