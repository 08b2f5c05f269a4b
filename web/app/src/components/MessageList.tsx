import {
  Virtualizer,
  elementScroll,
  measureElement,
  observeElementOffset,
  observeElementRect,
  type VirtualizerOptions,
} from '@tanstack/virtual-core';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Chat, OpenChannel } from '../chat/chat';
import { useForceUpdate, useModel } from '../chat/emitter';
import type { Row } from '../chat/messages';
import { MessageRow } from './MessageRow';

interface Props {
  chat: Chat;
  open: OpenChannel;
  channelName: string;
  onReply: (row: Row) => void;
}

// Room above the first row for the "start of the channel" / "loading" line, so that
// it never shifts the rows' offsets.
const TOP_PAD = 44;
const LOAD_OLDER_WITHIN_PX = 600;
const BOTTOM_SLACK_PX = 24;

type Options = VirtualizerOptions<HTMLDivElement, HTMLDivElement>;

/**
 * The channel's messages, windowed: only the rows in view (plus overscan) are in the DOM.
 * Rows are measured as they render; the list anchors to its end, so older pages prepended
 * above keep the rows in view still, and it follows new rows while scrolled to the bottom.
 */
export function MessageList({ chat, open, channelName, onReply }: Props) {
  const store = open.store;
  useModel(store);
  const rows = store.rows;
  const scrollRef = useRef<HTMLDivElement>(null);
  const rowsRef = useRef(rows);
  rowsRef.current = rows;
  const rerender = useForceUpdate();
  const [seenSeq, setSeenSeq] = useState(0);

  const options: Options = {
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => 64,
    scrollToFn: elementScroll,
    observeElementRect,
    observeElementOffset,
    measureElement,
    overscan: 8,
    paddingStart: TOP_PAD,
    paddingEnd: 8,
    getItemKey: (i) => rowsRef.current[i]!.key,
    anchorTo: 'end',
    followOnAppend: true,
    scrollEndThreshold: BOTTOM_SLACK_PX,
    onChange: () => rerender(),
  };
  const [v] = useState(() => new Virtualizer<HTMLDivElement, HTMLDivElement>(options));
  v.setOptions(options);

  useLayoutEffect(() => v._didMount(), [v]);
  useLayoutEffect(() => v._willUpdate());

  // A fresh history (first load, or reload after a failed recovery) starts at the bottom.
  useLayoutEffect(() => {
    if (store.generation === 0 || rowsRef.current.length === 0) return;
    v.scrollToIndex(rowsRef.current.length - 1, { align: 'end' });
    open.atBottom = true;
    setSeenSeq(store.lastSeq);
    chat.maybeMarkRead();
  }, [store.generation]);

  // An own send brings the list to the bottom, wherever it was scrolled.
  const lastKey = rows.at(-1)?.key;
  const lastPending = rows.at(-1)?.pending ?? false;
  useLayoutEffect(() => {
    if (lastPending) v.scrollToIndex(rowsRef.current.length - 1, { align: 'end' });
  }, [lastKey, lastPending]);

  function check(): void {
    const el = scrollRef.current;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight <= BOTTOM_SLACK_PX;
    if (atBottom !== open.atBottom) open.atBottom = atBottom;
    if (atBottom) {
      if (seenSeq !== store.lastSeq) setSeenSeq(store.lastSeq);
      chat.maybeMarkRead();
    }
    if (el.scrollTop < LOAD_OLDER_WITHIN_PX && store.loaded && !store.atStart && !store.loading) {
      void store.loadOlder().catch(() => undefined);
    }
  }

  // New rows or a finished page may leave the list short of its top or at its bottom.
  useEffect(check, [rows, store.loading]);

  let unseen = 0;
  if (!open.atBottom) {
    for (let i = rows.length - 1; i >= 0; i--) {
      const r = rows[i]!;
      if (r.seq !== null && r.seq <= seenSeq) break;
      if (r.user_id !== chat.me.id && !r.pending) unseen++;
    }
  }

  const items = v.getVirtualItems();
  return (
    <div class="message-pane">
      <div
        ref={scrollRef}
        class="message-list"
        data-testid="message-list"
        data-total={rows.length}
        data-rendered={items.length}
        role="feed"
        aria-busy={store.loading}
        aria-label={`Messages in #${channelName}`}
        tabIndex={0}
        onScroll={check}
      >
        <div class="message-window" style={{ height: `${v.getTotalSize()}px` }}>
          <div class="history-edge">
            {store.loading ? (
              <span data-testid="history-loading" role="status">
                Loading messages…
              </span>
            ) : store.atStart ? (
              <span data-testid="history-start">This is the start of #{channelName}.</span>
            ) : null}
          </div>
          {items.map((item) => {
            const row = rows[item.index]!;
            return (
              <div
                key={item.key}
                class="message-slot"
                data-index={item.index}
                ref={v.measureElement}
                style={{ transform: `translateY(${item.start}px)` }}
              >
                <MessageRow chat={chat} row={row} onReply={onReply} position={{ index: item.index, total: rows.length }} />
              </div>
            );
          })}
        </div>
      </div>
      {unseen > 0 && (
        <button type="button" class="new-messages" onClick={() => v.scrollToIndex(rows.length - 1, { align: 'end' })}>
          {unseen} new {unseen === 1 ? 'message' : 'messages'} ↓
        </button>
      )}
      <p class="sr-only" aria-live="polite">
        {unseen > 0 ? `${unseen} new ${unseen === 1 ? 'message' : 'messages'}` : ''}
      </p>
    </div>
  );
}
