// CloudCart's public API, as any client calls it: same origin, first-party cookies, CSRF header on writes.

export interface Product {
  id: string;
  name: string;
  category: string;
  description: string;
  price: string;
  currency: string;
  stock: number;
  image_url: string | null;
}
export interface Page<T> {
  results: T[];
  next: string | null;
}
export interface CartLine {
  id: string;
  name: string;
  qty: number;
  unit_price: string;
  line_total: string;
}
export interface Cart {
  id: string | null;
  items: CartLine[];
  subtotal: string;
  currency: string;
}
export interface OrderLine {
  product_id?: string;
  id?: string;
  name: string;
  qty: number;
  unit_price?: string;
  line_total?: string;
}
export interface Payment {
  provider?: string;
  status?: string;
  client_secret?: string;
  publishable_key?: string;
  last_error?: string;
}
export interface Order {
  id: string;
  status: string;
  reason?: string | null;
  total: string;
  currency: string;
  items: OrderLine[];
  email?: string | null;
  created_at?: string;
  payment?: Payment | null;
}
export interface ShopConfig {
  payments_provider: string;
  stripe_js_url: string;
  stripe_publishable_key: string;
}

/** An API answer that is not 2xx: `code` picks the shopper's words, never shown itself. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly body: Record<string, unknown>,
  ) {
    super(detail || code);
  }
}

function cookie(name: string): string | undefined {
  const match = document.cookie.match(new RegExp(`(?:^|; )${name}=([^;]*)`));
  return match ? decodeURIComponent(match[1]) : undefined;
}

let configPromise: Promise<ShopConfig> | undefined;
/** The shop's settings (Stripe.js URL and key); the answer also sets the CSRF cookie. */
export function shopConfig(): Promise<ShopConfig> {
  configPromise ??= fetch("/shop/config.json", { credentials: "same-origin" }).then((r) => {
    if (!r.ok) throw new ApiError(r.status, "service_unavailable", "", {});
    return r.json();
  });
  configPromise.catch(() => (configPromise = undefined));
  return configPromise;
}

// Signed-in state lives in HttpOnly cookies no script can read; this remembers who signed in and
// until when the access cookie lasts, so the shop can refresh it in time and greet the shopper.
const SESSION_KEY = "cloudcart.session";
export interface Session {
  email: string;
  expiresAt: number;
}
export function session(): Session | null {
  try {
    return JSON.parse(localStorage.getItem(SESSION_KEY) || "null");
  } catch {
    return null;
  }
}
export function sessionSave(value: Session | null): void {
  if (value) localStorage.setItem(SESSION_KEY, JSON.stringify(value));
  else localStorage.removeItem(SESSION_KEY);
  window.dispatchEvent(new Event("cloudcart-session"));
}

let refreshing: Promise<void> | undefined;
async function freshSession(): Promise<void> {
  const current = session();
  if (!current || Date.now() < current.expiresAt - 30_000) return;
  refreshing ??= raw("POST", "/auth/refresh", {})
    .then((tokens) => sessionSave({ ...current, expiresAt: Date.now() + tokens.expires_in * 1000 }))
    .catch(() => sessionSave(null))
    .finally(() => (refreshing = undefined));
  return refreshing;
}

async function raw(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const init: RequestInit = { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers } };
  if (method !== "GET") {
    if (!cookie("csrftoken")) await shopConfig();
    (init.headers as Record<string, string>)["X-CSRFToken"] = cookie("csrftoken") ?? "";
  }
  if (body !== undefined) {
    (init.headers as Record<string, string>)["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, "network", "", {});
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, data.code ?? "error", data.detail ?? "", data);
  return data;
}

/** One API call; a signed-in shopper's access cookie is refreshed first when it is about to lapse. */
export async function api<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
  await freshSession();
  return raw(method, path, body, headers);
}

/** An API error in the shopper's words (never its code). */
export function words(error: unknown): string {
  if (!(error instanceof ApiError)) return "Something went wrong. Please try again.";
  switch (error.code) {
    case "out_of_stock":
      return "Sorry, there is not enough of this in stock.";
    case "total_mismatch":
      return "A price changed since you looked. Please check your cart's new total and try again.";
    case "payment_declined":
      return `Your card was declined${error.detail ? ` (${error.detail.replace(/\.$/, "")})` : ""}. Please try another card.`;
    case "cart_empty":
      return "Your cart is empty.";
    case "cart_full":
      return "Your cart is full. Check out or remove something first.";
    case "qty_limit":
      return "You can buy at most 99 of one product.";
    case "unknown_products":
    case "product_not_found":
      return "Sorry, a product in your cart is no longer sold.";
    case "invalid_credentials":
      return "That email and password do not match an account.";
    case "user_exists":
      return "An account with this email already exists. Sign in instead.";
    case "weak_password":
      return "Choose a longer password: at least 12 characters with upper and lower case letters, a digit and a symbol.";
    case "not_confirmed":
      return "Your account is not confirmed yet: enter the code we emailed you.";
    case "code_mismatch":
    case "code_expired":
      return "That confirmation code is not right. Check the email we sent you.";
    case "throttled":
      return "Too many attempts. Please wait a minute and try again.";
    case "not_authenticated":
    case "token_expired":
    case "invalid_token":
      return "Please sign in again.";
    case "csrf_failed":
      return "Your session is out of date. Please reload the page and try again.";
    case "order_not_found":
    case "not_found":
      return "We could not find that.";
    case "order_not_payable":
      return "This order can no longer be paid.";
    case "invalid_payment_method":
      return "We could not use that card. Please check its details or try another card.";
    case "invalid":
      return "Please check the highlighted details.";
    case "network":
      return "We could not reach the shop. Check your connection and try again.";
    default:
      return error.status >= 500
        ? "The shop is busy right now. Please try again in a moment."
        : "Something went wrong. Please try again.";
  }
}

/** A decimal string as money, for display only (arithmetic stays on the server). */
export function money(amount: string, currency: string): string {
  return new Intl.NumberFormat("en-US", { style: "currency", currency: currency || "USD" }).format(Number(amount));
}
