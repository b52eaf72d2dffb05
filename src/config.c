/* config — the defaults (see config.h for what each is and why). */
#include "wshub/config.h"

void
config_defaults(struct config *cfg)
{
	*cfg = (struct config){
		.addr = DEFAULT_ADDR,
		.port = DEFAULT_PORT,
		.listen_fd = -1,
		.max_clients = MAX_CLIENTS,
		.max_rooms = MAX_ROOMS,
		.redis_prefix = REDIS_PREFIX,
		.max_message = MAX_MESSAGE_BYTES,
		.send_queue = SEND_QUEUE_SOFT,
		.send_queue_bytes = SEND_QUEUE_BYTES,
		.ping_interval_ms = PING_INTERVAL_MS,
		.pong_timeout_ms = PONG_TIMEOUT_MS,
		.write_timeout_ms = WRITE_TIMEOUT_MS,
		.handshake_timeout_ms = HANDSHAKE_TIMEOUT_MS,
		.shutdown_timeout_ms = SHUTDOWN_TIMEOUT_MS,
		.thread_stack_kib = THREAD_STACK_KIB,
	};
}
