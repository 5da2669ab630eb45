// A tiny history router for the pages under /shop/: links are plain <a href>, clicks stay in the app.
import { useEffect, useState } from "preact/hooks";

export const BASE = "/shop";

function current(): URL {
  return new URL(location.href);
}

/** Go to a shop path (pushes history; `replace` for redirects that the back button should skip). */
export function navigate(path: string, { replace = false } = {}): void {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  window.dispatchEvent(new Event("cloudcart-navigate"));
}

/** Remember page state (e.g. catalog pages loaded) in this history entry: back and reload keep it. */
export function pageStateSave(state: Record<string, unknown>): void {
  history.replaceState({ ...(history.state || {}), ...state }, "");
}
export function pageState<T>(key: string): T | undefined {
  return (history.state || {})[key];
}

export function useLocation(): URL {
  const [url, setUrl] = useState(current);
  useEffect(() => {
    const update = () => setUrl(current());
    window.addEventListener("popstate", update);
    window.addEventListener("cloudcart-navigate", update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener("cloudcart-navigate", update);
    };
  }, []);
  return url;
}

/** Same-origin links under /shop/ are handled here, without a page load. */
export function interceptLinks(): void {
  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = (event.target as Element).closest?.("a");
    if (!link || link.target || link.hasAttribute("download") || link.origin !== location.origin) return;
    if (!link.pathname.startsWith(`${BASE}/`) && link.pathname !== BASE) return;
    if (link.hash && link.pathname === location.pathname) return; // in-page links (skip to content)
    event.preventDefault();
    if (link.href !== location.href) {
      navigate(link.pathname + link.search + link.hash);
      window.scrollTo(0, 0);
    }
  });
}

export function match(path: string, pattern: RegExp): string[] | null {
  const found = pattern.exec(path);
  return found ? found.slice(1).map(decodeURIComponent) : null;
}
