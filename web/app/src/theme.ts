export type ThemePref = 'system' | 'light' | 'dark';

const KEY = 'signalink.theme';
const dark = matchMedia('(prefers-color-scheme: dark)');
const listeners = new Set<() => void>();

export function themePref(): ThemePref {
  try {
    const v = localStorage.getItem(KEY);
    if (v === 'light' || v === 'dark') return v;
  } catch {
    // storage blocked: follow the system
  }
  return 'system';
}

function apply(): void {
  const pref = themePref();
  const effective = pref === 'system' ? (dark.matches ? 'dark' : 'light') : pref;
  document.documentElement.dataset.theme = effective;
  for (const fn of listeners) fn();
}

export function setThemePref(pref: ThemePref): void {
  try {
    if (pref === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, pref);
  } catch {
    // still applied for this page
  }
  apply();
}

export function onThemeChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Sets <html data-theme> now and whenever the system scheme changes. */
export function initTheme(): void {
  dark.addEventListener('change', apply);
  apply();
}
