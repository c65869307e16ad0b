// The login form, shown when the service has authentication on: a user name and password (POST
// /token gives a token) or an API key; the credential is kept in this browser until logout or
// until the service refuses it.
import { useState } from 'preact/hooks';
import { api, setCredential } from '../api';
import { t } from '../i18n';

export function LoginPage({ onDone }: { onDone: () => void }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [key, setKey] = useState('');
  const [error, setError] = useState('');
  async function submit(e: Event) {
    e.preventDefault();
    setError('');
    try {
      if (key) {
        setCredential(key);
        await api('GET', '/v1/models');  // proves the key before going on
      } else {
        const r = await api<{ access_token: string }>('POST', '/token', { username: user, password });
        setCredential(r.access_token);
      }
      onDone();
    } catch (err: any) {
      setCredential('');
      setError(err.message);
    }
  }
  return (
    <section class="login">
      <h2>{t('login')}</h2>
      <p class="muted">{t('loginNeeded')}</p>
      <form class="form" onSubmit={submit}>
        <label>{t('username')}<input name="username" autocomplete="username" value={user} onInput={(e) => setUser((e.target as HTMLInputElement).value)} /></label>
        <label>{t('password')}<input name="password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} /></label>
        <label>{t('apiKey')}<input name="api_key" type="password" value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} /></label>
        <button class="primary" type="submit">{t('login')}</button>
      </form>
      {error && <p class="error">{error}</p>}
    </section>
  );
}
