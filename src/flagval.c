/* flagval — command-line numbers and why one was refused (see flagval.h). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "wshub/flagval.h"

/* A value split into its parts by scan(); whole saturates (overflow). */
struct number {
	bool negative, point, overflow;
	int whole_digits, frac_digits;
	uint64_t whole;
	uint64_t frac;  /* the first FLAGVAL_MS_DECIMALS digits after '.' */
};

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* "e3", "E-2", "e+9": the rest of the value is an exponent. */
static bool
is_exponent(const char *p)
{
	if (*p != 'e' && *p != 'E')
		return false;
	p++;
	if (*p == '+' || *p == '-')
		p++;
	return is_digit(*p);
}

/* The rest of the value is letters only: a unit such as "s" or "ms". */
static bool
is_unit(const char *p)
{
	for (; *p != '\0'; p++)
		if (!is_alpha(*p))
			return false;
	return true;
}

/*
 * Splits `s` into sign, whole digits and decimals.  Returns FLAGVAL_OK or
 * one of the errors every kind of value shares: empty, not a number, an
 * exponent, a unit.  The callers check the '.', the sign and the range.
 */
static int
scan(const char *s, struct number *n)
{
	const char *p = s;

	memset(n, 0, sizeof(*n));
	if (*p == '\0')
		return FLAGVAL_EMPTY;
	if (*p == '+' || *p == '-')
		n->negative = *p++ == '-';
	for (; is_digit(*p); p++, n->whole_digits++) {
		if (n->whole > (UINT64_MAX - 9) / 10)
			n->overflow = true;
		else
			n->whole = n->whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		n->point = true;
		for (p++; is_digit(*p); p++, n->frac_digits++)
			if (n->frac_digits < FLAGVAL_MS_DECIMALS)
				n->frac = n->frac * 10 + (uint64_t)(*p - '0');
	}
	if (n->whole_digits + n->frac_digits == 0)
		return FLAGVAL_NOT_NUMBER;
	if (is_exponent(p))
		return FLAGVAL_EXPONENT;
	if (*p != '\0')
		return is_unit(p) ? FLAGVAL_UNIT : FLAGVAL_NOT_NUMBER;
	return FLAGVAL_OK;
}

/* FLAGVAL_OK if `v` (or an overflow) is in [min, max], else which side. */
static int
in_range(const struct number *n, uint64_t v, uint64_t min, uint64_t max)
{
	if (n->overflow || v > max)
		return FLAGVAL_TOO_LARGE;
	return v < min ? FLAGVAL_TOO_SMALL : FLAGVAL_OK;
}

int
flagval_int(const char *s, long long min, long long max, long long *out)
{
	struct number n;
	int rc;

	if ((rc = scan(s, &n)) != FLAGVAL_OK)
		return rc;
	if (n.point)
		return FLAGVAL_FRACTION;
	if (n.negative && n.whole != 0)
		return FLAGVAL_NEGATIVE;
	if ((rc = in_range(&n, n.whole, (uint64_t)min, (uint64_t)max)) !=
	    FLAGVAL_OK)
		return rc;
	*out = (long long)n.whole;
	return FLAGVAL_OK;
}

int
flagval_seconds(const char *s, int64_t min_ms, int64_t max_ms,
    int64_t *out_ms)
{
	struct number n;
	uint64_t ms;
	int rc;

	if ((rc = scan(s, &n)) != FLAGVAL_OK)
		return rc;
	if (n.point && (n.whole_digits == 0 || n.frac_digits == 0))
		return FLAGVAL_POINT;
	if (n.frac_digits > FLAGVAL_MS_DECIMALS)
		return FLAGVAL_DECIMALS;
	if (n.negative && (n.whole != 0 || n.frac != 0))
		return FLAGVAL_NEGATIVE;
	for (int d = n.frac_digits; d < FLAGVAL_MS_DECIMALS; d++)
		n.frac *= 10;   /* "0.25": 25 -> 250 ms */
	if (n.whole > UINT64_MAX / 1000 - 1)
		n.overflow = true;
	ms = n.overflow ? UINT64_MAX : n.whole * 1000 + n.frac;
	if ((rc = in_range(&n, ms, (uint64_t)min_ms, (uint64_t)max_ms)) !=
	    FLAGVAL_OK)
		return rc;
	*out_ms = (int64_t)ms;
	return FLAGVAL_OK;
}

const char *
flagval_strerror(int err)
{
	switch (err) {
	case FLAGVAL_OK: return "no error";
	case FLAGVAL_EMPTY: return "empty";
	case FLAGVAL_NOT_NUMBER: return "not a number";
	case FLAGVAL_EXPONENT: return "exponent notation is not accepted";
	case FLAGVAL_UNIT: return "a unit suffix is not accepted";
	case FLAGVAL_POINT: return "a digit must come before and after the '.'";
	case FLAGVAL_DECIMALS: return "too many decimals";
	case FLAGVAL_FRACTION: return "not a whole number";
	case FLAGVAL_NEGATIVE: return "negative";
	case FLAGVAL_TOO_SMALL: return "too small";
	case FLAGVAL_TOO_LARGE: return "too large";
	default: return "invalid";
	}
}
