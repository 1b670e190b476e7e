/** Finds nats-server: NATS_SERVER_BIN, then PATH, then /usr/sbin; undefined when absent. */
export function findNatsServer(env?: NodeJS.ProcessEnv): string | undefined;
