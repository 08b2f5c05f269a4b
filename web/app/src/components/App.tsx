import { RestClient, type User } from '@signalink/client';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { Chat } from '../chat/chat';
import { loadToken, saveToken } from '../token';
import { AuthView } from './AuthView';
import { Shell } from './Shell';
import { Toast } from './Toast';

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
    rest.me().then(signIn, () => signOut());
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
