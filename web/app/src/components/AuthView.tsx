import type { RestClient, User } from '@signalink/client';
import { useState } from 'preact/hooks';
import { errorText } from '../toast';

interface Props {
  rest: RestClient;
  onSignedIn: (me: User) => void;
}

export function AuthView({ rest, onSignedIn }: Props) {
  const [register, setRegister] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(ev: Event): Promise<void> {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget as HTMLFormElement);
    const username = String(f.get('username') ?? '').trim();
    const password = String(f.get('password') ?? '');
    setBusy(true);
    setError(null);
    try {
      if (register) {
        const fullName = String(f.get('full_name') ?? '').trim();
        await rest.register({
          username,
          email: String(f.get('email') ?? '').trim(),
          password,
          ...(fullName ? { full_name: fullName } : {}),
        });
      }
      await rest.login(username, password);
      onSignedIn(await rest.me());
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  }

  function toggle(): void {
    setRegister(!register);
    setError(null);
  }

  return (
    <main class="auth" data-testid="auth" aria-labelledby="auth-title">
      <form class="auth-card" onSubmit={submit} noValidate>
        <h1 id="auth-title" class="brand">
          <img src={`${import.meta.env.BASE_URL}favicon.svg`} alt="" width={28} height={28} />
          Signalink
        </h1>
        <h2>{register ? 'Create an account' : 'Log in'}</h2>
        <label>
          Username{register ? '' : ' or email'}
          <input name="username" autocomplete="username" required minLength={register ? 3 : 1} maxLength={register ? 50 : 255} />
        </label>
        {register && (
          <label>
            Email
            <input name="email" type="email" autocomplete="email" required />
          </label>
        )}
        {register && (
          <label>
            Full name <span class="muted">(optional)</span>
            <input name="full_name" autocomplete="name" maxLength={255} />
          </label>
        )}
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete={register ? 'new-password' : 'current-password'}
            required
            minLength={register ? 8 : 1}
          />
        </label>
        {error && (
          <p class="form-error" role="alert" data-testid="auth-error">
            {error}
          </p>
        )}
        {register ? (
          <button type="submit" class="primary" data-testid="register-submit" disabled={busy}>
            Create account
          </button>
        ) : (
          <button type="submit" class="primary" data-testid="login-submit" disabled={busy}>
            Log in
          </button>
        )}
        <p class="muted">
          {register ? 'Already have an account? ' : 'New here? '}
          {register ? (
            <button type="button" class="link" data-testid="show-login" onClick={toggle}>
              Log in
            </button>
          ) : (
            <button type="button" class="link" data-testid="show-register" onClick={toggle}>
              Create an account
            </button>
          )}
        </p>
      </form>
    </main>
  );
}
