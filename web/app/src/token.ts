// The JWT lives in this tab's sessionStorage (never in a URL, never in localStorage, so it
// ends with the tab); when storage is unavailable (privacy modes) it lives in memory only.
const KEY = 'signalink.token';
let memory: string | null = null;

export function loadToken(): string | null {
  try {
    return sessionStorage.getItem(KEY) ?? memory;
  } catch {
    return memory;
  }
}

export function saveToken(token: string | null): void {
  memory = token;
  try {
    if (token === null) sessionStorage.removeItem(KEY);
    else sessionStorage.setItem(KEY, token);
  } catch {
    // memory keeps it for this page's lifetime
  }
}
