package vmm_test

// Go implementations of the conformance runner's test devices, written from
// their specification in tests/guests/testdev.h: the pio and mmio guests
// check every value they read from them.

import (
	"sync"

	"libvmm.dev/vmm"
)

const (
	pioBase  = 0x500
	mmioBase = 0xd0000000
	mmioLen  = 0x1000
	xorArea  = 0x800
	xorEnd   = 0xf00
	regCount = 0xf00
	regLast  = 0xf08
	regID    = 0xf10
	idValue  = 0x4d4d494f54455354
)

func mask32(size uint8) uint32 {
	if size >= 4 {
		return ^uint32(0)
	}
	return 1<<(8*size) - 1
}

type portDev struct {
	mu                     sync.Mutex
	data, seqN, sum, count uint32
}

func (d *portDev) access(port uint16, size uint8, write bool, v uint32) (uint32, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case port < pioBase+4:
		if int(port)+int(size) > pioBase+4 {
			return 0, vmm.ErrInval
		}
		shift := uint32(port-pioBase) * 8
		mask := mask32(size) << shift
		if write {
			d.data = d.data&^mask | (v<<shift)&mask
			return 0, nil
		}
		return ((d.data ^ 0x5a5a5a5a) & mask) >> shift, nil
	case port == pioBase+4 && write:
		d.sum = (d.sum*31 + v&mask32(size)) & 0xffff
		d.count++
	case port == pioBase+4:
		n := d.seqN
		d.seqN++
		return (n*0x9e3779b1 + 0x01234567) & mask32(size), nil
	case port == pioBase+6 && write:
		d.seqN, d.sum, d.count = 0, 0, 0
	case port == pioBase+6 && size == 2:
		return d.sum, nil
	case port == pioBase+7 && !write && size == 1:
		return d.count & 0xff, nil
	default:
		return 0, vmm.ErrInval
	}
	return 0, nil
}

func (d *portDev) ReadPort(_ uint32, port uint16, size uint8) (uint32, error) {
	return d.access(port, size, false, 0)
}

func (d *portDev) WritePort(_ uint32, port uint16, size uint8, v uint32) error {
	_, err := d.access(port, size, true, v)
	return err
}

type mmioDev struct {
	mu          sync.Mutex
	mem         [xorEnd]byte
	count, last uint64
}

func newMMIODev() *mmioDev {
	d := &mmioDev{}
	for i := 0; i < xorArea; i++ {
		d.mem[i] = byte(i*13 + 7)
	}
	return d
}

func (d *mmioDev) access(addr uint64, size uint8, write bool, v uint64) (uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	off := addr - mmioBase
	inXor := off >= xorArea && off < xorEnd
	end := uint64(xorArea)
	if inXor {
		end = xorEnd
	}
	var out uint64
	switch {
	case off < xorEnd && off+uint64(size) > end:
		return 0, vmm.ErrInval
	case off >= xorEnd:
		if size != 8 {
			return 0, vmm.ErrInval
		}
		if write && off != regID {
			return 0, vmm.ErrInval
		}
		switch off {
		case regCount:
			out = d.count
		case regLast:
			out = d.last
		case regID:
			out = idValue
		default:
			return 0, vmm.ErrInval
		}
		if off != regID {
			return out, nil // COUNT and LAST reads are not counted
		}
	case write:
		for i := uint64(0); i < uint64(size); i++ {
			d.mem[off+i] = byte(v >> (8 * i))
		}
	default:
		for i := int(size) - 1; i >= 0; i-- {
			b := d.mem[off+uint64(i)]
			if inXor {
				b ^= 0xa5
			}
			out = out<<8 | uint64(b)
		}
	}
	d.count++
	w := uint64(0)
	if write {
		w = 1
	}
	d.last = off<<16 | uint64(size)<<8 | w
	return out, nil
}

func (d *mmioDev) ReadMMIO(_ uint32, addr uint64, size uint8) (uint64, error) {
	return d.access(addr, size, false, 0)
}

func (d *mmioDev) WriteMMIO(_ uint32, addr uint64, size uint8, v uint64) error {
	_, err := d.access(addr, size, true, v)
	return err
}
