# debug.gdb - with the gdbtarget guest stopped before its first instruction.
break compute
continue
print x
print/x $rdi = 20
print seed
delete
set $before = $pc
stepi
printf "stepped-to "
x/i $pc
printf "rip-moved %d\n", $pc != $before
continue
