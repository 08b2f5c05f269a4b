import { ApiError, RestClient, type User } from '@signalink/client';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { Chat } from '../chat/chat';
import { showError } from '../toast';
import { loadToken, saveToken } from '../token';
import { AuthView } from './AuthView';
import { Shell } from './Shell';
import { Toast } from './Toast';

const ME_RETRY_MS = 5000;

type Phase = { kind: 'checking' } | { kind: 'out' } | { kind: 'in'; chat: Chat };

export function App() {
  const [phase, setPhase] = useState<Phase>({ kind: 'checking' });
  const rest = useMemo(
    () =>
      new RestClient({
        token: loadToken(),
        // An expired or revoked token: back to the login view.
        onUnauthorized: () => signOut(),
      }),
    [],
  );

  function signOut(): void {
    saveToken(null);
    rest.token = null;
    setPhase((p) => {
      if (p.kind === 'in') p.chat.dispose();
      return { kind: 'out' };
    });
  }

  function signIn(me: User): void {
    saveToken(rest.token);
    const chat = new Chat(rest, me);
    chat.start();
    setPhase({ kind: 'in', chat });
  }

  useEffect(() => {
    if (!rest.token) {
      setPhase({ kind: 'out' });
      return;
    }
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const check = () => {
      rest.me().then(
        (me) => {
          if (!stopped) signIn(me);
        },
        (err: unknown) => {
          // A 401 has signed out already (onUnauthorized). Anything else, such as the server
          // being unreachable, says nothing about the token: keep it and ask again.
          if (stopped || (err instanceof ApiError && err.status === 401)) return;
          showError(err);
          timer = setTimeout(check, ME_RETRY_MS);
        },
      );
    };
    check();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);

  async function logout(): Promise<void> {
    try {
      await rest.logout();
    } finally {
      signOut();
    }
  }

  return (
    <>
      {phase.kind === 'out' && <AuthView rest={rest} onSignedIn={signIn} />}
      {phase.kind === 'in' && <Shell chat={phase.chat} onLogout={logout} />}
      {phase.kind === 'checking' && (
        <p class="center-note" role="status">
          Loading…
        </p>
      )}
      <Toast />
    </>
  );
}
