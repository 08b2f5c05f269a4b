import { ApiError, NetworkError, type Notification, type RestClient } from '@signalink/client';
import { Emitter } from './emitter';

/** The notification bell's model: GET /api/v1/notifications/ plus live notification.new frames. */
export class Notifications extends Emitter {
  items: Notification[] = [];
  unread = 0;
  /** False when the server has no notifications endpoint (or it fails): the bell is hidden. */
  available = false;

  constructor(private readonly rest: RestClient) {
    super();
  }

  async load(): Promise<void> {
    try {
      const page = await this.rest.notifications({ limit: 50 });
      this.items = page.items;
      this.unread = page.unread_count;
      this.available = true;
    } catch (e) {
      if (!(e instanceof ApiError || e instanceof NetworkError)) throw e;
      this.available = false;
    }
    this.emit();
  }

  /** A notification.new: new, or an unread one that folded in another message. */
  receive(n: Notification): void {
    const old = this.items.find((i) => i.id === n.id);
    if (!n.is_read && (!old || old.is_read)) this.unread++;
    if (n.is_read && old && !old.is_read) this.unread = Math.max(0, this.unread - 1);
    this.items = [n, ...this.items.filter((i) => i.id !== n.id)];
    this.emit();
  }

  async read(id: string): Promise<void> {
    const old = this.items.find((i) => i.id === id);
    if (!old || old.is_read) return;
    const n = await this.rest.readNotification(id);
    this.items = this.items.map((i) => (i.id === id ? n : i));
    this.unread = Math.max(0, this.unread - 1);
    this.emit();
  }

  async readAll(): Promise<void> {
    await this.rest.readAllNotifications();
    this.items = this.items.map((i) => ({ ...i, is_read: true }));
    this.unread = 0;
    this.emit();
  }
}
