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
	timeout 60 "$VMM" "$@" >"$T/stdout" 2>"$T/stderr" </dev/null
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
done
exit $failed
