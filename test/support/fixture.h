/*
 * The fixture most socket tests share: a server with the default
 * configuration in `ts`, started before each test and stopped after it
 * (`.init = start, .fini = stop`).  A test that needs other settings
 * starts `ts` itself with test_server_init/test_server_start.  Include it
 * from a test file, not from another header: it defines `ts`.
 */
#ifndef WSHUB_TEST_FIXTURE_H
#define WSHUB_TEST_FIXTURE_H

#include "support/testserver.h"

static struct test_server ts;

static inline void
start(void)
{
	test_server_init(&ts);
	test_server_start(&ts);
}

static inline void
stop(void)
{
	test_server_stop(&ts);
}

#endif
