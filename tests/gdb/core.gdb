# core.gdb - stop in compute(), write a core file with the stub's monitor
# command, stop the guest. The runner then opens the core in gdb.
break compute
continue
monitor core CORE_PATH
kill
