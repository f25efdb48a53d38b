/* Kubernetes resource quantities ("500Mi", "1G", "1.5Gi", "1e6") as bytes. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "controller/render/render.h"

/* Longer strings are refused before any arithmetic. */
#define QUANTITY_MAX_LEN 64
/* Significant digits that always fit in 64 bits. */
#define MANTISSA_MAX_DIGITS 19
/* |exponent| beyond this is out of range for bytes in any case. */
#define EXPONENT_MAX 40

__extension__ typedef unsigned __int128 u128;

#define SUFFIX_HINT "use a plain number or one with k, M, G, T, P, E or Ki, Mi, Gi, Ti, Pi, Ei"

/* The suffix after the number: a power of ten (dec) or of two (bin). */
struct scale {
	int dec;
	unsigned bin;
};

static int parse_suffix(const char *q, const char *p, struct scale *sc, struct sk_error *err)
{
	static const char decimal[] = "kMGTPE";
	static const char binary[] = "KMGTPE";
	const char *c;

	*sc = (struct scale){0, 0};
	if (!*p)
		return 0;
	if (p[1] == 'i' && !p[2] && (c = strchr(binary, *p))) {
		sc->bin = 10u * (unsigned)(c - binary + 1);
		return 0;
	}
	if (!p[1] && (c = strchr(decimal, *p))) {
		sc->dec = 3 * (int)(c - decimal + 1);
		return 0;
	}
	if ((*p == 'e' || *p == 'E') && p[1]) {
		/* An exponent: e3, E+6, e-2. Only whole exponents. */
		bool neg = false;
		int e = 0;

		p++;
		if (*p == '+' || *p == '-')
			neg = *p++ == '-';
		if (!*p)
			return sk_err(err, -EINVAL, "quantity \"%s\": the exponent has no digits", q);
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return sk_err(err, -EINVAL,
				              "quantity \"%s\": the exponent is not a whole number", q);
			e = e * 10 + (*p - '0');
			if (e > EXPONENT_MAX)
				return sk_err(err, -ERANGE, "quantity \"%s\": the exponent is out of range",
				              q);
		}
		sc->dec = neg ? -e : e;
		return 0;
	}
	if ((*p == 'm' || *p == 'u' || *p == 'n') && !p[1])
		return sk_err(
		    err, -EINVAL,
		    "quantity \"%s\": '%c' counts fractions of a unit, and memory is counted in whole "
		    "bytes; " SUFFIX_HINT,
		    q, *p);
	return sk_err(err, -EINVAL, "quantity \"%s\": unknown suffix \"%s\"; " SUFFIX_HINT, q, p);
}

/* ceil(v / 10^n); ceil(ceil(a/b)/c) = ceil(a/(bc)), so one digit at a time
 * is exact, and once v is 0 or 1 it stays there. */
static u128 ceil_div_pow10(u128 v, int n)
{
	for (; n > 0 && v > 1; n--)
		v = (v + 9) / 10;
	return v;
}

/* Parse a Kubernetes quantity as a whole number of bytes. */
int render_quantity_bytes(const char *s, int64_t *bytes, struct sk_error *err)
{
	const char *p = s, *dot = NULL;
	char sig[MANTISSA_MAX_DIGITS];
	size_t nsig = 0, ndigits = 0;
	int frac = 0; /* digits after the point among the significant ones */
	struct scale sc;
	uint64_t mant = 0;
	u128 v;
	int r;

	if (!s || !*s)
		return sk_err(err, -EINVAL, "quantity is empty; " SUFFIX_HINT);
	if (strnlen(s, QUANTITY_MAX_LEN + 1) > QUANTITY_MAX_LEN)
		return sk_err(err, -EINVAL, "quantity \"%.20s...\" is longer than %d characters", s,
		              QUANTITY_MAX_LEN);
	if (*p == '-')
		return sk_err(err, -EINVAL, "quantity \"%s\" is negative; a size must be positive", s);
	if (*p == '+')
		p++;

	/* The number: digits, an optional point, digits. Keep the significant
	 * digits (no leading zeros; trailing zeros after the point dropped
	 * below) and count how many follow the point. */
	for (; (*p >= '0' && *p <= '9') || (*p == '.' && !dot); p++) {
		if (*p == '.') {
			dot = p;
			continue;
		}
		ndigits++;
		if (dot)
			frac++;
		if (nsig == 0 && *p == '0')
			continue;
		if (nsig == sizeof(sig)) {
			/* Room for one more: trailing zeros after the point are
			 * trimmed below, anything else is too many. */
			if (!dot || *p != '0')
				return sk_err(err, -ERANGE,
				              "quantity \"%s\" has more than %d significant digits", s,
				              MANTISSA_MAX_DIGITS);
			frac--;
			continue;
		}
		sig[nsig++] = *p;
	}
	if (ndigits == 0)
		return sk_err(err, -EINVAL, "quantity \"%s\" does not start with a number; " SUFFIX_HINT, s);
	while (dot && frac > 0 && nsig > 0 && sig[nsig - 1] == '0') {
		nsig--;
		frac--;
	}
	/* Leading zeros after the point ("0.005") are not in sig but still
	 * count as places: frac stays as counted. */
	for (size_t i = 0; i < nsig; i++)
		mant = mant * 10 + (uint64_t)(sig[i] - '0');

	if ((r = parse_suffix(s, p, &sc, err)) < 0)
		return r;

	/* value = mant * 2^bin * 10^(dec - frac), rounded up as Kubernetes
	 * rounds a quantity to a whole number. mant < 10^19 < 2^64 and
	 * bin <= 60, so the product fits in 128 bits. */
	v = (u128)mant << sc.bin;
	if (sc.dec - frac >= 0) {
		for (int i = 0; i < sc.dec - frac; i++) {
			v *= 10;
			if (v > (u128)INT64_MAX)
				break;
		}
	} else {
		v = ceil_div_pow10(v, frac - sc.dec);
	}
	if (v > (u128)INT64_MAX)
		return sk_err(err, -ERANGE, "quantity \"%s\" is more than %lld bytes", s,
		              (long long)INT64_MAX);
	*bytes = (int64_t)v;
	return 0;
}
