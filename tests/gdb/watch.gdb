# watch.gdb - with the gdbtarget guest stopped before its first instruction.
watch counter
continue
continue
delete
continue
