// Multi-message answers (zone transfers): produced one message at a time and written as the
// connection drains, so a large zone is never held encoded in memory.

export class MessageStream {
  readonly messages: AsyncIterable<Buffer> | Iterable<Buffer>;
  constructor(messages: AsyncIterable<Buffer> | Iterable<Buffer>) {
    this.messages = messages;
  }
}

/** What a handler answers with: one message, several (TCP only), or silence. */
export type Answer = Buffer | MessageStream | null;
