/* vmm/fw_cfg.h - QEMU-compatible firmware configuration device (included by
 * vmm.h).
 *
 * A VM created with VMM_VM_FW_CFG has QEMU's fw_cfg at ports 0x510 (selector,
 * 16-bit write) and 0x511 (data, byte reads), so firmware and test suites
 * written for QEMU read it unchanged. Items: signature "QEMU" (0x00), ID
 * (0x01: 1, the port interface; no DMA), UUID (0x02, zeros), RAM size (0x03,
 * u64), vCPU count (0x05, u16), maximum vCPUs (0x0f, u16), the file directory
 * (0x19) and the named files added below (selectors from 0x20). Numbers are
 * little-endian; the directory is big-endian, as in QEMU. Reads past the end
 * of an item or of an unknown selector return 0.
 *
 * Thread safety: vmm_fw_cfg_add_file may be called from any thread, also
 * while vCPUs run (a guest then sees the file from its next directory read).
 */
#ifndef VMM_FW_CFG_H
#define VMM_FW_CFG_H

#ifndef VMM_H
#error "include <vmm.h>, not <vmm/fw_cfg.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define VMM_FW_CFG_MAX_FILES 64        /* files per VM */
#define VMM_FW_CFG_NAME_MAX 55         /* bytes of a name, without the NUL */
#define VMM_FW_CFG_FILE_MAX (64u << 20) /* bytes of one file */

/* Adds the named file (e.g. "etc/my-table"), copying len bytes of data
 * (data may be NULL when len is 0). VMM_ESTATE without VMM_VM_FW_CFG;
 * VMM_EINVAL for an empty name, one longer than VMM_FW_CFG_NAME_MAX or a
 * file over VMM_FW_CFG_FILE_MAX; VMM_EEXIST if the name is taken; VMM_ENOMEM
 * past VMM_FW_CFG_MAX_FILES files or out of memory. */
VMM_API int vmm_fw_cfg_add_file(vmm_vm *vm, const char *name, const void *data,
				size_t len);

#ifdef __cplusplus
}
#endif
#endif /* VMM_FW_CFG_H */
