/* monitor.c - an out-of-guest monitor on libvmm's introspection hooks
 * (vmm/introspect.h): it reports every page-table base change (CR3 write)
 * of the guest and blocks writes to a protected page by skipping the
 * writing instruction. The guest sees nothing of this but the write that
 * did not happen. See README.md.
 *
 * usage: monitor GUEST.elf [BACKEND]   (BACKEND default "emu") */
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <vmm.h>

typedef struct monitor {
	unsigned cr3_writes, blocked;
	uint64_t page;            /* guest-physical address of the protected page */
} monitor;

static uint32_t on_cr3(void *opaque, vmm_vcpu *vcpu, vmm_event *ev)
{
	monitor *m = opaque;

	m->cr3_writes++;
	printf("monitor: vCPU %u loads CR3 = 0x%llx at rip 0x%llx\n", ev->vcpu_index,
	       (unsigned long long)ev->value, (unsigned long long)ev->rip);
	return VMM_ACT_CONTINUE;
}

static uint32_t on_write(void *opaque, vmm_vcpu *vcpu, vmm_event *ev)
{
	monitor *m = opaque;

	m->blocked++;
	printf("monitor: blocked a write to the protected page (gpa 0x%llx, virtual 0x%llx) "
	       "at rip 0x%llx\n", (unsigned long long)ev->addr, (unsigned long long)ev->value,
	       (unsigned long long)ev->rip);
	return VMM_ACT_SKIP;   /* the instruction does not happen */
}

/* Virtual address of symbol name in the ELF file, or 0. */
static uint64_t symbol(const char *path, const char *name)
{
	int fd = open(path, O_RDONLY);
	Elf *e;
	Elf_Scn *scn = NULL;
	uint64_t addr = 0;

	if (fd < 0 || elf_version(EV_CURRENT) == EV_NONE || !(e = elf_begin(fd, ELF_C_READ, NULL)))
		return 0;
	while (!addr && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !(d = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; sh.sh_entsize && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *n;

			if (gelf_getsym(d, (int)i, &s) && (n = elf_strptr(e, sh.sh_link, s.st_name)) &&
			    !strcmp(n, name))
				addr = s.st_value;
		}
	}
	elf_end(e);
	close(fd);
	return addr;
}

static int watch(vmm_vm *vm, monitor *m, uint64_t va)
{
	vmm_hook_config cr3 = VMM_HOOK_CONFIG_INIT, page = VMM_HOOK_CONFIG_INIT;
	vmm_translation t;
	uint32_t id;

	if (vmm_virt_translate(vmm_vcpu_get(vm, 0), va, &t))
		return -1;
	m->page = t.gpa & ~0xfffull;
	printf("monitor: protecting the page of 'secret' (virtual 0x%llx, gpa 0x%llx)\n",
	       (unsigned long long)va, (unsigned long long)m->page);
	cr3.type = VMM_EV_CR_WRITE;
	cr3.index = 3;
	cr3.fn = on_cr3;
	cr3.opaque = m;
	page.type = VMM_EV_PAGE;
	page.addr = m->page;
	page.len = 4096;
	page.access = VMM_MEM_WRITE;
	page.fn = on_write;
	page.opaque = m;
	return vmm_hook_add(vm, &cr3, &id) || vmm_hook_add(vm, &page, &id) ? -1 : 0;
}

int main(int argc, char **argv)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_run_result res = VMM_RUN_RESULT_INIT;
	monitor m = { 0, 0, 0 };
	vmm_vm *vm = NULL;
	uint64_t va;

	if (argc < 2 || argc > 3)
		return fprintf(stderr, "usage: monitor GUEST.elf [BACKEND]\n"), 2;
	setvbuf(stdout, NULL, _IOLBF, 0);   /* in order with the guest's serial output */
	cfg.backend = argc == 3 ? argv[2] : "emu";
	va = symbol(argv[1], "secret");
	if (!va)
		return fprintf(stderr, "monitor: %s has no symbol 'secret'\n", argv[1]), 2;
	if (vmm_vm_create(&cfg, &vm) || vmm_uart_output(vm, 1, NULL, NULL) ||
	    vmm_load_elf(vm, argv[1], NULL) || watch(vm, &m, va) ||
	    vmm_vm_run(vm, NULL, &res)) {
		fprintf(stderr, "monitor: %s\n", vmm_last_error());
		vmm_vm_destroy(vm);
		return 1;
	}
	printf("monitor: the guest ended (%s, code %u): %u CR3 loads seen, %u writes blocked\n",
	       res.end == VMM_END_DEBUG_EXIT ? "debug exit" : res.message, res.code,
	       m.cr3_writes, m.blocked);
	vmm_vm_destroy(vm);
	return res.end == VMM_END_DEBUG_EXIT && res.code == 0 && m.blocked == 1 ? 0 : 1;
}
