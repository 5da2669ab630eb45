// Shared bits of the pages: headings that take focus, error and status messages.
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

/** The page's h1; it takes focus when the page changes, so screen readers announce the new page. */
export function Title({ children, text }: { children?: ComponentChildren; text: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${text} · CloudCart`;
    if (document.activeElement === document.body || document.activeElement?.closest("nav, main")) ref.current?.focus();
  }, [text]);
  return (
    <h1 tabIndex={-1} ref={ref}>
      {children ?? text}
    </h1>
  );
}

export function ErrorMessage({ text }: { text: string | null }) {
  return text ? (
    <p class="error" role="alert">
      {text}
    </p>
  ) : null;
}

export function Loading() {
  return <p class="loading">Loading…</p>;
}
