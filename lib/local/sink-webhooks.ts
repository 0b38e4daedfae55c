/**
 * The config's channels as a sink holds their webhooks: each exists until removed (as a server or
 * workspace admin might remove one) and can be given back. The Discord and the Slack sink keep
 * theirs here.
 */
export class SinkWebhooks {
  readonly channels: ReadonlySet<string>;
  private readonly live: Set<string>;

  constructor(channels: readonly string[]) {
    this.channels = new Set(channels);
    this.live = new Set(channels);
  }

  /** The channel's webhook exists now. */
  has(channel: string): boolean {
    return this.live.has(channel);
  }

  /** Removes a channel's webhook: later posts to it are refused. False when the config has no such channel. */
  remove(channel: string): boolean {
    if (!this.channels.has(channel)) return false;
    this.live.delete(channel);
    return true;
  }

  /** Gives a channel its webhook back. False when the config has no such channel (a webhook for it would route nothing). */
  restore(channel: string): boolean {
    if (!this.channels.has(channel)) return false;
    this.live.add(channel);
    return true;
  }
}
