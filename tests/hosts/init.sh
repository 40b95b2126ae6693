#!/.run-in-host/busybox sh
# /.run-in-host/init: PID 1 of a run-in-host test host (busybox sh).
#
# Packed into the cached base initramfs by tests/hosts/run-in-host and started
# with rdinit=/.run-in-host/init. Everything of the harness lives below
# /.run-in-host so the caller's packed files can never replace it. The
# per-run payload adds /.run-in-host/config, a shell fragment that sets
#   HOST_ARCH   svm | vmx
#   HOST_MODULES  module file names to insmod, in dependency order
#   RUN_CWD     directory to run the command in
# and runs "set -- COMMAND ARGS..." with the caller's command line.
#
# Console protocol read by run-in-host (one marker per line):
#   @@RUN-IN-HOST-BEGIN@@            the command starts now
#   @@RUN-IN-HOST-STATUS <n>@@       the command exited with status n
#   @@RUN-IN-HOST-SETUP-FAILED@@     the host could not be prepared (reason above)
# The STATUS marker is printed after a newline of its own, so a last output
# line without a newline stays intact; run-in-host removes that newline.

H=/.run-in-host
B=$H/busybox

setup_fail() {
    echo "run-in-host(init): $*"
    echo "@@RUN-IN-HOST-SETUP-FAILED@@"
    finish
}

finish() {
    # Let the UART drain before the machine disappears.
    sleep 1
    poweroff -f
    # Not reached unless poweroff failed; never let PID 1 exit (panic).
    while :; do sleep 3600; done
}

setup_userland() {
    $B mkdir -p $H/bin
    $B --install -s $H/bin
    export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$H/bin
    export HOME=/ TERM=dumb
    mkdir -p /proc /sys /dev /tmp /run /bin
    mount -t proc proc /proc
    mount -t sysfs sysfs /sys
    mount -t devtmpfs devtmpfs /dev
    # Loopback up, as on any machine (gdb reaches the gdb stub on 127.0.0.1).
    ip link set lo up 2>/dev/null
    # Programs that call system() need /bin/sh; keep a packed one if any.
    [ -e /bin/sh ] || ln -s $B /bin/sh
    # No \n -> \r\n on the console: the command's output arrives byte-exact.
    stty -onlcr 2>/dev/null
}

# cpu_virt: the emulated CPU's virtualization flags, for error messages.
cpu_virt() {
    flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -x -e vmx -e svm)
    echo "CPU virtualization flags: ${flags:-none}"
}

load_modules() {
    for m in $HOST_MODULES; do
        [ -f "$H/modules/$m" ] || setup_fail "module $m is not in the initramfs"
        out=$(insmod "$H/modules/$m" 2>&1) ||
            setup_fail "insmod $m failed: $out ($(cpu_virt))"
    done
    [ -c /dev/kvm ] ||
        setup_fail "/dev/kvm does not exist after loading $HOST_MODULES ($(cpu_virt))"
}

# shellcheck disable=SC2120  # "$@" is set by the config fragment
main() {
    setup_userland
    [ -f $H/config ] || setup_fail "$H/config missing from the initramfs"
    # shellcheck source=/dev/null
    . $H/config
    load_modules
    cd "$RUN_CWD" 2>/dev/null || cd /
    echo "@@RUN-IN-HOST-BEGIN@@"
    # Through a pipe, as when run-in-host's output is captured: stdout is
    # not a terminal, stderr is interleaved in write order.
    # shellcheck disable=SC3040  # busybox ash has pipefail
    set -o pipefail
    "$@" </dev/null 2>&1 | cat
    status=$?
    printf '\n@@RUN-IN-HOST-STATUS %d@@\n' "$status"
    finish
}

main
