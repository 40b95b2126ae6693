/* rtc.c - the MC146818 RTC and its CMOS RAM at ports 0x70 (index; bit 7
 * masks NMIs) and 0x71 (data). The time is the host's UTC clock: the guest
 * axis is CLOCK_MONOTONIC plus an offset taken from CLOCK_REALTIME when the
 * VM is made; a guest that sets the time moves only its own offset, and
 * keeps it. Modelled: time and alarm registers in BCD or binary and 12 or
 * 24 hours (register B), the century at 0x32, register A's divider (only
 * 010, 32.768 kHz, runs; 11x holds the chain in reset and the first update
 * comes 500 ms after release) and rate select, periodic, alarm and
 * update-ended interrupts on GSI 8 (raised when IRQF sets, lowered when
 * register C is read), UIP for the 244 us before each update, register D
 * VRT, and the RAM size bytes QEMU and SeaBIOS use, computed from the VM's
 * memory when read (0x15-0x18, 0x30-0x31, 0x34-0x35, 0x5b-0x5d, CPU count
 * 0x5f, checksum 0x2e-0x2f) unless the guest wrote them.
 * Not modelled: daylight saving (DSE), the square-wave pin (SQWE), the
 * 4.194304 and 1.048576 MHz time bases (treated as stopped), the 1984 us
 * update cycle itself (the new time is readable when UIP clears). Rates 1
 * and 2 act as 8 and 9 (256 and 128 Hz), as the datasheet's table for a
 * 32.768 kHz time base says. Flags of disabled interrupts are computed when
 * register C is read, so only enabled interrupts use the timer thread.
 * A time set outside 1698..2242 is clamped to that range. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/platform/acpi.h"
#include "lib/platform/platform.h"
#include "lib/platform/state.h"

#define NS 1000000000ll
#define RTC_HZ 32768
#define UIP_NS 244000ll
#define MAX_SECONDS (1ll << 33)
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d
#define CENTURY 0x32
#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_DM 0x04
#define B_24H 0x02
#define C_IRQF 0x80
#define C_PF 0x40
#define C_AF 0x20
#define C_UF 0x10

struct vmm__rtc {
	pthread_mutex_t lock;
	vmm_vm *vm;
	uint8_t cmos[128];
	uint8_t written[16];         /* bitmap: bytes the guest wrote */
	uint8_t index;
	bool nmi_masked;
	int64_t offset;              /* guest ns since 1970 = monotonic + offset */
	int64_t checked;             /* flags are accounted up to this guest ns */
	bool irq_level;
	vmm__timer periodic, update;
};

static int64_t guest_ns(const struct vmm__rtc *r, uint64_t mono)
{
	return (int64_t)mono + r->offset;
}

static bool divider_on(const struct vmm__rtc *r)
{
	return ((r->cmos[REG_A] >> 4) & 7) == 2;
}

/* Time registers follow the clock (and updates happen). */
static bool running(const struct vmm__rtc *r)
{
	return divider_on(r) && !(r->cmos[REG_B] & B_SET);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

/* ---- Register formats ------------------------------------------------------ */

static uint8_t enc(const struct vmm__rtc *r, unsigned v)
{
	return (r->cmos[REG_B] & B_DM) ? (uint8_t)v : (uint8_t)((v / 10) << 4 | v % 10);
}

static unsigned dec(const struct vmm__rtc *r, uint8_t v)
{
	return (r->cmos[REG_B] & B_DM) ? v : (v >> 4) * 10u + (v & 0xf);
}

static uint8_t enc_hour(const struct vmm__rtc *r, unsigned h)
{
	if (r->cmos[REG_B] & B_24H)
		return enc(r, h);
	return (uint8_t)(enc(r, h % 12 ? h % 12 : 12) | (h >= 12 ? 0x80 : 0));
}

static unsigned dec_hour(const struct vmm__rtc *r, uint8_t v)
{
	if (r->cmos[REG_B] & B_24H)
		return dec(r, v);
	return dec(r, v & 0x7f) % 12 + ((v & 0x80) ? 12 : 0);
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; m 1..12). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

/* Writes the time registers from guest second s. */
static void regs_from_time(struct vmm__rtc *r, int64_t s)
{
	time_t t = (time_t)s;
	struct tm tm;

	if (!gmtime_r(&t, &tm))
		return;
	r->cmos[0x00] = enc(r, (unsigned)tm.tm_sec % 60);
	r->cmos[0x02] = enc(r, (unsigned)tm.tm_min);
	r->cmos[0x04] = enc_hour(r, (unsigned)tm.tm_hour);
	r->cmos[0x06] = enc(r, (unsigned)tm.tm_wday + 1);
	r->cmos[0x07] = enc(r, (unsigned)tm.tm_mday);
	r->cmos[0x08] = enc(r, (unsigned)tm.tm_mon + 1);
	r->cmos[0x09] = enc(r, (unsigned)(tm.tm_year + 1900) % 100);
	r->cmos[CENTURY] = enc(r, (unsigned)(tm.tm_year + 1900) / 100 % 100);
}

/* The guest second the registers say (any byte values give some time). */
static int64_t time_from_regs(const struct vmm__rtc *r)
{
	unsigned mon = dec(r, r->cmos[0x08]), day = dec(r, r->cmos[0x07]);
	int64_t year = dec(r, r->cmos[CENTURY]) * 100ll + dec(r, r->cmos[0x09]);

	mon = mon < 1 ? 1 : mon > 12 ? 12 : mon;
	day = day < 1 ? 1 : day;
	return days_from_civil(year, mon, 1) * 86400 + (int64_t)(day - 1) * 86400 +
	       dec_hour(r, r->cmos[0x04]) * 3600ll + dec(r, r->cmos[0x02]) * 60ll +
	       dec(r, r->cmos[0x00]);
}

/* ---- Flags and the interrupt line ---------------------------------------- */

static unsigned period_ticks(const struct vmm__rtc *r)
{
	unsigned rs = r->cmos[REG_A] & 0xf;

	if (!rs)
		return 0;
	if (rs <= 2)
		rs += 7;
	return 1u << (rs - 1);
}

static int64_t ticks_of(int64_t g)
{
	return (int64_t)((__int128)g * RTC_HZ / NS) - ((__int128)g * RTC_HZ % NS < 0);
}

/* Alarm field: -1 don't care (11xxxxxx), else its value. */
static int alarm_field(const struct vmm__rtc *r, unsigned reg)
{
	uint8_t v = r->cmos[reg];

	if ((v & 0xc0) == 0xc0)
		return -1;
	return (int)(reg == 0x05 ? dec_hour(r, v) : dec(r, v));
}

/* The first second after s0, up to a day on, that the alarm matches, or
 * INT64_MAX (an alarm value no time has). */
static int64_t next_alarm(const struct vmm__rtc *r, int64_t s0)
{
	int as = alarm_field(r, 0x01), am = alarm_field(r, 0x03), ah = alarm_field(r, 0x05);
	int64_t x;

	for (x = s0 + 1; x <= s0 + 86401;) {
		int64_t sod = x - floor_div(x, 86400) * 86400;

		if (ah >= 0 && sod / 3600 != ah)
			x += 3600 - sod % 3600;
		else if (am >= 0 && sod / 60 % 60 != am)
			x += 60 - sod % 60;
		else if (as >= 0 && sod % 60 != as)
			x++;
		else
			return x;
	}
	return INT64_MAX;
}

/* Sets the flags of every event in (checked, g]; true when an alarm was
 * among them. */
static bool account(struct vmm__rtc *r, int64_t g)
{
	unsigned p = period_ticks(r);
	int64_t s0 = floor_div(r->checked, NS), s1 = floor_div(g, NS);
	bool alarm = false;

	if (g <= r->checked)
		return false;
	if (divider_on(r) && p &&
	    floor_div(ticks_of(g), p) > floor_div(ticks_of(r->checked), p))
		r->cmos[REG_C] |= C_PF;
	if (running(r) && s1 > s0) {
		r->cmos[REG_C] |= C_UF;
		if (next_alarm(r, s0) <= s1) {
			r->cmos[REG_C] |= C_AF;
			alarm = true;
		}
	}
	r->checked = g;
	return alarm;
}

static void update_irq(struct vmm__rtc *r)
{
	uint8_t c = r->cmos[REG_C], b = r->cmos[REG_B];
	bool irqf = (c & C_PF && b & B_PIE) || (c & C_AF && b & B_AIE) ||
		    (c & C_UF && b & B_UIE);

	if (irqf)
		r->cmos[REG_C] |= C_IRQF;
	if (irqf && !r->irq_level) {
		r->irq_level = true;
		vmm__irq_set(r->vm, 8, 1);
	}
}

static uint64_t mono_of(const struct vmm__rtc *r, int64_t g)
{
	int64_t m = g - r->offset;

	return m > 0 ? (uint64_t)m : 0;
}

/* Arms the timers of the enabled interrupts at their next events. */
static void rearm(struct vmm__rtc *r, uint64_t mono)
{
	int64_t g = guest_ns(r, mono);
	unsigned p = period_ticks(r);

	if ((r->cmos[REG_B] & B_PIE) && divider_on(r) && p) {
		int64_t k = (floor_div(ticks_of(g), p) + 1) * p;
		int64_t at = (int64_t)(((__int128)k * NS + RTC_HZ - 1) / RTC_HZ);

		vmm__timer_arm(r->vm, &r->periodic, mono_of(r, at));
	} else {
		vmm__timer_cancel(r->vm, &r->periodic);
	}
	if ((r->cmos[REG_B] & (B_UIE | B_AIE)) && running(r))
		vmm__timer_arm(r->vm, &r->update, mono_of(r, (floor_div(g, NS) + 1) * NS));
	else
		vmm__timer_cancel(r->vm, &r->update);
}

static void rtc_timer(void *opaque, uint64_t now)
{
	struct vmm__rtc *r = opaque;
	bool alarm;

	pthread_mutex_lock(&r->lock);
	alarm = account(r, guest_ns(r, now)) && (r->cmos[REG_B] & B_AIE);
	update_irq(r);
	rearm(r, now);
	pthread_mutex_unlock(&r->lock);
	if (alarm)
		vmm__acpi_rtc_alarm(r->vm);   /* RTC_STS; the S3 wake event */
}

/* ---- Setting the time ------------------------------------------------------ */

/* The clock stops following the registers: freeze them at the current time
 * and account the events up to now. */
static void stop_clock(struct vmm__rtc *r, int64_t g)
{
	account(r, g);
	regs_from_time(r, floor_div(g, NS));
}

/* The clock restarts from the registers. From a divider reset the first
 * update comes 500 ms later; otherwise the sub-second phase is kept. */
static void start_clock(struct vmm__rtc *r, uint64_t mono, bool from_reset)
{
	int64_t g = guest_ns(r, mono);
	int64_t frac = from_reset ? NS / 2 : g - floor_div(g, NS) * NS;
	int64_t s = time_from_regs(r);

	/* guest ns fit 64 bits for 1970 +- 292 years: clamp to 1698..2242 */
	s = s < -MAX_SECONDS ? -MAX_SECONDS : s > MAX_SECONDS ? MAX_SECONDS : s;
	r->offset = s * NS + frac - (int64_t)mono;
	r->checked = guest_ns(r, mono);
}

/* Register A or B changed from old_a/old_b: start or stop the clock. */
static void clock_transition(struct vmm__rtc *r, uint8_t old_a, uint8_t old_b,
			     uint64_t mono)
{
	uint8_t new_a = r->cmos[REG_A], new_b = r->cmos[REG_B];
	bool was = ((old_a >> 4) & 7) == 2 && !(old_b & B_SET);
	bool now = running(r);

	if (was && !now) {
		/* account and freeze with the old format and enables */
		r->cmos[REG_A] = old_a;
		r->cmos[REG_B] = old_b;
		stop_clock(r, guest_ns(r, mono));
		r->cmos[REG_A] = new_a;
		r->cmos[REG_B] = new_b;
	} else if (!was && now) {
		start_clock(r, mono, ((old_a >> 4) & 6) == 6);
	}
}

static void write_reg_b(struct vmm__rtc *r, uint8_t v, uint64_t mono)
{
	uint8_t old_a = r->cmos[REG_A], old_b = r->cmos[REG_B];

	if (v & B_SET)
		v &= (uint8_t)~B_UIE;        /* SET clears UIE */
	if (running(r))
		account(r, guest_ns(r, mono));
	r->cmos[REG_B] = v;
	clock_transition(r, old_a, old_b, mono);
	update_irq(r);
}

static void write_reg_a(struct vmm__rtc *r, uint8_t v, uint64_t mono)
{
	uint8_t old_a = r->cmos[REG_A], old_b = r->cmos[REG_B];

	account(r, guest_ns(r, mono));
	r->cmos[REG_A] = v & 0x7f;           /* UIP is read-only */
	clock_transition(r, old_a, old_b, mono);
}

static bool is_time_reg(unsigned i)
{
	return i == 0x00 || i == 0x02 || (i >= 0x04 && i <= 0x09) || i == CENTURY;
}

static void write_time_reg(struct vmm__rtc *r, unsigned i, uint8_t v, uint64_t mono)
{
	if (!running(r)) {
		r->cmos[i] = v;              /* takes effect when SET clears */
		return;
	}
	stop_clock(r, guest_ns(r, mono));
	r->cmos[i] = v;
	start_clock(r, mono, false);
}

/* ---- Memory size bytes ------------------------------------------------------ */

static void ram_sizes(const vmm_vm *vm, uint64_t *below, uint64_t *above)
{
	const uint64_t G4 = 1ull << 32;

	*below = *above = 0;
	for (uint32_t i = 0; i < vm->nslots; i++) {
		const vmm__memslot *s = &vm->slots[i];
		uint64_t end = s->gpa + s->size;

		if (!(s->flags & VMM_MEM_WRITE))
			continue;            /* ROM is not RAM */
		if (s->gpa < G4)
			*below += (end < G4 ? end : G4) - s->gpa;
		if (end > G4)
			*above += end - (s->gpa > G4 ? s->gpa : G4);
	}
}

static unsigned clamp16(uint64_t v)
{
	return v > 0xffff ? 0xffff : (unsigned)v;
}

/* Fills the computed bytes (unless the guest wrote them). */
static void fill_sizes(struct vmm__rtc *r)
{
	uint64_t below, above, ext, over16;
	uint8_t v[128] = { 0 }, set[128] = { 0 };
	unsigned cpus = 0, sum = 0;

	ram_sizes(r->vm, &below, &above);
	for (unsigned i = 0; i < VMM_MAX_VCPUS; i++)
		cpus += r->vm->vcpus[i] != NULL;
	ext = clamp16(below > (1 << 20) ? (below >> 10) - 1024 : 0);
	over16 = clamp16(below > (16 << 20) ? (below - (16 << 20)) >> 16 : 0);
	v[0x15] = 0x80; v[0x16] = 0x02;                  /* 640 KiB */
	v[0x17] = v[0x30] = (uint8_t)ext;
	v[0x18] = v[0x31] = (uint8_t)(ext >> 8);
	v[0x34] = (uint8_t)over16; v[0x35] = (uint8_t)(over16 >> 8);
	v[0x5b] = (uint8_t)(above >> 16); v[0x5c] = (uint8_t)(above >> 24);
	v[0x5d] = (uint8_t)(above >> 32);
	v[0x5f] = (uint8_t)(cpus ? cpus - 1 : 0);
	for (unsigned i = 0x15; i <= 0x18; i++)
		set[i] = 1;
	set[0x30] = set[0x31] = set[0x34] = set[0x35] = 1;
	set[0x5b] = set[0x5c] = set[0x5d] = set[0x5f] = 1;
	for (unsigned i = 0; i < 128; i++)
		if (set[i] && !(r->written[i / 8] & (1u << (i % 8))))
			r->cmos[i] = v[i];
	for (unsigned i = 0x10; i <= 0x2d; i++)
		sum += r->cmos[i];
	if (!(r->written[0x2e / 8] & (3u << (0x2e % 8)))) {
		r->cmos[0x2e] = (uint8_t)(sum >> 8);
		r->cmos[0x2f] = (uint8_t)sum;
	}
}

/* ---- Ports ------------------------------------------------------------------ */

static uint8_t read_data(struct vmm__rtc *r, unsigned i, uint64_t mono)
{
	int64_t g = guest_ns(r, mono);
	uint8_t v;

	if (is_time_reg(i) && running(r))
		regs_from_time(r, floor_div(g, NS));
	switch (i) {
	case REG_A:
		return (uint8_t)(r->cmos[REG_A] |
				 (running(r) && NS - (g - floor_div(g, NS) * NS) <= UIP_NS
				  ? 0x80 : 0));
	case REG_C:
		account(r, g);
		update_irq(r);
		v = r->cmos[REG_C];
		r->cmos[REG_C] = 0;
		if (r->irq_level) {
			r->irq_level = false;
			vmm__irq_set(r->vm, 8, 0);
		}
		return v;
	case REG_D:
		return 0x80;                 /* VRT: the battery is fine */
	default:
		if ((i >= 0x15 && i <= 0x18) || (i >= 0x2e && i <= 0x35) ||
		    (i >= 0x5b && i <= 0x5f))
			fill_sizes(r);
		return r->cmos[i];
	}
}

static void write_data(struct vmm__rtc *r, unsigned i, uint8_t v, uint64_t mono)
{
	if (is_time_reg(i)) {
		write_time_reg(r, i, v, mono);
	} else if (i == REG_A) {
		write_reg_a(r, v, mono);
	} else if (i == REG_B) {
		write_reg_b(r, v, mono);
	} else if (i != REG_C && i != REG_D) {
		r->cmos[i] = v;
		r->written[i / 8] |= (uint8_t)(1u << (i % 8));
		if (i == 0x01 || i == 0x03 || i == 0x05)
			account(r, guest_ns(r, mono));   /* the old alarm up to now */
	}
	rearm(r, mono);
}

/* 0x70: index and NMI mask (write-only: reads 0xff); 0x71: data. A 2-byte
 * write at 0x70 (out dx, ax) writes the index, then the data. */
static int rtc_port(void *opaque, vmm_vcpu *vcpu, uint16_t port, uint8_t size,
		    uint8_t is_write, uint32_t *data)
{
	struct vmm__rtc *r = opaque;
	uint64_t mono = vmm__now_ns();
	uint32_t in = *data, out = 0;

	(void)vcpu;
	pthread_mutex_lock(&r->lock);
	for (unsigned b = 0; b < size && port + b <= 0x71; b++) {
		uint8_t v = (uint8_t)(in >> (8 * b));
		uint32_t got = 0xff;

		if (port + b == 0x70 && is_write) {
			r->index = v & 0x7f;
			r->nmi_masked = v & 0x80;
		} else if (port + b == 0x71 && is_write) {
			write_data(r, r->index, v, mono);
		} else if (port + b == 0x71) {
			got = read_data(r, r->index, mono);
		}
		out |= got << (8 * b);
	}
	if (!is_write)
		*data = out;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

bool vmm__rtc_nmi_masked(vmm_vm *vm)
{
	struct vmm__rtc *r = vm->platform ? vm->platform->rtc : NULL;
	bool masked;

	if (!r)
		return false;
	pthread_mutex_lock(&r->lock);
	masked = r->nmi_masked;
	pthread_mutex_unlock(&r->lock);
	return masked;
}

void vmm__rtc_fini(vmm_vm *vm)
{
	struct vmm__rtc *r = vm->platform->rtc;

	if (!r)
		return;
	vmm__timer_fini(vm, &r->periodic);
	vmm__timer_fini(vm, &r->update);
	vm->platform->rtc = NULL;
	pthread_mutex_destroy(&r->lock);
	free(r);
}

int vmm__rtc_init(vmm_vm *vm)
{
	struct vmm__rtc *r = calloc(1, sizeof(*r));
	struct timespec rt;
	uint64_t mono;

	if (!r)
		return vmm__err(VMM_ENOMEM, "rtc: out of memory");
	pthread_mutex_init(&r->lock, NULL);
	r->vm = vm;
	vmm__timer_init(&r->periodic, rtc_timer, r);
	vmm__timer_init(&r->update, rtc_timer, r);
	clock_gettime(CLOCK_REALTIME, &rt);
	mono = vmm__now_ns();
	r->offset = (int64_t)rt.tv_sec * NS + rt.tv_nsec - (int64_t)mono;
	r->checked = guest_ns(r, mono);
	r->cmos[REG_A] = 0x26;               /* 32.768 kHz, 1024 Hz */
	r->cmos[REG_B] = B_24H;              /* BCD, 24 hours */
	r->cmos[REG_D] = 0x80;
	vm->platform->rtc = r;
	return vmm__pio_register_internal(vm, 0x70, 2, rtc_port, r);
}

/* ---- Device state (state.h) --------------------------------------------------
 * The flags are accounted up to now first, so the record holds the CMOS
 * bytes, the guest's clock (guest ns since 1970 now) and the line. */

static int rtc_save(void *dev, vmm__sw *w)
{
	struct vmm__rtc *r = dev;
	uint64_t mono;

	pthread_mutex_lock(&r->lock);
	mono = vmm__now_ns();
	account(r, guest_ns(r, mono));
	update_irq(r);
	vmm__sw_bytes(w, r->cmos, sizeof(r->cmos));
	vmm__sw_bytes(w, r->written, sizeof(r->written));
	vmm__sw_u8(w, r->index);
	vmm__sw_bool(w, r->nmi_masked);
	vmm__sw_bool(w, r->irq_level);
	vmm__sw_time(w, (uint64_t)guest_ns(r, mono));
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static int rtc_load(void *dev, uint32_t version, vmm__sr *rd)
{
	struct vmm__rtc *r = dev;
	uint8_t cmos[128], written[16], index;
	bool nmi, irq;
	int64_t g;
	uint64_t mono;

	(void)version;
	vmm__sr_bytes(rd, "cmos", cmos, sizeof(cmos));
	vmm__sr_bytes(rd, "written", written, sizeof(written));
	index = (uint8_t)vmm__sr_max(rd, "index", 0x7f, 1);
	nmi = vmm__sr_bool(rd, "nmi_masked");
	irq = vmm__sr_bool(rd, "irq_level");
	g = (int64_t)vmm__sr_u64(rd, "guest_ns");
	vmm__sr_check(rd, !(cmos[REG_A] & 0x80), "cmos[0x0a]", "UIP is read-only");
	vmm__sr_check(rd, cmos[REG_D] == 0x80, "cmos[0x0d]", "VRT must be set");
	vmm__sr_check(rd, !(cmos[REG_C] & 0x0f) && (!irq || (cmos[REG_C] & C_IRQF)), "cmos[0x0c]",
		      "reserved bits, or the line up without IRQF");
	vmm__sr_check(rd, g > -MAX_SECONDS * NS && g < MAX_SECONDS * NS, "guest_ns",
		      "outside 1698..2242");
	if (!vmm__sr_apply(rd))
		return 0;
	pthread_mutex_lock(&r->lock);
	mono = vmm__now_ns();
	memcpy(r->cmos, cmos, sizeof(cmos));
	memcpy(r->written, written, sizeof(written));
	r->index = index;
	r->nmi_masked = nmi;
	r->irq_level = irq;
	r->offset = g - (int64_t)mono;
	r->checked = g;
	rearm(r, mono);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static const vmm__state_ops rtc_state = { 1, rtc_save, rtc_load };

int vmm__rtc_state_add(vmm_vm *vm, vmm__state_list *l)
{
	struct vmm__rtc *r = vm->platform ? vm->platform->rtc : NULL;

	return r ? vmm__state_add(l, "rtc", &rtc_state, r) : 0;
}
