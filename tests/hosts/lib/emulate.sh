# emulate.sh - boot a test host in QEMU TCG (svm) or Bochs (vmx), watch it,
# and turn its serial console into the command's output and exit status.
# Sourced by tests/hosts/run-in-host after common.sh.
#
# The emulator runs in its own session (setsid) under timeout(1), so its
# process group id is EMU_PID and the cleanup trap can always kill it whole.
# shellcheck disable=SC2034  # EMU_STATUS and EMU_NOTE are read by run-in-host

EMU_PID=
# Set by emu_watch, read by run-in-host.
EMU_STATUS=
EMU_NOTE=
KERNEL_ARGS="console=ttyS0 panic=-1 rdinit=/.run-in-host/init cryptomgr.notests"
# loglevel=1: only KERN_EMERG messages reach the console, i.e. "Kernel panic"
# when the host dies; filtered out of the command's output anyway.
QUIET_ARGS="quiet loglevel=1"

# kernel_cmdline: the test host's kernel command line.
kernel_cmdline() {
    local args=$KERNEL_ARGS
    [ "${VERBOSE:-0}" = 1 ] || args="$args $QUIET_ARGS"
    printf '%s\n' "$args${VMM_HOST_KERNEL_ARGS:+ $VMM_HOST_KERNEL_ARGS}"
}

# emu_kill: kill the emulator's whole process group, if still there.
emu_kill() {
    [ -n "$EMU_PID" ] || return 0
    kill -KILL -- "-$EMU_PID" 2>/dev/null
    kill -KILL "$EMU_PID" 2>/dev/null
    wait "$EMU_PID" 2>/dev/null
    # The emulator is timeout's child: wait until the whole group is gone
    # (a killed QEMU takes a moment to release 1 GiB of guest memory).
    for _ in $(seq 50); do
        kill -0 -- "-$EMU_PID" 2>/dev/null || break
        sleep 0.1
    done
    EMU_PID=
}

# emu_start SECONDS STDIN CMD...: start CMD in its own session under a
# timeout; its output goes to $RUN_DIR/emulator.log.
emu_start() {
    local secs=$1 input=$2
    shift 2
    setsid timeout -k 10 "$secs" "$@" <"$input" >"$RUN_DIR/emulator.log" 2>&1 &
    EMU_PID=$!
}

# emu_watch SERIAL [REBOOT_PROBE]: wait for the emulator; stop it early when
# the command finished but the host does not power off, or when
# REBOOT_PROBE (a command) says the host rebooted: Bochs restarts the BIOS
# after a kernel panic instead of exiting (QEMU has -no-reboot).
# Sets EMU_STATUS (the emulator's; 124 or 137 = timed out) and EMU_NOTE.
emu_watch() {
    local serial=$1 probe=${2:-} done_at=
    EMU_NOTE=
    while kill -0 "$EMU_PID" 2>/dev/null; do
        sleep 0.25
        if [ -z "$done_at" ] && grep -qa -e '@@RUN-IN-HOST-STATUS' \
                -e '@@RUN-IN-HOST-SETUP-FAILED' "$serial" 2>/dev/null; then
            done_at=$SECONDS
        elif [ -n "$done_at" ] && [ $((SECONDS - done_at)) -gt 15 ]; then
            EMU_NOTE="the host did not power off after the command; stopped it"
            break
        elif [ -n "$probe" ] && $probe; then
            EMU_NOTE="the host rebooted (kernel panic, init died or triple fault)"
            break
        fi
    done
    if [ -n "$EMU_NOTE" ]; then
        emu_kill
        EMU_STATUS=0
    else
        wait "$EMU_PID"
        EMU_STATUS=$?
        EMU_PID=
    fi
}

# run_qemu KERNEL INITRD SECONDS: boot an AMD SVM host in QEMU TCG.
run_qemu() {
    emu_start "$3" /dev/null qemu-system-x86_64 \
        -machine q35 -cpu "${VMM_HOST_QEMU_CPU:-max}" -m 1024 -smp 1 -nographic -no-reboot \
        -monitor none -serial "file:$RUN_DIR/serial.out" \
        -kernel "$1" -initrd "$2" -append "$(kernel_cmdline)"
    emu_watch "$RUN_DIR/serial.out"
}

# make_iso KERNEL INITRD OUT: a bootable ISO (isolinux) with both files.
make_iso() {
    local tree=$RUN_DIR/iso
    [[ -f $1 && -f $2 ]] || die "make_iso: $1 or $2 is missing"
    mkdir -p "$tree/isolinux"
    cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 \
        "$tree/isolinux/"
    ln -s "$(realpath "$1")" "$tree/vmlinuz"
    ln -s "$(realpath "$2")" "$tree/initrd"
    cat >"$tree/isolinux/isolinux.cfg" <<EOF
SERIAL 0 115200
DEFAULT host
PROMPT 0
TIMEOUT 0
LABEL host
  KERNEL /vmlinuz
  INITRD /initrd
  APPEND $(kernel_cmdline)
EOF
    xorriso -as mkisofs -quiet -follow-links -R -J -o "$3" \
        -b isolinux/isolinux.bin -c isolinux/boot.cat \
        -no-emul-boot -boot-load-size 4 -boot-info-table "$tree" \
        >"$RUN_DIR/xorriso.log" 2>&1 ||
        die "xorriso failed: $(tail -n5 "$RUN_DIR/xorriso.log")"
}

# bochs_display: a display library that needs no terminal or X server.
bochs_display() {
    if [ -e /usr/lib/x86_64-linux-gnu/bochs/plugins/libbx_nogui.so ]; then
        echo nogui
    else
        echo 'term, options="hideIPS"'
    fi
}

# run_bochs KERNEL INITRD SECONDS: boot an Intel VT-x host in Bochs.
run_bochs() {
    make_iso "$1" "$2" "$RUN_DIR/host.iso"
    sed -e "s|@ISO@|$RUN_DIR/host.iso|" -e "s|@SERIAL@|$RUN_DIR/serial.out|" \
        -e "s|@LOG@|$RUN_DIR/bochs.log|" -e "s|@DISPLAY@|$(bochs_display)|" \
        "$HOSTS_SRC/bochsrc.in" >"$RUN_DIR/bochsrc"
    # Bochs may stop at its start prompt: answer "c" (continue) to each one.
    yes c 2>/dev/null | head -n 1000 >"$RUN_DIR/bochs.stdin"
    emu_start "$3" "$RUN_DIR/bochs.stdin" env TERM=xterm bochs -q -f "$RUN_DIR/bochsrc"
    emu_watch "$RUN_DIR/serial.out" bochs_rebooted
}

# bochs_rebooted: true once Bochs logged a second reset (the first is power-on).
bochs_rebooted() {
    [ "$(grep -c 'bx_pc_system_c::Reset(' "$RUN_DIR/bochs.log" 2>/dev/null)" -gt 1 ]
}

# host_output SERIAL STATUS_FILE: print the command's output from the serial
# log (between the BEGIN and STATUS markers) and write to STATUS_FILE the
# exit status, "setup-failed" or nothing (no marker: the host died).
# The init's own messages ("run-in-host(init): ...") go to stderr.
host_output() {
    : >"$2"
    tr -d '\000' <"$1" | awk -v status_file="$2" '
        !begun && match($0, /run-in-host\(init\): /) {
            line = substr($0, RSTART); sub(/\r$/, "", line); print line > "/dev/stderr"
        }
        !begun && /@@RUN-IN-HOST-SETUP-FAILED@@/ {
            print "setup-failed" > status_file; done = 1; exit
        }
        !begun && /@@RUN-IN-HOST-BEGIN@@/ { begun = 1; crlf = /\r$/; next }
        !begun { next }
        crlf { sub(/\r$/, "") }
        /^\[ *[0-9]+\.[0-9]+\] / { next }   # kernel messages, if any slip through
        match($0, /@@RUN-IN-HOST-STATUS [0-9]+@@/) {
            # The marker follows a newline of its own: the held line is the
            # last output line, whose newline came from the init.
            if (held_set) printf "%s", held
            print substr($0, RSTART + 21, RLENGTH - 23) > status_file
            done = 1
            exit
        }
        { if (held_set) print held; held = $0; held_set = 1 }
        END { if (!done && held_set) print held }   # no marker: show what came
    '
}
