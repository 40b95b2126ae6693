# linux.gdb - break in Debian's cloud kernel at start_kernel (symbols from
# its System.map: tests/gdb/sysmap-to-elf), read linux_banner, stop the
# guest. run-gdb-linux makes the hbreak variant by replacing "break ".
set print elements 0
break start_kernel
continue
printf "pc-at 0x%lx\n", $pc
info registers rip
x/s &linux_banner
kill
