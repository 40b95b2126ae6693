/* embed.c - the smallest useful embedding of libvmm (quoted in README.md):
 * run an ELF guest on the default backend with its serial output on stdout. */
#include <stdio.h>
#include <vmm.h>

int main(int argc, char **argv)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;    /* 1 vCPU, 64 MiB, backend "auto" */
	vmm_run_result res = VMM_RUN_RESULT_INIT;
	vmm_vm *vm = NULL;

	if (argc != 2)
		return fprintf(stderr, "usage: embed GUEST.elf\n"), 2;
	if (vmm_vm_create(&cfg, &vm) || vmm_uart_output(vm, 1, NULL, NULL) ||
	    vmm_load_elf(vm, argv[1], NULL) || vmm_vm_run(vm, NULL, &res))
		return fprintf(stderr, "embed: %s\n", vmm_last_error()), 1;
	vmm_vm_destroy(vm);
	return res.end == VMM_END_DEBUG_EXIT ? (int)res.code : 0;
}
