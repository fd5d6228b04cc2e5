/** The message of anything thrown, for logs and headers. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error));
}

/** The class name of anything thrown (`Error`, `TypeError`, `KafkaJSConnectionError`, ...). */
export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
