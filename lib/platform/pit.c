/* pit.c - the 8254 programmable interval timer at 0x40-0x43 and the
 * speaker/NMI status port 0x61. Three counters at 1.193182 MHz whose counts
 * are computed from the host clock when read; modes 0-5 (6, 7 alias 2, 3),
 * binary and BCD, LSB / MSB / LSB-then-MSB access, counter latch and the
 * read-back command. Counter 0 drives GSI 0: mode 0 raises the line at
 * terminal count (lowered by the next mode or count write), modes 2 and 3
 * pulse it once per period, modes 4 and 5 once at terminal count. Counter 0
 * and 1 gates are tied high; counter 2's gate is port 0x61 bit 0 and its
 * output reads back in bit 5. Bit 4 toggles every 15.085 us (refresh).
 *
 * Clamps (guest-chosen values must not load the host): counts of 1 in
 * modes 2 and 3 (illegal on the 8254) act as 2; interrupts from counter 0
 * come at most every PIT_MIN_IRQ_NS (the count read back still runs at
 * the programmed rate). Periods missed while the timer thread was not
 * scheduled follow half a period (at most 5 ms) apart; a host stall
 * longer than PIT_CATCHUP_NS drops them instead. */
#include <stdlib.h>

#include "lib/platform/platform.h"
#include "lib/platform/state.h"

#define PIT_HZ 1193182ull
#define PIT_MIN_IRQ_NS 100000ull     /* 10 kHz at most */
#define PIT_CATCHUP_NS 50000000ull
#define PIT_CATCHUP_GAP_NS 5000000ull
#define REFRESH_NS 15085ull

typedef struct pit_ch {
	uint8_t mode, bcd, rw;       /* rw: 1 LSB, 2 MSB, 3 LSB then MSB */
	uint8_t cw_mode;             /* as written (6, 7 read back as such) */
	bool write_msb, read_msb;    /* next byte of a 2-byte write / read */
	uint8_t write_lsb;
	uint32_t count;              /* reload, 1..65536 (BCD: ..10000) */
	bool gate;
	bool counting;               /* the counter is loaded and running */
	bool paused;                 /* modes 0, 4: gate low; ticks frozen */
	bool out_flat;               /* output when not counting */
	uint64_t paused_ticks;
	uint64_t start_ns;           /* the counter held `count` then */
	bool null_count;
	uint8_t latch_bytes;         /* latched count bytes left to read */
	uint16_t latch;
	bool status_latched;
	uint8_t status;
	/* counter 0's interrupt */
	uint64_t next_tick;          /* ticks since start_ns of the next one */
	bool irq_level;
} pit_ch;

struct vmm__pit {
	pthread_mutex_t lock;
	vmm_vm *vm;
	pit_ch ch[3];
	uint8_t port61;              /* bits 0-3 as written */
	vmm__timer timer;
};

static uint64_t ns_to_ticks(uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * PIT_HZ / 1000000000ull);
}

/* The first ns at which ticks have elapsed. */
static uint64_t ticks_to_ns(uint64_t ticks)
{
	return (uint64_t)(((unsigned __int128)ticks * 1000000000ull + PIT_HZ - 1) / PIT_HZ);
}

static uint64_t elapsed(const pit_ch *c, uint64_t now)
{
	if (c->paused)
		return c->paused_ticks;
	return now > c->start_ns ? ns_to_ticks(now - c->start_ns) : 0;
}

static uint32_t period(const pit_ch *c)
{
	uint32_t n = c->count;

	if ((c->mode == 2 || c->mode == 3) && n < 2)
		n = 2;
	return n;
}

/* Counting element after d ticks. */
static uint32_t counter_value(const pit_ch *c, uint64_t d)
{
	uint32_t n = period(c), wrap = c->bcd ? 10000 : 65536, half;

	switch (c->mode) {
	case 2:
		return n - (uint32_t)(d % n);
	case 3:   /* decrements by 2 through each half period */
		half = (n + 1) / 2;
		d %= n;
		return n - 2 * (uint32_t)(d < half ? d : d - half) - (n & 1 && d >= half);
	default:  /* 0, 1, 4, 5: one pass, then wraps on */
		return (uint32_t)((n + wrap - d % wrap) % wrap);
	}
}

static bool out_level(const pit_ch *c, uint64_t now)
{
	uint64_t d;
	uint32_t n = period(c);

	if (!c->counting)
		return c->out_flat;
	d = elapsed(c, now);
	switch (c->mode) {
	case 0:
		return d >= n;
	case 1:
		return d >= n;
	case 2:
		return d % n != (uint64_t)n - 1;
	case 3:
		return d % n < (n + 1) / 2;
	default:  /* 4, 5: low for the one clock at terminal count */
		return d != n;
	}
}

static uint16_t to_bcd(uint32_t v)
{
	return (uint16_t)((v % 10) | (v / 10 % 10) << 4 | (v / 100 % 10) << 8 |
			  (v / 1000 % 10) << 12);
}

static uint32_t from_bcd(uint32_t v)
{
	return (v & 0xf) + (v >> 4 & 0xf) * 10 + (v >> 8 & 0xf) * 100 + (v >> 12 & 0xf) * 1000;
}

/* ---- Counter 0's interrupt ---------------------------------------------- */

static void set_irq(struct vmm__pit *pit, bool level)
{
	pit_ch *c = &pit->ch[0];

	if (c->irq_level != level) {
		c->irq_level = level;
		vmm__irq_set(pit->vm, 0, level);
	}
}

static void pulse_irq(struct vmm__pit *pit)
{
	set_irq(pit, true);
	set_irq(pit, false);
}

/* The tick of counter 0's next interrupt event, or 0 for none. */
static uint64_t first_event(const pit_ch *c)
{
	switch (c->mode) {
	case 0: case 4:
		return c->count;
	case 2: case 3:
		return period(c);
	default:  /* 1, 5 need a gate edge, and counter 0's gate is tied high */
		return 0;
	}
}

/* Arms the timer at the next event, but not before not_before. */
static void arm_ch0_after(struct vmm__pit *pit, uint64_t not_before)
{
	pit_ch *c = &pit->ch[0];
	uint64_t at;

	if (!c->counting || c->paused || !c->next_tick) {
		vmm__timer_cancel(pit->vm, &pit->timer);
		return;
	}
	at = c->start_ns + ticks_to_ns(c->next_tick);
	vmm__timer_arm(pit->vm, &pit->timer, at > not_before ? at : not_before);
}

static void arm_ch0(struct vmm__pit *pit)
{
	arm_ch0_after(pit, 0);
}

/* Interrupt every `step` ticks, at least PIT_MIN_IRQ_NS apart. */
static uint64_t irq_step(const pit_ch *c)
{
	uint64_t step = period(c), min = ns_to_ticks(PIT_MIN_IRQ_NS);

	return step < min ? (min + step - 1) / step * step : step;
}

static void pit_timer(void *opaque, uint64_t now)
{
	struct vmm__pit *pit = opaque;
	pit_ch *c = &pit->ch[0];
	uint64_t d, step, gap;

	pthread_mutex_lock(&pit->lock);
	if (!c->counting || c->paused || !c->next_tick)
		goto out;
	if (now < c->start_ns + ticks_to_ns(c->next_tick)) {
		arm_ch0(pit);                /* a stale callback */
		goto out;
	}
	if (c->mode == 0) {
		set_irq(pit, true);
		c->next_tick = 0;
	} else if (c->mode == 4) {
		pulse_irq(pit);
		c->next_tick = 0;
	} else {
		pulse_irq(pit);
		step = irq_step(c);
		c->next_tick += step;
		d = elapsed(c, now);
		if (ticks_to_ns(d) > ticks_to_ns(c->next_tick) + PIT_CATCHUP_NS)
			c->next_tick = (d / step + 1) * step;
		/* Behind schedule (the timer thread ran late): the missed
		 * periods follow a little apart, so the guest can take each
		 * one instead of two edges merging into one interrupt. */
		gap = ticks_to_ns(step) / 2;
		arm_ch0_after(pit, now + (gap < PIT_CATCHUP_GAP_NS ? gap : PIT_CATCHUP_GAP_NS));
		goto out;
	}
	arm_ch0(pit);
out:
	pthread_mutex_unlock(&pit->lock);
}

/* ---- Programming ---------------------------------------------------------- */

static void start_counting(struct vmm__pit *pit, unsigned i, uint64_t now)
{
	pit_ch *c = &pit->ch[i];

	c->counting = true;
	c->paused = false;
	c->null_count = false;
	c->start_ns = now;
	if ((c->mode == 0 || c->mode == 4) && !c->gate) {
		c->paused = true;
		c->paused_ticks = 0;
	}
	if (i == 0) {
		c->next_tick = first_event(c);
		arm_ch0(pit);
	}
}

/* A new count was written (complete). */
static void load_count(struct vmm__pit *pit, unsigned i, uint32_t raw, uint64_t now)
{
	pit_ch *c = &pit->ch[i];

	raw = c->bcd ? from_bcd(raw) : raw;
	c->count = raw ? raw : (c->bcd ? 10000 : 65536);
	c->null_count = true;
	if (i == 0 && c->mode == 0)
		set_irq(pit, false);
	switch (c->mode) {
	case 1: case 5:                      /* waits for a gate edge */
		break;
	case 2: case 3:                      /* a running counter reloads at
						the end of its period; we start
						the new one now */
		if (c->gate)
			start_counting(pit, i, now);
		break;
	default:
		start_counting(pit, i, now);
		break;
	}
}

static void write_count(struct vmm__pit *pit, unsigned i, uint8_t v, uint64_t now)
{
	pit_ch *c = &pit->ch[i];

	switch (c->rw) {
	case 1:
		load_count(pit, i, v, now);
		break;
	case 2:
		load_count(pit, i, (uint32_t)v << 8, now);
		break;
	default:
		if (!c->write_msb) {
			c->write_lsb = v;
			c->write_msb = true;
			if (c->mode == 0) {      /* the first byte stops mode 0 */
				c->counting = false;
				c->out_flat = false;
				if (i == 0)
					arm_ch0(pit);
			}
		} else {
			c->write_msb = false;
			load_count(pit, i, c->write_lsb | (uint32_t)v << 8, now);
		}
		break;
	}
}

static void latch_count(pit_ch *c, uint64_t now)
{
	uint32_t v;

	if (c->latch_bytes)
		return;                      /* the first latch holds */
	v = c->counting ? counter_value(c, elapsed(c, now)) : c->count;
	v = c->bcd ? to_bcd(v % 10000) : (v & 0xffff);
	c->latch = (uint16_t)v;
	c->latch_bytes = c->rw == 3 ? 2 : 1;
}

static void latch_status(pit_ch *c, uint64_t now)
{
	if (c->status_latched)
		return;
	c->status = (uint8_t)(out_level(c, now) << 7 | c->null_count << 6 |
			      c->rw << 4 | c->cw_mode << 1 | c->bcd);
	c->status_latched = true;
}

static void write_control(struct vmm__pit *pit, uint8_t v, uint64_t now)
{
	unsigned sel = v >> 6, rw = (v >> 4) & 3;
	pit_ch *c;

	if (sel == 3) {                      /* read-back */
		for (unsigned i = 0; i < 3; i++) {
			if (!(v & (2u << i)))
				continue;
			if (!(v & 0x10))
				latch_status(&pit->ch[i], now);
			if (!(v & 0x20))
				latch_count(&pit->ch[i], now);
		}
		return;
	}
	c = &pit->ch[sel];
	if (rw == 0) {
		latch_count(c, now);
		return;
	}
	c->rw = (uint8_t)rw;
	c->cw_mode = c->mode = (v >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4;
	c->bcd = v & 1;
	c->write_msb = c->read_msb = false;
	c->latch_bytes = 0;
	c->status_latched = false;
	c->null_count = true;
	c->counting = false;
	c->out_flat = c->mode != 0;          /* mode 0 starts low, others high */
	if (sel == 0) {
		set_irq(pit, false);
		arm_ch0(pit);
	}
}

static uint8_t read_counter(pit_ch *c, uint64_t now)
{
	uint16_t v;
	uint8_t byte;

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->latch_bytes) {
		v = c->latch;
		c->latch_bytes--;
	} else {
		uint32_t raw = c->counting ? counter_value(c, elapsed(c, now)) : c->count;

		v = c->bcd ? to_bcd(raw % 10000) : (uint16_t)raw;
	}
	if (c->rw == 1)
		byte = (uint8_t)v;
	else if (c->rw == 2)
		byte = (uint8_t)(v >> 8);
	else
		byte = c->read_msb ? (uint8_t)(v >> 8) : (uint8_t)v;
	if (c->rw == 3)
		c->read_msb = !c->read_msb;
	return byte;
}

/* Gate input of counter i (only counter 2's is not tied high). */
static void set_gate(struct vmm__pit *pit, unsigned i, bool gate, uint64_t now)
{
	pit_ch *c = &pit->ch[i];
	bool rising = gate && !c->gate;

	if (gate == c->gate)
		return;
	c->gate = gate;
	switch (c->mode) {
	case 0: case 4:                      /* gate enables counting */
		if (!c->counting)
			break;
		if (!gate) {
			c->paused_ticks = elapsed(c, now);
			c->paused = true;
		} else {
			c->paused = false;
			c->start_ns = now - ticks_to_ns(c->paused_ticks);
		}
		break;
	case 1: case 5:                      /* rising edge (re)triggers */
		if (rising && c->count)
			start_counting(pit, i, now);
		break;
	default:                             /* 2, 3: low stops, edge reloads */
		if (rising && c->count)
			start_counting(pit, i, now);
		else if (!gate) {
			c->counting = false;
			c->out_flat = true;
		}
		break;
	}
}

/* ---- Ports ------------------------------------------------------------------ */

static int pit_port(void *opaque, vmm_vcpu *vcpu, uint16_t port, uint8_t size,
		    uint8_t is_write, uint32_t *data)
{
	struct vmm__pit *pit = opaque;
	unsigned i = port - 0x40;
	uint64_t now = vmm__now_ns();

	(void)vcpu;
	(void)size;   /* wider accesses act on the first port, low byte */
	pthread_mutex_lock(&pit->lock);
	if (i == 3 && is_write)
		write_control(pit, (uint8_t)*data, now);
	else if (i == 3)
		*data = 0xff;                /* the control word is write-only */
	else if (is_write)
		write_count(pit, i, (uint8_t)*data, now);
	else
		*data = read_counter(&pit->ch[i], now);
	pthread_mutex_unlock(&pit->lock);
	return 0;
}

/* Port 0x61 (system control port B): bit 0 counter 2 gate, bit 1 speaker
 * data enable, bits 2-3 (parity/IOCHK NMI enables) kept; reads add bit 4
 * (refresh toggle) and bit 5 (counter 2 output). Bits 6-7 (NMI sources)
 * read 0: no parity or channel check errors exist here. */
static int port61(void *opaque, vmm_vcpu *vcpu, uint16_t port, uint8_t size,
		  uint8_t is_write, uint32_t *data)
{
	struct vmm__pit *pit = opaque;
	uint64_t now = vmm__now_ns();

	(void)vcpu;
	(void)port;
	(void)size;
	pthread_mutex_lock(&pit->lock);
	if (is_write) {
		pit->port61 = (uint8_t)*data & 0x0f;
		set_gate(pit, 2, pit->port61 & 1, now);
	} else {
		*data = pit->port61 | (uint32_t)((now / REFRESH_NS) & 1) << 4 |
			(uint32_t)out_level(&pit->ch[2], now) << 5;
	}
	pthread_mutex_unlock(&pit->lock);
	return 0;
}

void vmm__pit_fini(vmm_vm *vm)
{
	struct vmm__pit *pit = vm->platform->pit;

	if (!pit)
		return;
	vmm__timer_fini(vm, &pit->timer);
	vm->platform->pit = NULL;
	pthread_mutex_destroy(&pit->lock);
	free(pit);
}

/* Power-on: every counter unprogrammed (no count, output high, as after a
 * control word for mode 2-5 ... but no interrupts until the guest writes a
 * count); gates of counters 0 and 1 high, counter 2's low. */
int vmm__pit_init(vmm_vm *vm)
{
	struct vmm__pit *pit = calloc(1, sizeof(*pit));
	int rc;

	if (!pit)
		return vmm__err(VMM_ENOMEM, "pit: out of memory");
	pthread_mutex_init(&pit->lock, NULL);
	pit->vm = vm;
	vmm__timer_init(&pit->timer, pit_timer, pit);
	for (unsigned i = 0; i < 3; i++) {
		pit->ch[i].rw = 3;
		pit->ch[i].gate = i < 2;
		pit->ch[i].out_flat = true;
	}
	vm->platform->pit = pit;
	rc = vmm__pio_register_internal(vm, 0x40, 4, pit_port, pit);
	if (!rc)
		rc = vmm__pio_register_internal(vm, 0x61, 1, port61, pit);
	return rc;
}

/* ---- Device state (state.h) --------------------------------------------------
 * Per counter: the programming and latches, and start_ns as the ns elapsed
 * since the count was loaded (the counting element and counter 0's next
 * interrupt follow from it on load). */

static void ch_save(vmm__sw *w, const pit_ch *c, uint64_t now)
{
	vmm__sw_u8(w, c->mode);
	vmm__sw_u8(w, c->bcd);
	vmm__sw_u8(w, c->rw);
	vmm__sw_u8(w, c->cw_mode);
	vmm__sw_u8(w, (uint8_t)(c->write_msb | c->read_msb << 1 | c->gate << 2 |
				c->counting << 3 | c->paused << 4 | c->out_flat << 5 |
				c->null_count << 6 | c->status_latched << 7));
	vmm__sw_u8(w, c->write_lsb);
	vmm__sw_u32(w, c->count);
	vmm__sw_u64(w, c->paused_ticks);
	vmm__sw_time(w, vmm__state_since(now, c->start_ns));
	vmm__sw_u8(w, c->latch_bytes);
	vmm__sw_u16(w, c->latch);
	vmm__sw_u8(w, c->status);
	vmm__sw_u64(w, c->next_tick);
	vmm__sw_bool(w, c->irq_level);
}

static int pit_save(void *dev, vmm__sw *w)
{
	struct vmm__pit *pit = dev;
	uint64_t now;

	pthread_mutex_lock(&pit->lock);
	now = vmm__now_ns();
	for (unsigned i = 0; i < 3; i++)
		ch_save(w, &pit->ch[i], now);
	vmm__sw_u8(w, pit->port61);
	pthread_mutex_unlock(&pit->lock);
	return 0;
}

/* The channel's fields; *since the ns since its count was loaded. */
static void ch_load(vmm__sr *r, pit_ch *c, uint64_t *since)
{
	uint8_t f;

	c->mode = (uint8_t)vmm__sr_max(r, "mode", 5, 1);
	c->bcd = (uint8_t)vmm__sr_max(r, "bcd", 1, 1);
	c->rw = (uint8_t)vmm__sr_u8(r, "rw");
	vmm__sr_check(r, c->rw >= 1 && c->rw <= 3, "rw", "not 1, 2 or 3");
	c->cw_mode = (uint8_t)vmm__sr_max(r, "cw_mode", 7, 1);
	vmm__sr_check(r, (c->cw_mode > 5 ? c->cw_mode - 4 : c->cw_mode) == c->mode, "cw_mode",
		      "does not give the mode");
	f = vmm__sr_u8(r, "flags");
	c->write_msb = f & 1, c->read_msb = f >> 1 & 1, c->gate = f >> 2 & 1;
	c->counting = f >> 3 & 1, c->paused = f >> 4 & 1, c->out_flat = f >> 5 & 1;
	c->null_count = f >> 6 & 1, c->status_latched = f >> 7 & 1;
	c->write_lsb = vmm__sr_u8(r, "write_lsb");
	c->count = vmm__sr_u32(r, "count");
	vmm__sr_check(r, c->count <= (c->bcd ? 10000u : 65536u), "count",
		      "above 65536 (BCD 10000)");
	c->paused_ticks = vmm__sr_u64(r, "paused_ticks");
	*since = vmm__sr_u64(r, "since_ns");
	vmm__sr_check(r, *since < (1ull << 62) && c->paused_ticks < (1ull << 62), "since_ns",
		      "too large");
	c->latch_bytes = (uint8_t)vmm__sr_max(r, "latch_bytes", 2, 1);
	c->latch = vmm__sr_u16(r, "latch");
	c->status = vmm__sr_u8(r, "status");
	c->next_tick = vmm__sr_u64(r, "next_tick");
	vmm__sr_check(r, c->next_tick <= ns_to_ticks(*since) + 4 * 65536ull + 256, "next_tick",
		      "beyond the counter's next event");
	c->irq_level = vmm__sr_bool(r, "irq_level");
}

static int pit_load(void *dev, uint32_t version, vmm__sr *r)
{
	struct vmm__pit *pit = dev;
	pit_ch ch[3] = { { 0 } };
	uint64_t since[3], now;
	uint8_t p61;

	(void)version;
	for (unsigned i = 0; i < 3; i++)
		ch_load(r, &ch[i], &since[i]);
	p61 = (uint8_t)vmm__sr_max(r, "port61", 0x0f, 1);
	vmm__sr_check(r, ch[0].gate && ch[1].gate && ch[2].gate == (p61 & 1), "gate",
		      "counters 0 and 1 are gated high, counter 2 by port 0x61 bit 0");
	vmm__sr_check(r, !ch[1].irq_level && !ch[2].irq_level, "irq_level",
		      "only counter 0 has an interrupt");
	for (unsigned i = 0; i < 3; i++)
		vmm__sr_check(r, ch[i].count || (!ch[i].counting && !ch[i].next_tick), "count",
			      "0 (never written) on a running counter");
	vmm__sr_check(r, !ch[1].next_tick && !ch[2].next_tick &&
			 (!ch[0].next_tick || first_event(&ch[0]) != 0), "next_tick",
		      "an interrupt event on a counter or mode that has none");
	if (!vmm__sr_apply(r))
		return 0;
	pthread_mutex_lock(&pit->lock);
	now = vmm__now_ns();
	for (unsigned i = 0; i < 3; i++) {
		ch[i].start_ns = vmm__state_since(now, since[i]);
		pit->ch[i] = ch[i];
	}
	pit->port61 = p61;
	arm_ch0(pit);
	pthread_mutex_unlock(&pit->lock);
	return 0;
}

static const vmm__state_ops pit_state = { 1, pit_save, pit_load };

int vmm__pit_state_add(vmm_vm *vm, vmm__state_list *l)
{
	struct vmm__pit *pit = vm->platform ? vm->platform->pit : NULL;

	return pit ? vmm__state_add(l, "pit", &pit_state, pit) : 0;
}
