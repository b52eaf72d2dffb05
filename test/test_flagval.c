/* Command-line numbers: what is accepted, and why the rest is refused. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "wshub/flagval.h"

#define DAY_MS (86400LL * 1000)

/* One seconds value against the range of --pong-timeout. */
struct seconds_case {
	const char *in;
	int want;
	int64_t ms;
};

Test(flagval, seconds_accepts_up_to_three_decimals, .timeout = 10)
{
	const struct seconds_case ok[] = {
		{ "10", FLAGVAL_OK, 10000 }, { "0.25", FLAGVAL_OK, 250 },
		{ "10.001", FLAGVAL_OK, 10001 }, { "0.01", FLAGVAL_OK, 10 },
		{ "86400", FLAGVAL_OK, DAY_MS }, { "+2.5", FLAGVAL_OK, 2500 },
		{ "007.100", FLAGVAL_OK, 7100 },
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int64_t ms = -1;

		cr_assert_eq(flagval_seconds(ok[i].in, 10, DAY_MS, &ms),
		    FLAGVAL_OK, "'%s'", ok[i].in);
		cr_assert_eq(ms, ok[i].ms, "'%s' gave %lld ms", ok[i].in,
		    (long long)ms);
	}
}

Test(flagval, seconds_names_what_is_wrong, .timeout = 10)
{
	const struct seconds_case bad[] = {
		{ "10.0001", FLAGVAL_DECIMALS, 0 },
		{ "0.0001", FLAGVAL_DECIMALS, 0 },
		{ "1e3", FLAGVAL_EXPONENT, 0 }, { "1.5E-2", FLAGVAL_EXPONENT, 0 },
		{ "10s", FLAGVAL_UNIT, 0 }, { "250ms", FLAGVAL_UNIT, 0 },
		{ "abc", FLAGVAL_NOT_NUMBER, 0 }, { "1 2", FLAGVAL_NOT_NUMBER, 0 },
		{ " 5", FLAGVAL_NOT_NUMBER, 0 }, { ".", FLAGVAL_NOT_NUMBER, 0 },
		{ "-", FLAGVAL_NOT_NUMBER, 0 }, { "1..2", FLAGVAL_NOT_NUMBER, 0 },
		{ "", FLAGVAL_EMPTY, 0 },
		{ ".5", FLAGVAL_POINT, 0 }, { "5.", FLAGVAL_POINT, 0 },
		{ "-0.5", FLAGVAL_NEGATIVE, 0 }, { "-1", FLAGVAL_NEGATIVE, 0 },
		{ "0.001", FLAGVAL_TOO_SMALL, 0 }, { "0", FLAGVAL_TOO_SMALL, 0 },
		{ "86400.001", FLAGVAL_TOO_LARGE, 0 },
		{ "99999999999999999999999", FLAGVAL_TOO_LARGE, 0 },
		{ "18446744073709551", FLAGVAL_TOO_LARGE, 0 },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ms = -1;

		cr_assert_eq(flagval_seconds(bad[i].in, 10, DAY_MS, &ms),
		    bad[i].want, "'%s': got %s", bad[i].in, flagval_strerror(
		    flagval_seconds(bad[i].in, 10, DAY_MS, &ms)));
		cr_assert_eq(ms, -1, "'%s' must leave the output alone",
		    bad[i].in);
	}
}

Test(flagval, seconds_zero_where_the_range_allows_it, .timeout = 10)
{
	int64_t ms = -1;

	cr_assert_eq(flagval_seconds("0", 0, 600000, &ms), FLAGVAL_OK);
	cr_assert_eq(ms, 0);
	cr_assert_eq(flagval_seconds("-0", 0, 600000, &ms), FLAGVAL_OK);
	cr_assert_eq(flagval_seconds("600.001", 0, 600000, &ms),
	    FLAGVAL_TOO_LARGE);
}

Test(flagval, integers, .timeout = 10)
{
	const struct { const char *in; int want; long long v; } cases[] = {
		{ "0", FLAGVAL_OK, 0 }, { "65535", FLAGVAL_OK, 65535 },
		{ "+80", FLAGVAL_OK, 80 },
		{ "65536", FLAGVAL_TOO_LARGE, 0 }, { "-1", FLAGVAL_NEGATIVE, 0 },
		{ "1.5", FLAGVAL_FRACTION, 0 }, { "8080.0", FLAGVAL_FRACTION, 0 },
		{ ".5", FLAGVAL_FRACTION, 0 }, { "1e3", FLAGVAL_EXPONENT, 0 },
		{ "64k", FLAGVAL_UNIT, 0 }, { "0x10", FLAGVAL_NOT_NUMBER, 0 },
		{ "", FLAGVAL_EMPTY, 0 },
		{ "99999999999999999999999", FLAGVAL_TOO_LARGE, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long long v = -1;
		int rc = flagval_int(cases[i].in, 0, 65535, &v);

		cr_assert_eq(rc, cases[i].want, "'%s': got %s", cases[i].in,
		    flagval_strerror(rc));
		cr_assert_eq(v, rc == FLAGVAL_OK ? cases[i].v : -1, "'%s'",
		    cases[i].in);
	}
	cr_assert_eq(flagval_int("0", 1, 10, &(long long){ 0 }),
	    FLAGVAL_TOO_SMALL);
}

Test(flagval, every_error_has_its_own_words, .timeout = 10)
{
	for (int a = FLAGVAL_TOO_LARGE; a < FLAGVAL_OK; a++) {
		cr_assert_str_neq(flagval_strerror(a), "invalid", "%d", a);
		for (int b = a + 1; b < FLAGVAL_OK; b++)
			cr_assert_str_neq(flagval_strerror(a),
			    flagval_strerror(b), "%d and %d", a, b);
	}
	cr_assert_str_eq(flagval_strerror(-99), "invalid");
}
