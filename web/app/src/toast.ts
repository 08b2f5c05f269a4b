import { Emitter } from './chat/emitter';

/** The one visible error message (error-toast); a newer one replaces it. */
class Toasts extends Emitter {
  message: string | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;

  show(message: string): void {
    this.message = message;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.dismiss(), 8000);
    this.emit();
  }

  dismiss(): void {
    clearTimeout(this.timer);
    this.message = null;
    this.emit();
  }
}

export const toasts = new Toasts();

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function showError(e: unknown): void {
  toasts.show(errorText(e));
}
