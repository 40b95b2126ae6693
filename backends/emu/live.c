/* live.c - dead arithmetic flags in a decoded block. An instruction's flag
 * update is dead when a later instruction of the same block overwrites
 * every arithmetic flag before anything can read them: no instruction in
 * between reads flags, can fault, exit or end the block, and the block does
 * not end first (interrupts, kicks and chaining happen only at block
 * boundaries, so nothing else can see RFLAGS in between). Such instructions
 * are bound to twins without the flag update (emu_alu_nf_tab,
 * emu_shift_nf_tab, emu_imul_nf_tab). Only register forms qualify: they
 * touch no memory, so they cannot fault; everything not in the table below
 * counts as reading the flags. */
#include <pthread.h>

#include "backends/emu/exec.h"
#include "backends/emu/exec_tab.h"

enum {
	LIVE_KEEP = 1,    /* neither reads nor writes flags, cannot fault */
	LIVE_KILL,        /* writes every arithmetic flag, reads none */
	LIVE_RMW,         /* writes them, reads some (ADC/SBB: CF) */
	LIVE_SHIFT,       /* a shift: kills with a nonzero count, else keeps */
	LIVE_KEEP_REG     /* LIVE_KEEP for a register source only */
};

#define LIVE_BITS 9

typedef struct live_ent {
	emu_fn fn, nf;
	unsigned cls;
} live_ent;

static live_ent live_tab[1u << LIVE_BITS];
static pthread_once_t live_once = PTHREAD_ONCE_INIT;

static unsigned live_hash(emu_fn fn)
{
	uintptr_t v = (uintptr_t)fn;

	return (unsigned)((v >> 4) ^ (v >> (4 + LIVE_BITS))) & ((1u << LIVE_BITS) - 1);
}

static void live_add(emu_fn fn, emu_fn nf, unsigned cls)
{
	unsigned i = live_hash(fn);

	if (!fn)
		return;
	while (live_tab[i].fn && live_tab[i].fn != fn)
		i = (i + 1) & ((1u << LIVE_BITS) - 1);
	live_tab[i] = (live_ent){ fn, nf, cls };
}

static const live_ent *live_find(emu_fn fn)
{
	for (unsigned i = live_hash(fn);; i = (i + 1) & ((1u << LIVE_BITS) - 1)) {
		if (live_tab[i].fn == fn)
			return &live_tab[i];
		if (!live_tab[i].fn)
			return NULL;
	}
}

enum { ALU_ADC = 2, ALU_SBB = 3 };

static void live_init(void)
{
	static const unsigned forms[2] = { EMU_RR, EMU_RI };

	for (unsigned sz = 0; sz < 4; sz++) {
		for (unsigned op = 0; op < 9; op++)
			for (unsigned f = 0; f < 2; f++)
				live_add(emu_alu_tab[op][forms[f]][sz], emu_alu_nf_tab[op][f][sz],
					 op == ALU_ADC || op == ALU_SBB ? LIVE_RMW : LIVE_KILL);
		for (unsigned k = 0; k < 3; k++)
			live_add(emu_shift_nf_tab[0][k][sz], emu_shift_nf_tab[1][k][sz], LIVE_SHIFT);
		for (unsigned t = 0; t < 2; t++)
			live_add(emu_imul_nf_tab[t][0][sz], emu_imul_nf_tab[t][1][sz], LIVE_KILL);
		live_add(emu_mov_tab[EMU_RR][sz], NULL, LIVE_KEEP);
		live_add(emu_mov_tab[EMU_RI][sz], NULL, LIVE_KEEP);
		for (unsigned sx = 0; sx < 2; sx++)
			for (unsigned ssz = 0; ssz < 2; ssz++)
				live_add(emu_movx_tab[sx][0][ssz][sz], NULL, LIVE_KEEP);
	}
	live_add(emu_h_lea, NULL, LIVE_KEEP);
	live_add(emu_h_lea64, NULL, LIVE_KEEP);
	live_add(emu_h_movsxd, NULL, LIVE_KEEP_REG);
	live_add(emu_h_movsxd_r64, NULL, LIVE_KEEP);
}

/* The shift's count is known (1 or an immediate) and nonzero. */
static int shift_kills(const emu_insn *ins)
{
	unsigned c = ins->aux == 2 ? (unsigned)ins->imm : 1;

	return ins->aux != 1 && (c & (ins->osz == EMU_SZ64 ? 63 : 31));
}

void emu_live_flags(emu_insn *ins, unsigned n)
{
	int live = 1;     /* at the block's end the flags can be seen */

	pthread_once(&live_once, live_init);
	while (n--) {
		emu_insn *in = &ins[n];
		const live_ent *e = live_find(in->fn);
		unsigned cls = e ? e->cls : 0;

		if (cls == LIVE_SHIFT)
			cls = shift_kills(in) ? LIVE_KILL : LIVE_RMW;
		switch (cls) {
		case LIVE_KEEP:
			break;
		case LIVE_KEEP_REG:
			if (in->mem)
				live = 1;
			break;
		case LIVE_KILL:
			if (!live)
				in->fn = e->nf;
			live = 0;
			break;
		case LIVE_RMW:
			if (!live)
				in->fn = e->nf;
			live = 1;
			break;
		default:
			live = 1;
			break;
		}
	}
}
