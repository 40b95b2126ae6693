/* common.c - guest runtime: UART output, a small printf, exits, CHECK
 * failure reporting, memory/string helpers and SMP locks. */
#include "common.h"

static spinlock_t print_lock = SPINLOCK_INIT;

#ifndef GUEST_NATIVE /* native.c supplies these when run as a host program */
void uart_putc(char c)
{
	while (!(inb(UART_LSR) & UART_LSR_THRE))
		cpu_pause();
	outb(UART_BASE, (uint8_t)c);
}

void guest_note(const char *text)
{
	while (*text)
		outb(GUEST_NOTE_PORT, (uint8_t)*text++);
	outb(GUEST_NOTE_PORT, ';');
}
#endif

void uart_puts(const char *s)
{
	while (*s)
		uart_putc(*s++);
}

/* ---- formatting ------------------------------------------------------------ */
struct sink {
	char *buf;        /* NULL: write to the UART */
	size_t size, len; /* len counts every character produced */
};

static void sink_put(struct sink *s, char c)
{
	if (!s->buf)
		uart_putc(c);
	else if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

struct spec {
	int left, zero, width, lng;
};

static void put_padded(struct sink *s, const struct spec *sp, const char *txt,
		       int len, int neg)
{
	int pad = sp->width - len - neg;

	if (neg && sp->zero)
		sink_put(s, '-');
	while (!sp->left && pad-- > 0)
		sink_put(s, sp->zero ? '0' : ' ');
	if (neg && !sp->zero)
		sink_put(s, '-');
	for (int i = 0; i < len; i++)
		sink_put(s, txt[i]);
	while (sp->left && pad-- > 0)
		sink_put(s, ' ');
}

/* v / base, leaving the remainder in *rem. On i386 a 64-bit division
 * would call libgcc, which freestanding guests do not link: two 32-bit
 * DIVs do it instead. */
static uint64_t div_small(uint64_t v, uint32_t base, uint32_t *rem)
{
#ifdef __i386__
	uint32_t hi = (uint32_t)(v >> 32), lo = (uint32_t)v, qhi = hi / base;
	uint32_t r = hi % base, qlo;

	__asm__("divl %4" : "=a"(qlo), "=d"(r) : "0"(lo), "1"(r), "rm"(base));
	*rem = r;
	return (uint64_t)qhi << 32 | qlo;
#else
	*rem = (uint32_t)(v % base);
	return v / base;
#endif
}

static void put_number(struct sink *s, const struct spec *sp, uint64_t v,
		       unsigned base, int neg, int upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = sizeof(tmp);
	uint32_t rem;

	do {
		v = div_small(v, base, &rem);
		tmp[--n] = digits[rem];
	} while (v);
	put_padded(s, sp, tmp + n, (int)sizeof(tmp) - n, neg);
}

static uint64_t take_unsigned(va_list *ap, int lng)
{
	if (lng)
		return va_arg(*ap, unsigned long long);
	return va_arg(*ap, unsigned int);
}

static int64_t take_signed(va_list *ap, int lng)
{
	if (lng)
		return va_arg(*ap, long long);
	return va_arg(*ap, int);
}

static const char *parse_spec(const char *f, struct spec *sp)
{
	sp->left = sp->zero = sp->width = sp->lng = 0;
	for (;; f++) {
		if (*f == '-')
			sp->left = 1;
		else if (*f == '0')
			sp->zero = 1;
		else
			break;
	}
	while (*f >= '0' && *f <= '9')
		sp->width = sp->width * 10 + (*f++ - '0');
	if (*f == 'z') {
		sp->lng = sizeof(size_t) == 8;
		f++;
	} else if (f[0] == 'l' && f[1] == 'l') {
		sp->lng = 1;
		f += 2;
	} else if (*f == 'l') {
		sp->lng = sizeof(long) == 8; /* 32-bit on i386 */
		f++;
	}
	if (sp->left)
		sp->zero = 0;
	return f;
}

static void format_one(struct sink *s, char conv, struct spec *sp, va_list *ap)
{
	int64_t sv;
	const char *str;
	char c;

	switch (conv) {
	case 'd': case 'i':
		sv = take_signed(ap, sp->lng);
		put_number(s, sp, sv < 0 ? -(uint64_t)sv : (uint64_t)sv, 10, sv < 0, 0);
		break;
	case 'u':
		put_number(s, sp, take_unsigned(ap, sp->lng), 10, 0, 0);
		break;
	case 'x': case 'X':
		put_number(s, sp, take_unsigned(ap, sp->lng), 16, 0, conv == 'X');
		break;
	case 'p':
		sink_put(s, '0');
		sink_put(s, 'x');
		put_number(s, sp, (uintptr_t)va_arg(*ap, void *), 16, 0, 0);
		break;
	case 's':
		str = va_arg(*ap, const char *);
		if (!str)
			str = "(null)";
		put_padded(s, sp, str, (int)strlen(str), 0);
		break;
	case 'c':
		c = (char)va_arg(*ap, int);
		put_padded(s, sp, &c, 1, 0);
		break;
	default: /* '%%' and anything unknown are printed as is */
		sink_put(s, conv);
		break;
	}
}

static void format(struct sink *s, const char *f, va_list ap)
{
	struct spec sp;
	va_list aq;

	va_copy(aq, ap);
	while (*f) {
		if (*f != '%') {
			sink_put(s, *f++);
			continue;
		}
		f = parse_spec(f + 1, &sp);
		if (!*f)
			break;
		format_one(s, *f++, &sp, &aq);
	}
	va_end(aq);
	if (s->buf && s->size)
		s->buf[s->len < s->size ? s->len : s->size - 1] = 0;
}

int vprintf(const char *fmt, va_list ap)
{
	struct sink s = { 0, 0, 0 };

	spin_lock(&print_lock);
	format(&s, fmt, ap);
	spin_unlock(&print_lock);
	return (int)s.len;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	struct sink s = { buf, size, 0 };
	va_list ap;

	va_start(ap, fmt);
	format(&s, fmt, ap);
	va_end(ap);
	return (int)s.len;
}

/* ---- ends ------------------------------------------------------------------- */
#ifndef GUEST_NATIVE
void halt(void)
{
	for (;;)
		__asm__ volatile("cli; hlt" ::: "memory");
}

void guest_exit(uint32_t code)
{
	outl(DEBUG_EXIT_PORT, code);
	halt(); /* not reached when the exit device works */
}

void guest_exit8(uint8_t code)
{
	outb(DEBUG_EXIT_PORT, code);
	halt();
}
#endif

void guest_pass(const char *name)
{
	printf("PASS %s\n", name);
	guest_exit(GUEST_PASS);
}

void check_fail(const char *file, int line, const char *expr, uint64_t a,
		uint64_t b, int has_values)
{
	if (has_values)
		printf("FAIL %s:%d: %s a=0x%llx b=0x%llx\n", file, line, expr,
		       (unsigned long long)a, (unsigned long long)b);
	else
		printf("FAIL %s:%d: %s\n", file, line, expr);
	guest_exit(GUEST_FAIL);
}

/* ---- memory and strings ----------------------------------------------------
 * Plain byte loops; the compiler may call these for struct copies. */
void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;

	__asm__ volatile("cld; rep movsb"
			 : "+D"(d), "+S"(src), "+c"(n) : : "memory");
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;

	__asm__ volatile("cld; rep stosb"
			 : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

/* ---- SMP ---------------------------------------------------------------------- */
void spin_lock(spinlock_t *lock)
{
	while (__atomic_exchange_n(&lock->locked, 1, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(&lock->locked, __ATOMIC_RELAXED))
			cpu_pause();
	}
}

void spin_unlock(spinlock_t *lock)
{
	__atomic_store_n(&lock->locked, 0, __ATOMIC_RELEASE);
}

void barrier_wait(barrier_t *b, uint32_t count, uint32_t *local_sense)
{
	uint32_t sense = !*local_sense;

	*local_sense = sense;
	if (__atomic_add_fetch(&b->waiting, 1, __ATOMIC_ACQ_REL) == count) {
		__atomic_store_n(&b->waiting, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&b->sense, sense, __ATOMIC_RELEASE);
		return;
	}
	while (__atomic_load_n(&b->sense, __ATOMIC_ACQUIRE) != sense)
		cpu_pause();
}
