// Stripe.js from the configured URL (localstripe's shim locally, js.stripe.com on AWS), loaded once.
import { shopConfig } from "./api";

export interface CardElement {
  mount(el: HTMLElement): void;
  destroy(): void;
}
export interface StripeClient {
  elements(): { create(type: "card", options?: object): CardElement };
  createToken(card: CardElement): Promise<{ token?: { card: { id: string } }; error?: { message?: string } }>;
  confirmCardPayment(clientSecret: string): Promise<{ paymentIntent?: { status: string }; error?: { message?: string } }>;
}
declare global {
  interface Window {
    Stripe?: (key: string) => StripeClient;
  }
}

let loading: Promise<StripeClient> | undefined;
export function stripeClient(): Promise<StripeClient> {
  loading ??= shopConfig().then(
    (config) =>
      new Promise<StripeClient>((resolve, reject) => {
        const script = document.createElement("script");
        script.src = config.stripe_js_url;
        script.onload = () => (window.Stripe ? resolve(window.Stripe(config.stripe_publishable_key)) : reject(new Error("no Stripe")));
        script.onerror = () => {
          script.remove();
          loading = undefined;
          reject(new Error("Stripe.js did not load"));
        };
        document.head.appendChild(script);
      }),
  );
  return loading;
}
