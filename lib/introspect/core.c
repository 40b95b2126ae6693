/* core.c - a guest memory dump as an ELF64 core file that gdb reads: one
 * PT_LOAD per RAM slot (virtual = physical address: right for identity-
 * mapped guests; gdb then reads memory by guest-physical address) and, per
 * vCPU, NT_PRSTATUS (general registers, thread id = vCPU index + 1) and
 * NT_FPREGSET (x87/SSE in FXSAVE layout) notes. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/user.h>
#include <unistd.h>

#include "lib/introspect/ix.h"

#define NOTE_NAME "CORE"
#define NOTE_HDR (sizeof(Elf64_Nhdr) + 8)     /* header + "CORE\0" padded */

static size_t note_put(uint8_t *p, uint32_t type, const void *desc, size_t len)
{
	Elf64_Nhdr h = { sizeof(NOTE_NAME), (Elf64_Word)len, type };

	memcpy(p, &h, sizeof(h));
	memset(p + sizeof(h), 0, 8);
	memcpy(p + sizeof(h), NOTE_NAME, sizeof(NOTE_NAME));
	memcpy(p + NOTE_HDR, desc, len);
	return NOTE_HDR + ((len + 3) & ~(size_t)3);
}

static void prstatus(vmm_vcpu *vcpu, const vmm_regs *r, const vmm_sregs *s,
		     struct elf_prstatus *st)
{
	struct user_regs_struct *u = (struct user_regs_struct *)&st->pr_reg;

	memset(st, 0, sizeof(*st));
	st->pr_pid = (int)vcpu->index + 1;
	*u = (struct user_regs_struct){
		.r15 = r->r15, .r14 = r->r14, .r13 = r->r13, .r12 = r->r12, .rbp = r->rbp,
		.rbx = r->rbx, .r11 = r->r11, .r10 = r->r10, .r9 = r->r9, .r8 = r->r8,
		.rax = r->rax, .rcx = r->rcx, .rdx = r->rdx, .rsi = r->rsi, .rdi = r->rdi,
		.orig_rax = ~0ull, .rip = r->rip, .cs = s->cs.selector, .eflags = r->rflags,
		.rsp = r->rsp, .ss = s->ss.selector, .fs_base = s->fs.base,
		.gs_base = s->gs.base, .ds = s->ds.selector, .es = s->es.selector,
		.fs = s->fs.selector, .gs = s->gs.selector,
	};
}

static void fpregs(const vmm_fpu *f, struct user_fpregs_struct *x)
{
	memset(x, 0, sizeof(*x));
	x->cwd = f->fcw;
	x->swd = f->fsw;
	for (unsigned r = 0; r < 8; r++)   /* abridged tag: 1 = not empty */
		if (((f->ftw >> (2 * r)) & 3) != 3)
			x->ftw |= (uint16_t)(1u << r);
	x->fop = f->fop;
	x->rip = f->fip;
	x->rdp = f->fdp;
	x->mxcsr = f->mxcsr;
	x->mxcr_mask = 0xffff;
	for (unsigned i = 0; i < 8; i++)
		memcpy((uint8_t *)x->st_space + 16 * i, f->st[i], 10);
	memcpy(x->xmm_space, f->xmm, sizeof(f->xmm));
}

/* All notes of the VM into a malloc'ed buffer. */
static uint8_t *build_notes(vmm_vm *vm, size_t *len)
{
	size_t per = 2 * NOTE_HDR + sizeof(struct elf_prstatus) + sizeof(struct user_fpregs_struct) + 8;
	uint8_t *buf = calloc(VMM_MAX_VCPUS, per), *p = buf;

	if (!buf)
		return NULL;
	for (uint32_t i = 0; i < VMM_MAX_VCPUS; i++) {
		vmm_vcpu *v = vm->vcpus[i];
		vmm_regs r;
		vmm_sregs s;
		vmm_fpu f;
		struct elf_prstatus st;
		struct user_fpregs_struct x;

		if (!v || vm->ops->get_regs(v, &r) || vm->ops->get_sregs(v, &s))
			continue;
		prstatus(v, &r, &s, &st);
		p += note_put(p, NT_PRSTATUS, &st, sizeof(st));
		if (vm->ops->get_fpu && vm->ops->get_fpu(v, &f) == 0) {
			fpregs(&f, &x);
			p += note_put(p, NT_FPREGSET, &x, sizeof(x));
		}
	}
	*len = (size_t)(p - buf);
	return buf;
}

static int write_at(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int write_core(vmm_vm *vm, int fd, const uint8_t *notes, size_t nlen)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[1 + VMM__MAX_MEMSLOTS];
	uint32_t n = vm->nslots;
	off_t off = (off_t)sizeof(eh) + (off_t)((1 + n) * sizeof(Elf64_Phdr));

	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_CORE;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = (Elf64_Half)(1 + n);
	memset(ph, 0, sizeof(ph));
	ph[0] = (Elf64_Phdr){ PT_NOTE, 0, (Elf64_Off)off, 0, 0, nlen, 0, 4 };
	off = (off + (off_t)nlen + 4095) & ~(off_t)4095;
	for (uint32_t i = 0; i < n; i++) {
		const vmm__memslot *s = &vm->slots[i];

		ph[1 + i] = (Elf64_Phdr){ PT_LOAD, PF_R | PF_W | PF_X, (Elf64_Off)off, s->gpa,
					  s->gpa, s->size, s->size, 4096 };
		if (write_at(fd, s->hva, s->size, off))
			return -1;
		off += (off_t)s->size;
	}
	return write_at(fd, &eh, sizeof(eh), 0) || write_at(fd, ph, (1 + n) * sizeof(ph[0]),
							     sizeof(eh)) ||
	       write_at(fd, notes, nlen, (off_t)ph[0].p_offset) ? -1 : 0;
}

int vmm__core_dump(vmm_vm *vm, const char *path)
{
	size_t nlen = 0;
	uint8_t *notes;
	int fd, rc;

	notes = build_notes(vm, &nlen);
	if (!notes)
		return vmm__err(VMM_ENOMEM, "vmm_core_dump: out of memory");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(notes);
		return vmm__err(VMM_EIO, "vmm_core_dump: cannot create %s: %s", path,
				strerror(errno));
	}
	rc = write_core(vm, fd, notes, nlen);
	if (rc)
		rc = vmm__err(VMM_EIO, "vmm_core_dump: writing %s: %s", path, strerror(errno));
	if (close(fd) && !rc)
		rc = vmm__err(VMM_EIO, "vmm_core_dump: closing %s: %s", path, strerror(errno));
	free(notes);
	return rc;
}

VMM_API int vmm_core_dump(vmm_vm *vm, const char *path)
{
	if (!vm || !path)
		return vmm__err(VMM_EINVAL, "vmm_core_dump: vm or path is NULL");
	for (uint32_t i = 0; i < VMM_MAX_VCPUS; i++) {
		vmm_vcpu *v = vm->vcpus[i];

		if (v && atomic_load(&v->in_run) && !pthread_equal(v->thread, pthread_self()))
			return vmm__err(VMM_ESTATE, "vmm_core_dump: vCPU %u is running; stop or "
					"pause every vCPU first", i);
	}
	return vmm__core_dump(vm, path);
}
