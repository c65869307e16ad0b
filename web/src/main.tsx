// xinfer's web UI: hash routes at the paths Xinference's UI uses, so bookmarks carry over.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { lang, setLang, t, type Lang } from './i18n';
import { LaunchPage } from './pages/launch';
import { RunningPage } from './pages/running';
import { RegisterPage } from './pages/register';
import { ClusterPage } from './pages/cluster';
import { MonitorPage } from './pages/monitor';
import { LoginPage } from './pages/login';
import { api, credential, setCredential } from './api';

function useHash() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

type Theme = 'light' | 'dark';
function initialTheme(): Theme {
  const saved = localStorage.getItem('xinfer.theme');
  if (saved === 'light' || saved === 'dark') return saved;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

function App() {
  const hash = useHash();
  const [language, setLanguage] = useState<Lang>(lang());
  const [theme, setTheme] = useState<Theme>(initialTheme());
  // With authentication on (GET /v1/cluster/auth), the login form until a credential works.
  const [authOn, setAuthOn] = useState(false);
  const [needLogin, setNeedLogin] = useState(false);
  useEffect(() => {
    api<{ auth: boolean }>('GET', '/v1/cluster/auth').then((r) => {
      setAuthOn(r.auth);
      setNeedLogin(r.auth && !credential());
    }).catch(() => {});
    const on = () => { setCredential(''); setNeedLogin(true); };
    addEventListener('xinfer-login-required', on);
    return () => removeEventListener('xinfer-login-required', on);
  }, []);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem('xinfer.theme', theme);
  }, [theme]);
  let parts = hash.replace(/^#\/?/, '').split('/');
  if (!parts[0]) {  // the start page: the LLM catalog, with its address in the bar for bookmarks
    history.replaceState(null, '', '#/launch_model/llm');
    parts = ['launch_model', 'llm'];
  }
  const nav = [
    ['launch_model', '#/launch_model/llm', t('launch')],
    ['running_models', '#/running_models/LLM', t('running')],
    ['register_model', '#/register_model', t('register')],
    ['cluster_info', '#/cluster_info', t('cluster')],
    ['monitor', '#/monitor', t('monitor')],
  ];
  let page;
  if (needLogin) page = <LoginPage onDone={() => setNeedLogin(false)} />;
  else if (parts[0] === 'launch_model') page = <LaunchPage kind={parts[1] ?? 'llm'} />;
  else if (parts[0] === 'running_models') page = <RunningPage kind={parts[1] ?? 'LLM'} />;
  else if (parts[0] === 'register_model') page = <RegisterPage />;
  else if (parts[0] === 'monitor') page = <MonitorPage />;
  else page = <ClusterPage />;
  return (
    <div class="shell" key={language}>
      <header>
        <a class="brand" href="#/launch_model/llm">xinfer</a>
        <nav>{nav.map(([id, href, label]) => <a href={href} class={parts[0] === id ? 'active' : ''} data-nav={id}>{label}</a>)}</nav>
        <span class="grow" />
        <select aria-label="language" value={language} onChange={(e) => {
          const l = (e.target as HTMLSelectElement).value as Lang;
          setLang(l);
          setLanguage(l);
        }}>
          <option value="en">English</option>
          <option value="zh">中文</option>
        </select>
        <button class="ghost" onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')}>
          {theme === 'dark' ? t('light') : t('dark')}
        </button>
        {authOn && !needLogin && <button class="ghost" data-action="logout" onClick={() => { setCredential(''); setNeedLogin(true); }}>{t('logout')}</button>}
      </header>
      <main>{page}</main>
    </div>
  );
}

setLang(lang());
render(<App />, document.getElementById('app')!);
