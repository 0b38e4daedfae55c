/** The package's public API: the signing client and the contracts callers need. */
export { RelayClient, RelayClientError, parseRetryAfter } from './client/relay-client';
export type { RelayClientErrorKind, RelayClientOptions, SendOptions, SendResult, SyncResult } from './client/relay-client';
export { generateKeyFile, parsePrivateKey, readPrivateKeyFile, KeyFileError } from './client/keys';
export { signRequest, regionFromExecuteApiUrl } from './client/sigv4';
export * from './contracts/envelope';
export * from './contracts/events';
export * from './contracts/errors';
export { IngestRoute } from './contracts/routes';
