# interrupt.gdb - with the loop guest running (attaching stops it); the
# runner interrupts the continue below with SIGINT after a second.
set $c1 = loop_counter
continue
bt 1
printf "counter-moved %d\n", loop_counter != $c1
detach
