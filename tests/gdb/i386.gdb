# i386.gdb - with the Multiboot guest stopped before its first instruction.
show architecture
printf "eax-magic 0x%x\n", $eax
kill
