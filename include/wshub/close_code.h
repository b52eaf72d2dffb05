/*
 * close_code — the WebSocket close codes wshub sends or counts, in one
 * place (RFC 6455 §7.4.1).  The man page's CLOSE CODES section says when
 * each is sent.
 */
#ifndef WSHUB_CLOSE_CODE_H
#define WSHUB_CLOSE_CODE_H

/* CLOSE_ABNORMAL is never sent: it means no close frame came. */
enum close_code {
	CLOSE_NORMAL = 1000,
	CLOSE_GOING_AWAY = 1001,
	CLOSE_PROTOCOL_ERROR = 1002,
	CLOSE_UNSUPPORTED_DATA = 1003, /* received only: wshub takes both types */
	CLOSE_NO_STATUS = 1005,      /* a close frame without a code */
	CLOSE_ABNORMAL = 1006,       /* local only: no close frame at all */
	CLOSE_INVALID_DATA = 1007,
	CLOSE_POLICY_VIOLATION = 1008, /* slow client, control-frame flood */
	CLOSE_TOO_BIG = 1009,
	CLOSE_INTERNAL_ERROR = 1011,
	CLOSE_TRY_AGAIN = 1013,      /* the room limit, reached after the 101 */
};

#endif
