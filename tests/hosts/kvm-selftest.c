/* kvm-selftest: the smallest honest check that /dev/kvm runs guest code.
 *
 * Opens /dev/kvm, prints the API version, creates a VM with one page of guest
 * memory and one vCPU, runs six instructions of real-mode code and checks
 * every exit exactly:
 *
 *   0x1000: b0 41        mov  al, 0x41
 *   0x1002: e6 10        out  0x10, al        -> KVM_EXIT_IO out port 0x10 data 0x41
 *   0x1004: fe c0        inc  al
 *   0x1006: e6 10        out  0x10, al        -> KVM_EXIT_IO out port 0x10 data 0x42
 *   0x1008: bb ef be     mov  bx, 0xbeef
 *   0x100b: f4           hlt                  -> KVM_EXIT_HLT, rip 0x100c, bx 0xbeef
 *
 * Exit status 0 only if the exits, the data and the final registers are
 * exactly as listed; 1 otherwise, with the reason on stderr.
 * Static (gcc -static) so it runs inside a busybox-only test host.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define CODE_GPA  0x1000u
#define MEM_SIZE  0x2000u
#define TEST_PORT 0x10u

static const uint8_t guest_code[] = {
    0xb0, 0x41,       /* mov al, 0x41 */
    0xe6, 0x10,       /* out 0x10, al */
    0xfe, 0xc0,       /* inc al */
    0xe6, 0x10,       /* out 0x10, al */
    0xbb, 0xef, 0xbe, /* mov bx, 0xbeef */
    0xf4,             /* hlt */
};

struct vm {
    int kvm, vm, vcpu;
    struct kvm_run *run;
    uint8_t *mem;
};

static int fail(const char *what)
{
    fprintf(stderr, "kvm-selftest: FAIL: %s\n", what);
    return -1;
}

/* A system call failed: report it with errno. */
static int sysfail(const char *what)
{
    fprintf(stderr, "kvm-selftest: FAIL: %s: %s\n", what, strerror(errno));
    return -1;
}

static int open_kvm(struct vm *v)
{
    v->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (v->kvm < 0)
        return sysfail("open /dev/kvm");
    int api = ioctl(v->kvm, KVM_GET_API_VERSION, 0);
    printf("kvm-selftest: KVM API version %d\n", api);
    if (api != KVM_API_VERSION) {
        return fail("unexpected KVM API version");
    }
    return 0;
}

static int create_vm(struct vm *v)
{
    v->vm = ioctl(v->kvm, KVM_CREATE_VM, 0);
    if (v->vm < 0)
        return sysfail("KVM_CREATE_VM");
    v->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (v->mem == MAP_FAILED)
        return sysfail("mmap guest memory");
    memcpy(v->mem + CODE_GPA, guest_code, sizeof guest_code);
    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE,
        .userspace_addr = (uint64_t)(uintptr_t)v->mem,
    };
    if (ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return sysfail("KVM_SET_USER_MEMORY_REGION");
    return 0;
}

static int create_vcpu(struct vm *v)
{
    v->vcpu = ioctl(v->vm, KVM_CREATE_VCPU, 0);
    if (v->vcpu < 0)
        return sysfail("KVM_CREATE_VCPU");
    int size = ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size < (int)sizeof(struct kvm_run))
        return sysfail("KVM_GET_VCPU_MMAP_SIZE");
    v->run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu, 0);
    if (v->run == MAP_FAILED)
        return sysfail("mmap kvm_run");

    struct kvm_sregs sregs;
    if (ioctl(v->vcpu, KVM_GET_SREGS, &sregs) < 0)
        return sysfail("KVM_GET_SREGS");
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (ioctl(v->vcpu, KVM_SET_SREGS, &sregs) < 0)
        return sysfail("KVM_SET_SREGS");
    struct kvm_regs regs = { .rip = CODE_GPA, .rflags = 0x2 };
    if (ioctl(v->vcpu, KVM_SET_REGS, &regs) < 0)
        return sysfail("KVM_SET_REGS");
    return 0;
}

/* Runs the vCPU once and checks that it stopped with an "out" of one byte. */
static int expect_out(struct vm *v, uint8_t want)
{
    if (ioctl(v->vcpu, KVM_RUN, 0) < 0)
        return sysfail("KVM_RUN");
    struct kvm_run *r = v->run;
    if (r->exit_reason != KVM_EXIT_IO) {
        fprintf(stderr, "kvm-selftest: exit reason %u, want KVM_EXIT_IO (%u)\n",
                r->exit_reason, KVM_EXIT_IO);
        return fail("unexpected exit");
    }
    uint8_t data = *((uint8_t *)r + r->io.data_offset);
    printf("kvm-selftest: exit IO %s port 0x%x size %u count %u data 0x%02x\n",
           r->io.direction == KVM_EXIT_IO_OUT ? "out" : "in", r->io.port,
           r->io.size, r->io.count, data);
    if (r->io.direction != KVM_EXIT_IO_OUT || r->io.port != TEST_PORT ||
        r->io.size != 1 || r->io.count != 1 || data != want)
        return fail("I/O exit differs from expected");
    return 0;
}

static int expect_hlt(struct vm *v)
{
    if (ioctl(v->vcpu, KVM_RUN, 0) < 0)
        return sysfail("KVM_RUN");
    if (v->run->exit_reason != KVM_EXIT_HLT) {
        fprintf(stderr, "kvm-selftest: exit reason %u, want KVM_EXIT_HLT (%u)\n",
                v->run->exit_reason, KVM_EXIT_HLT);
        return fail("unexpected exit");
    }
    struct kvm_regs regs;
    if (ioctl(v->vcpu, KVM_GET_REGS, &regs) < 0)
        return sysfail("KVM_GET_REGS");
    printf("kvm-selftest: exit HLT rip 0x%llx bx 0x%llx\n",
           (unsigned long long)regs.rip, (unsigned long long)(regs.rbx & 0xffff));
    if (regs.rip != CODE_GPA + sizeof guest_code || (regs.rbx & 0xffff) != 0xbeef)
        return fail("registers after HLT differ from expected");
    return 0;
}

int main(void)
{
    struct vm v = { .kvm = -1, .vm = -1, .vcpu = -1 };
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* A vCPU that never exits must not hang the test host forever. */
    alarm(120);
    if (open_kvm(&v) || create_vm(&v) || create_vcpu(&v) ||
        expect_out(&v, 0x41) || expect_out(&v, 0x42) || expect_hlt(&v))
        return 1;
    printf("kvm-selftest: PASS\n");
    return 0;
}
