import { useModel } from '../chat/emitter';
import { toasts } from '../toast';

export function Toast() {
  useModel(toasts);
  if (!toasts.message) return null;
  return (
    <div class="toast" role="alert" data-testid="error-toast">
      <span>{toasts.message}</span>
      <button type="button" class="icon-button" aria-label="Dismiss" onClick={() => toasts.dismiss()}>
        ×
      </button>
    </div>
  );
}
