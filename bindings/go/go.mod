module libvmm.dev/vmm

go 1.19
