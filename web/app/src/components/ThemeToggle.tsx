import { useEffect } from 'preact/hooks';
import { useForceUpdate } from '../chat/emitter';
import { onThemeChange, setThemePref, themePref, type ThemePref } from '../theme';

const NEXT: Record<ThemePref, ThemePref> = { system: 'light', light: 'dark', dark: 'system' };
const ICON: Record<ThemePref, string> = { system: '◐', light: '☀', dark: '☾' };

export function ThemeToggle() {
  const bump = useForceUpdate();
  useEffect(() => onThemeChange(bump), []);
  const pref = themePref();
  return (
    <button
      type="button"
      class="icon-button"
      data-testid="theme-toggle"
      aria-label={`Theme: ${pref}. Switch to ${NEXT[pref]}`}
      title={`Theme: ${pref}`}
      onClick={() => setThemePref(NEXT[pref])}
    >
      <span aria-hidden="true">{ICON[pref]}</span>
    </button>
  );
}
