/* load.c - vmm_load_elf and vmm_load_elf_buffer: read the image, check its
 * ELF identification and header, and hand it to the ELF64 or Multiboot
 * loader. Nothing in the image is trusted. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/loaders/loader.h"

static pthread_once_t libelf_once = PTHREAD_ONCE_INIT;
static bool libelf_ready;

static void libelf_init(void)
{
	libelf_ready = elf_version(EV_CURRENT) != EV_NONE;
}

static int not_elf(const uint8_t *data, size_t len)
{
	uint8_t m[4] = { 0, 0, 0, 0 };

	memcpy(m, data, len < 4 ? len : 4);
	if (len == 0)
		return vmm__err(VMM_EBADIMAGE, "not an ELF file: the image is empty");
	return vmm__err(VMM_EBADIMAGE, "not an ELF file: bad magic %02x %02x %02x %02x "
			"(expected 7f 45 4c 46 \"\\177ELF\") and no Multiboot header with "
			"load addresses", m[0], m[1], m[2], m[3]);
}

/* e_ident checks that need no libelf. */
static int check_ident(const uint8_t *d, size_t len)
{
	size_t need;

	if (len < EI_NIDENT)
		return vmm__err(VMM_EBADIMAGE, "truncated ELF: the image is %zu bytes, "
				"shorter than the ELF identification (%d bytes)", len, EI_NIDENT);
	if (d[EI_CLASS] != ELFCLASS32 && d[EI_CLASS] != ELFCLASS64)
		return vmm__err(VMM_EBADIMAGE, "unsupported ELF class %u (expected 1 for "
				"ELF32/Multiboot or 2 for ELF64)", d[EI_CLASS]);
	if (d[EI_DATA] != ELFDATA2LSB)
		return vmm__err(VMM_EBADIMAGE, "unsupported ELF data encoding %u (x86 "
				"images are little-endian, ELFDATA2LSB = 1)", d[EI_DATA]);
	if (d[EI_VERSION] != EV_CURRENT)
		return vmm__err(VMM_EBADIMAGE, "unsupported ELF version %u (expected 1)",
				d[EI_VERSION]);
	need = d[EI_CLASS] == ELFCLASS64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	if (len < need)
		return vmm__err(VMM_EBADIMAGE, "truncated ELF: the image is %zu bytes, "
				"shorter than the ELF%d header (%zu bytes)", len,
				d[EI_CLASS] == ELFCLASS64 ? 64 : 32, need);
	return 0;
}

static const char *type_name(unsigned type)
{
	switch (type) {
	case ET_REL: return " (ET_REL, a relocatable object)";
	case ET_DYN: return " (ET_DYN, a shared object or PIE)";
	case ET_CORE: return " (ET_CORE, a core dump)";
	default: return "";
	}
}

static int check_program_headers(const GElf_Ehdr *eh, int cls, size_t len)
{
	size_t entsize = cls == ELFCLASS64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	uint64_t size;

	if (eh->e_phnum == 0)
		return vmm__err(VMM_EBADIMAGE, "ELF image has no program headers, so no "
				"PT_LOAD segment to load");
	if (eh->e_phnum > VMM__BOOT_MAX_PHDRS)
		return vmm__err(VMM_EBADIMAGE, "ELF image claims %u program headers; at "
				"most %u are supported", eh->e_phnum, VMM__BOOT_MAX_PHDRS);
	if (eh->e_phentsize != entsize)
		return vmm__err(VMM_EBADIMAGE, "ELF program header size is %u bytes; "
				"expected %zu", eh->e_phentsize, entsize);
	size = (uint64_t)eh->e_phnum * entsize;
	if (eh->e_phoff > len || size > len - eh->e_phoff)
		return vmm__err(VMM_EBADIMAGE, "truncated ELF: program headers [0x%llx, "
				"+0x%llx) extend past the end of the file (0x%zx bytes)",
				(vmm__ull)eh->e_phoff, (vmm__ull)size, len);
	return 0;
}

static int check_header(Elf *elf, int cls, size_t len)
{
	unsigned machine = cls == ELFCLASS64 ? EM_X86_64 : EM_386;
	GElf_Ehdr eh;

	if (!gelf_getehdr(elf, &eh))
		return vmm__err(VMM_EBADIMAGE, "malformed ELF header (libelf: %s)",
				elf_errmsg(-1));
	if (eh.e_type != ET_EXEC)
		return vmm__err(VMM_EBADIMAGE, "ELF type %u%s is not supported: the guest "
				"must be a statically linked executable (ET_EXEC)", eh.e_type,
				type_name(eh.e_type));
	if (eh.e_machine != machine)
		return vmm__err(VMM_EBADIMAGE, "ELF%d machine %u is not %s (%u)",
				cls == ELFCLASS64 ? 64 : 32, eh.e_machine,
				cls == ELFCLASS64 ? "x86-64 (EM_X86_64)" : "i386 (EM_386)",
				machine);
	return check_program_headers(&eh, cls, len);
}

Elf *vmm__ldr_elf_memory(const uint8_t *data, size_t len)
{
	Elf *elf;

	pthread_once(&libelf_once, libelf_init);
	if (!libelf_ready) {
		vmm__err(VMM_EINTERNAL, "libelf: version mismatch (%s)", elf_errmsg(-1));
		return NULL;
	}
	elf = elf_memory((char *)data, len);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		vmm__err(VMM_EBADIMAGE, "malformed ELF image (libelf: %s)", elf_errmsg(-1));
		elf_end(elf);
		return NULL;
	}
	return elf;
}

static int load_elf_image(vmm_vm *vm, vmm__ldr_image *img)
{
	int cls = img->data[EI_CLASS], rc;
	Elf *elf;

	pthread_once(&libelf_once, libelf_init);
	if (!libelf_ready)
		return vmm__err(VMM_EINTERNAL, "libelf: version mismatch (%s)",
				elf_errmsg(-1));
	/* libelf reads the image in place; it only writes to it when converting
	 * byte order, and big-endian images were rejected above. */
	elf = elf_memory((char *)img->data, img->len);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		rc = vmm__err(VMM_EBADIMAGE, "malformed ELF image (libelf: %s)",
			      elf_errmsg(-1));
		goto out;
	}
	rc = check_header(elf, cls, img->len);
	if (rc == 0 && cls == ELFCLASS64)
		rc = vmm__load_elf64(vm, elf, img);
	else if (rc == 0 && !vmm__mb_has_header(img->data, img->len))
		rc = vmm__err(VMM_EBADIMAGE, "32-bit ELF image without a Multiboot v1 "
			      "header (magic 0x1BADB002) in its first %u bytes: 32-bit "
			      "images are booted only through Multiboot", VMM__MB_SEARCH);
	else if (rc == 0)
		rc = vmm__load_multiboot(vm, elf, img);
out:
	elf_end(elf);
	return rc;
}

static int check_args(const char *fn, vmm_vm *vm, const char *cmdline)
{
	size_t n;

	if (!vm)
		return vmm__err(VMM_EINVAL, "%s: vm is NULL", fn);
	if (!cmdline)
		return 0;
	n = strnlen(cmdline, VMM__BOOT_CMDLINE_MAX);
	if (n >= VMM__BOOT_CMDLINE_MAX)
		return vmm__err(VMM_EINVAL, "%s: cmdline is %zu bytes or longer; at most %u "
				"are supported", fn, n, VMM__BOOT_CMDLINE_MAX - 1);
	return 0;
}

static int load_image(vmm_vm *vm, const uint8_t *data, size_t len, const char *cmdline)
{
	vmm__ldr_image *img = calloc(1, sizeof(*img));
	int rc;

	if (!img)
		return vmm__err(VMM_ENOMEM, "vmm_load_elf: out of memory");
	img->data = data;
	img->len = len;
	img->ram = vm->config.mem_size;
	img->limit = UINT64_MAX;
	img->what = "ELF";
	img->cmdline = cmdline;
	img->vcpus = vm->config.vcpus;
	if (len >= SELFMAG && memcmp(data, ELFMAG, SELFMAG) == 0) {
		rc = check_ident(data, len);
		if (rc == 0)
			rc = load_elf_image(vm, img);
	} else if (vmm__mb_has_header(data, len)) {
		rc = vmm__load_multiboot(vm, NULL, img);
	} else {
		rc = not_elf(data, len);
	}
	free(img);
	return rc;
}

VMM_API int vmm_load_elf_buffer(vmm_vm *vm, const void *image, size_t len,
				const char *cmdline)
{
	int rc = check_args("vmm_load_elf_buffer", vm, cmdline);

	if (rc)
		return rc;
	if (!image && len)
		return vmm__err(VMM_EINVAL, "vmm_load_elf_buffer: image is NULL");
	return load_image(vm, image ? image : "", image ? len : 0, cmdline);
}

static int open_error(const char *path, int err)
{
	char msg[128] = "";

	if (strerror_r(err, msg, sizeof(msg)) != 0)
		msg[0] = '\0';
	return vmm__err(err == ENOENT ? VMM_ENOENT : VMM_EIO, "cannot read image '%.256s': "
			"%s", path, msg);
}

/* Reads the whole file; *out is malloc'ed. */
int vmm__ldr_read_file(const char *path, uint8_t **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int rc = 0;

	if (fd < 0)
		return open_error(path, errno);
	if (fstat(fd, &st) != 0) {
		rc = open_error(path, errno);
	} else if (!S_ISREG(st.st_mode)) {
		rc = vmm__err(VMM_EINVAL, "image '%.256s' is not a regular file", path);
	} else if ((uint64_t)st.st_size > VMM__BOOT_MAX_FILE) {
		rc = vmm__err(VMM_EBADIMAGE, "image '%.256s' is %llu bytes; images over "
			      "4 GiB are not supported", path, (vmm__ull)st.st_size);
	} else if (!(buf = malloc((size_t)st.st_size + 1))) {
		rc = vmm__err(VMM_ENOMEM, "out of memory reading image '%.256s'", path);
	}
	while (rc == 0 && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = open_error(path, errno);
		if (n <= 0)
			break;   /* the file shrank: load what is there */
		got += (size_t)n;
	}
	close(fd);
	if (rc)
		free(buf);
	*out = rc ? NULL : buf;
	*len = got;
	return rc;
}

VMM_API int vmm_load_elf(vmm_vm *vm, const char *path, const char *cmdline)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int rc = check_args("vmm_load_elf", vm, cmdline);

	if (rc)
		return rc;
	if (!path)
		return vmm__err(VMM_EINVAL, "vmm_load_elf: path is NULL");
	rc = vmm__ldr_read_file(path, &data, &len);
	if (rc)
		return rc;
	rc = load_image(vm, data, len, cmdline);
	free(data);
	return rc;
}
