/* loader_fixture.h - shared by the loader unit tests: a fake backend that
 * records what the loaders set, and builders of small ELF images. */
#ifndef TEST_LOADER_FIXTURE_H
#define TEST_LOADER_FIXTURE_H

#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "lib/internal.h"

/* ---- Fake backend ---------------------------------------------------------- */
typedef struct fake_vcpu {
	vmm_regs regs;
	vmm_sregs sregs;
	int set_regs_calls, set_sregs_calls;
} fake_vcpu;

static inline void fake_probe(vmm_backend_info *info)
{
	info->usable = 1;
}
static inline int fake_vm_create(vmm_vm *vm) { return 0; }
static inline int fake_vcpu_create(vmm_vcpu *vcpu)
{
	fake_vcpu *f = calloc(1, sizeof(*f));

	if (!f)
		return VMM_ENOMEM;
	f->sregs.apic_base = 0xfee00900;   /* must survive the loader */
	f->regs.rip = 0xfff0;
	vcpu->backend_priv = f;
	return 0;
}
static inline void fake_vcpu_destroy(vmm_vcpu *vcpu) { free(vcpu->backend_priv); }
static inline fake_vcpu *fake_of(vmm_vm *vm, uint32_t i)
{
	vmm_vcpu *v = vmm_vcpu_get(vm, i);

	return v ? v->backend_priv : NULL;
}
static inline int fake_get_regs(vmm_vcpu *v, vmm_regs *r)
{
	*r = ((fake_vcpu *)v->backend_priv)->regs;
	return 0;
}
static inline int fake_set_regs(vmm_vcpu *v, const vmm_regs *r)
{
	((fake_vcpu *)v->backend_priv)->regs = *r;
	((fake_vcpu *)v->backend_priv)->set_regs_calls++;
	return 0;
}
static inline int fake_get_sregs(vmm_vcpu *v, vmm_sregs *s)
{
	*s = ((fake_vcpu *)v->backend_priv)->sregs;
	return 0;
}
static inline int fake_set_sregs(vmm_vcpu *v, const vmm_sregs *s)
{
	((fake_vcpu *)v->backend_priv)->sregs = *s;
	((fake_vcpu *)v->backend_priv)->set_sregs_calls++;
	return 0;
}
static inline int fake_run(vmm_vcpu *v, vmm_exit *e) { return VMM_ENOTSUP; }
static inline void fake_kick(vmm_vcpu *v) { }

static const vmm__backend_ops fake_ops = {
	.version = VMM__BACKEND_OPS_VERSION, .name = "fake", .probe = fake_probe,
	.vm_create = fake_vm_create, .vcpu_create = fake_vcpu_create,
	.vcpu_destroy = fake_vcpu_destroy, .get_regs = fake_get_regs,
	.set_regs = fake_set_regs, .get_sregs = fake_get_sregs,
	.set_sregs = fake_set_sregs, .run = fake_run, .kick = fake_kick,
};

static inline vmm_vm *fake_vm(uint64_t mem, uint32_t vcpus)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_vm *vm = NULL;

	cfg.mem_size = mem;
	cfg.vcpus = vcpus;
	cfg.flags = VMM_VM_NO_DEBUG_EXIT;
	if (vmm__vm_create_with_ops(&cfg, &fake_ops, &vm) != 0)
		return NULL;
	return vm;
}

static inline uint64_t peek64(vmm_vm *vm, uint64_t gpa)
{
	uint64_t v = 0xdeadbeefdeadbeefull;

	vmm_mem_read(vm, gpa, &v, sizeof(v));
	return v;
}

static inline uint32_t peek32(vmm_vm *vm, uint64_t gpa)
{
	uint32_t v = 0xdeadbeef;

	vmm_mem_read(vm, gpa, &v, sizeof(v));
	return v;
}

/* ---- Image builders ---------------------------------------------------------- */
#define IMG_CAP      0x10000u
#define IMG_DATA     0x1000u     /* segment data starts here in the file */
#define IMG_MAXPH    16

typedef struct test_img {
	uint8_t data[IMG_CAP];
	size_t len;            /* file length */
	size_t next;           /* next free data offset */
	int is64;
} test_img;

static inline Elf64_Ehdr *eh64(test_img *t) { return (Elf64_Ehdr *)t->data; }
static inline Elf32_Ehdr *eh32(test_img *t) { return (Elf32_Ehdr *)t->data; }
static inline Elf64_Phdr *ph64(test_img *t, int i)
{
	return (Elf64_Phdr *)(t->data + sizeof(Elf64_Ehdr)) + i;
}
static inline Elf32_Phdr *ph32(test_img *t, int i)
{
	return (Elf32_Phdr *)(t->data + sizeof(Elf32_Ehdr)) + i;
}

static inline void img_ident(test_img *t, int cls)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->data, ELFMAG, SELFMAG);
	t->data[EI_CLASS] = (uint8_t)cls;
	t->data[EI_DATA] = ELFDATA2LSB;
	t->data[EI_VERSION] = EV_CURRENT;
	t->next = IMG_DATA;
	t->len = IMG_DATA;
	t->is64 = cls == ELFCLASS64;
}

static inline void elf64_init(test_img *t, uint64_t entry)
{
	img_ident(t, ELFCLASS64);
	eh64(t)->e_type = ET_EXEC;
	eh64(t)->e_machine = EM_X86_64;
	eh64(t)->e_version = EV_CURRENT;
	eh64(t)->e_entry = entry;
	eh64(t)->e_phoff = sizeof(Elf64_Ehdr);
	eh64(t)->e_ehsize = sizeof(Elf64_Ehdr);
	eh64(t)->e_phentsize = sizeof(Elf64_Phdr);
}

static inline void elf32_init(test_img *t, uint32_t entry)
{
	img_ident(t, ELFCLASS32);
	eh32(t)->e_type = ET_EXEC;
	eh32(t)->e_machine = EM_386;
	eh32(t)->e_version = EV_CURRENT;
	eh32(t)->e_entry = entry;
	eh32(t)->e_phoff = sizeof(Elf32_Ehdr);
	eh32(t)->e_ehsize = sizeof(Elf32_Ehdr);
	eh32(t)->e_phentsize = sizeof(Elf32_Phdr);
}

/* Appends a program header whose data (filesz bytes of src, or a pattern
 * when src is NULL) goes at the next free file offset. Returns its index. */
static inline int img_seg(test_img *t, uint32_t type, uint32_t flags, uint64_t paddr,
			  uint64_t vaddr, const void *src, uint64_t filesz, uint64_t memsz)
{
	int i = t->is64 ? eh64(t)->e_phnum++ : eh32(t)->e_phnum++;
	uint64_t off = t->next;

	if (off + filesz > IMG_CAP)
		abort();
	for (uint64_t b = 0; b < filesz; b++)
		t->data[off + b] = src ? ((const uint8_t *)src)[b] : (uint8_t)(0x11 + b);
	t->next = (off + filesz + 15) & ~15ull;
	if (t->next > t->len)
		t->len = t->next;
	if (t->is64)
		*ph64(t, i) = (Elf64_Phdr){ .p_type = type, .p_flags = flags,
			.p_offset = off, .p_vaddr = vaddr, .p_paddr = paddr,
			.p_filesz = filesz, .p_memsz = memsz, .p_align = 0x1000 };
	else
		*ph32(t, i) = (Elf32_Phdr){ .p_type = type, .p_flags = flags,
			.p_offset = (uint32_t)off, .p_vaddr = (uint32_t)vaddr,
			.p_paddr = (uint32_t)paddr, .p_filesz = (uint32_t)filesz,
			.p_memsz = (uint32_t)memsz, .p_align = 0x1000 };
	return i;
}

static inline int has(const char *needle)
{
	return strstr(vmm_last_error(), needle) != NULL;
}

/* call must fail with code and a last-error message containing word. */
#define EXPECT_FAIL(call, code, word)                                           \
	do {                                                                    \
		int rc_ = (call);                                               \
		if (rc_ != (code) || !has(word))                                \
			fail_msg("rc %d (want %d), message '%s' (want '%s')",  \
				 rc_, (code), vmm_last_error(), (word));        \
	} while (0)

/* Loads image t into a fresh fake VM; keeps the VM in *out if out. */
static inline int load(test_img *t, uint64_t mem, uint32_t vcpus, const char *cmdline,
		       vmm_vm **out)
{
	vmm_vm *vm = fake_vm(mem, vcpus);
	int rc;

	assert_non_null(vm);
	rc = vmm_load_elf_buffer(vm, t->data, t->len, cmdline);
	if (out)
		*out = vm;
	else
		vmm_vm_destroy(vm);
	return rc;
}

#endif
