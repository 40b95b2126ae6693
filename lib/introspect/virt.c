/* virt.c - guest memory by virtual address through the vCPU's own paging
 * mode (arch/x86/paging.c, without A/D updates), and the register families
 * beyond vmm_regs: MSRs, FPU/SSE, the guest's debug registers. */
#include <string.h>

#include "arch/x86/msr.h"
#include "arch/x86/paging.h"
#include "arch/x86/x86.h"
#include "lib/introspect/ix.h"

static void *pte_ptr(void *opaque, uint64_t gpa)
{
	return vmm__gpa_to_hva(opaque, gpa, 4);
}

static int translate(vmm_vcpu *vcpu, uint64_t va, vmm_translation *out, const char *fn)
{
	vmm_sregs s;
	vmm__x86_walk_env env;
	vmm__x86_walk_result w;
	int rc;

	if (!vcpu || !out)
		return vmm__err(VMM_EINVAL, "%s: vcpu or out is NULL", fn);
	if (!vcpu->vm->ops->get_sregs || (rc = vcpu->vm->ops->get_sregs(vcpu, &s)) != 0)
		return vmm__err(VMM_ENOTSUP, "%s: cannot read the vCPU's control registers", fn);
	if ((s.efer & X86_EFER_LMA) && !vmm__x86_canonical(va))
		return vmm__err(VMM_ENOENT, "%s: 0x%llx is not canonical", fn,
				(unsigned long long)va);
	env = (vmm__x86_walk_env){ s.cr0, s.cr3, s.cr4, s.efer, pte_ptr, vcpu->vm, 0, 0 };
	memset(&w, 0, sizeof(w));
	rc = vmm__x86_walk(&env, va, VMM__X86_ACC_NO_AD | VMM__X86_ACC_AC, &w);  /* no SMAP */
	if (rc == VMM__X86_WALK_BAD_TABLE)
		return vmm__err(VMM_ENOENT, "%s: the page table at gpa 0x%llx (for 0x%llx) "
				"is not in guest RAM", fn, (unsigned long long)w.bad_gpa,
				(unsigned long long)va);
	if (rc)
		return vmm__err(VMM_ENOENT, "%s: 0x%llx is not mapped (#PF error code 0x%x)",
				fn, (unsigned long long)va, w.pfec);
	out->gpa = w.gpa;
	out->page_size = w.page_mask ? ~w.page_mask + 1 : 4096;
	out->perms = VMM_MEM_READ | (w.writable ? VMM_MEM_WRITE : 0) |
		     (w.exec ? VMM_MEM_EXEC : 0);
	out->user = w.user;
	return 0;
}

VMM_API int vmm_virt_translate(vmm_vcpu *vcpu, uint64_t va, vmm_translation *out)
{
	return translate(vcpu, va, out, "vmm_virt_translate");
}

static int copy(vmm_vcpu *vcpu, uint64_t va, uint8_t *buf, size_t len, int write,
		const char *fn)
{
	if (!vcpu || (!buf && len))
		return vmm__err(VMM_EINVAL, "%s: vcpu or buf is NULL", fn);
	while (len) {
		vmm_translation t;
		size_t n = 4096 - (va & 0xfff);
		uint8_t *p;
		int rc = translate(vcpu, va, &t, fn);

		if (rc)
			return rc;
		if (n > len)
			n = len;
		p = vmm__gpa_to_hva(vcpu->vm, t.gpa, n);
		if (!p)
			return vmm__err(VMM_ERANGE, "%s: 0x%llx is gpa 0x%llx, not guest RAM",
					fn, (unsigned long long)va, (unsigned long long)t.gpa);
		if (write) {
			memcpy(p, buf, n);
			if (vcpu->vm->ops->mem_written)
				vcpu->vm->ops->mem_written(vcpu->vm, t.gpa, n);
		} else {
			memcpy(buf, p, n);
		}
		buf += n;
		va += n;
		len -= n;
	}
	return 0;
}

VMM_API int vmm_virt_read(vmm_vcpu *vcpu, uint64_t va, void *buf, size_t len)
{
	return copy(vcpu, va, buf, len, 0, "vmm_virt_read");
}

VMM_API int vmm_virt_write(vmm_vcpu *vcpu, uint64_t va, const void *buf, size_t len)
{
	return copy(vcpu, va, (uint8_t *)(uintptr_t)buf, len, 1, "vmm_virt_write");
}

/* ---- Registers ----------------------------------------------------------- */

static int reg_op(vmm_vcpu *vcpu, const void *arg, const void *op, const char *fn)
{
	if (!vcpu || !arg)
		return vmm__err(VMM_EINVAL, "%s: vcpu or its argument is NULL", fn);
	if (!op)
		return vmm__err(VMM_ENOTSUP, "%s: backend %s cannot do it", fn,
				vcpu->vm->backend_name);
	return 0;
}

VMM_API int vmm_vcpu_get_msr(vmm_vcpu *vcpu, uint32_t msr, uint64_t *value)
{
	int rc = reg_op(vcpu, value, vcpu ? (void *)vcpu->vm->ops->get_msr : NULL,
			"vmm_vcpu_get_msr");

	return rc ? rc : vcpu->vm->ops->get_msr(vcpu, msr, value);
}

VMM_API int vmm_vcpu_set_msr(vmm_vcpu *vcpu, uint32_t msr, uint64_t value)
{
	int rc = reg_op(vcpu, &value, vcpu ? (void *)vcpu->vm->ops->set_msr : NULL,
			"vmm_vcpu_set_msr");

	return rc ? rc : vcpu->vm->ops->set_msr(vcpu, msr, value);
}

VMM_API int vmm_vcpu_get_fpu(vmm_vcpu *vcpu, vmm_fpu *fpu)
{
	int rc = reg_op(vcpu, fpu, vcpu ? (void *)vcpu->vm->ops->get_fpu : NULL,
			"vmm_vcpu_get_fpu");

	return rc ? rc : vcpu->vm->ops->get_fpu(vcpu, fpu);
}

VMM_API int vmm_vcpu_set_fpu(vmm_vcpu *vcpu, const vmm_fpu *fpu)
{
	int rc = reg_op(vcpu, fpu, vcpu ? (void *)vcpu->vm->ops->set_fpu : NULL,
			"vmm_vcpu_set_fpu");

	return rc ? rc : vcpu->vm->ops->set_fpu(vcpu, fpu);
}

VMM_API int vmm_vcpu_get_dregs(vmm_vcpu *vcpu, vmm_dregs *dregs)
{
	int rc = reg_op(vcpu, dregs, vcpu ? (void *)vcpu->vm->ops->get_dregs : NULL,
			"vmm_vcpu_get_dregs");

	return rc ? rc : vcpu->vm->ops->get_dregs(vcpu, dregs);
}
