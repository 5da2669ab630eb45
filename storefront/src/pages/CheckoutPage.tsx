// Checkout: email, shipping address and card; "Pay" places the order and pays it in the browser.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, type Cart, type Order, words, money, session, shopConfig, ApiError } from "../api";
import { BASE, navigate } from "../router";
import { ErrorMessage, Loading, Title } from "../ui";
import { cartChanged } from "../cartCount";
import { stripeClient, type CardElement, type StripeClient } from "../stripe";

const FORM_KEY = "cloudcart.checkout";
const PAYING_KEY = "cloudcart.payingOrder";
const COUNTRIES: [string, string][] = [
  ["US", "United States"], ["CA", "Canada"], ["GB", "United Kingdom"], ["IE", "Ireland"], ["FR", "France"],
  ["DE", "Germany"], ["NL", "Netherlands"], ["BE", "Belgium"], ["ES", "Spain"], ["IT", "Italy"], ["PT", "Portugal"],
  ["AT", "Austria"], ["CH", "Switzerland"], ["SE", "Sweden"], ["DK", "Denmark"], ["NO", "Norway"], ["FI", "Finland"],
  ["PL", "Poland"], ["AU", "Australia"], ["NZ", "New Zealand"], ["JP", "Japan"],
];
const FIELDS = [
  ["email", "Email", "email"], ["name", "Full name", "name"], ["line1", "Address", "address-line1"],
  ["city", "City", "address-level2"], ["postal_code", "Postal code", "postal-code"],
] as const;
type Form = Record<(typeof FIELDS)[number][0] | "country", string>;

function savedForm(): Form {
  const empty = { email: "", name: "", line1: "", city: "", postal_code: "", country: "US" };
  try {
    return { ...empty, ...JSON.parse(sessionStorage.getItem(FORM_KEY) || "{}") };
  } catch {
    return empty;
  }
}

export function CheckoutPage({ orderParam }: { orderParam: string | null }) {
  const signedIn = session();
  const [form, setForm] = useState<Form>(savedForm);
  const [cart, setCart] = useState<Cart | null>(null);
  // An order placed but not paid yet (a declined card, a reload): pay it rather than order again.
  const [paying, setPaying] = useState<Order | null>(null);
  const [provider, setProvider] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [ready, setReady] = useState(false);
  const cardSlot = useRef<HTMLDivElement>(null);
  const card = useRef<{ stripe: StripeClient; element: CardElement } | null>(null);

  useEffect(() => {
    let live = true;
    (async () => {
      const payingId = orderParam ?? sessionStorage.getItem(PAYING_KEY);
      if (payingId) {
        try {
          const order = await api<Order>("GET", `/orders/${encodeURIComponent(payingId)}`);
          if (order.status === "AWAITING_PAYMENT") {
            if (live) setPaying(order);
          } else sessionStorage.removeItem(PAYING_KEY);
        } catch {
          sessionStorage.removeItem(PAYING_KEY);
        }
      }
      const [found, config] = await Promise.all([api<Cart>("GET", "/cart"), shopConfig()]);
      if (!live) return;
      setCart(found);
      setProvider(config.payments_provider);
      setReady(true);
    })().catch((e) => live && setError(words(e)));
    return () => {
      live = false;
    };
  }, [orderParam]);

  // The card field: Stripe's Element (an iframe on js.stripe.com; localstripe's inputs locally).
  useEffect(() => {
    if (provider !== "stripe" || !cardSlot.current) return;
    let element: CardElement | undefined;
    let live = true;
    stripeClient()
      .then((stripe) => {
        if (!live || !cardSlot.current) return;
        element = stripe.elements().create("card", { hidePostalCode: true });
        element.mount(cardSlot.current);
        card.current = { stripe, element };
      })
      .catch(() => live && setError("The card form could not load. Please reload the page."));
    return () => {
      live = false;
      element?.destroy();
      card.current = null;
    };
  }, [provider, ready]);

  function update(field: keyof Form, value: string) {
    const next = { ...form, [field]: value };
    setForm(next);
    sessionStorage.setItem(FORM_KEY, JSON.stringify(next));
  }

  async function placeOrder(): Promise<Order> {
    const body: Record<string, unknown> = {
      total: cart!.subtotal,
      shipping_address: { name: form.name, line1: form.line1, city: form.city, postal_code: form.postal_code, country: form.country },
    };
    if (!signedIn) body.email = form.email;
    try {
      return await api<Order>("POST", "/checkout", body, { "Idempotency-Key": crypto.randomUUID() });
    } catch (e) {
      // This cart was checked out already (another tab, a lost answer): pay that order.
      if (e instanceof ApiError && e.code === "cart_checked_out" && typeof e.body.order_id === "string")
        return api<Order>("GET", `/orders/${encodeURIComponent(e.body.order_id)}`);
      throw e;
    }
  }

  function done(order: Order) {
    sessionStorage.removeItem(PAYING_KEY);
    sessionStorage.removeItem(FORM_KEY);
    cartChanged(null);
    navigate(`${BASE}/orders/${encodeURIComponent(order.id)}`, { replace: true });
  }

  async function pay(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      let paymentMethod: string | undefined;
      if (provider === "stripe") {
        if (!card.current) throw new Error("no card");
        const { token, error: cardError } = await card.current.stripe.createToken(card.current.element);
        if (!token) {
          setError(`Please check your card details${cardError?.message ? `: ${cardError.message}` : "."}`);
          return;
        }
        paymentMethod = token.card.id;
      }
      let order = paying ?? (await placeOrder());
      if (order.status !== "AWAITING_PAYMENT" || !paymentMethod) return done(order);
      sessionStorage.setItem(PAYING_KEY, order.id);
      setPaying(order);
      order = await api<Order>("POST", `/orders/${encodeURIComponent(order.id)}/payment`, { payment_method: paymentMethod });
      if (order.payment?.status === "requires_action" && order.payment.client_secret) {
        // 3-D Secure: the bank's dialog (Stripe.js), then the server reads the intent again.
        const result = await card.current!.stripe.confirmCardPayment(order.payment.client_secret);
        if (result.error) {
          setError("Your bank did not confirm the payment. Please try again or use another card.");
          return;
        }
        order = await api<Order>("POST", `/orders/${encodeURIComponent(order.id)}/payment`);
      }
      done(order);
    } catch (e) {
      if (e instanceof ApiError && (e.code === "total_mismatch" || e.code === "out_of_stock")) {
        api<Cart>("GET", "/cart").then(setCart, () => undefined);
      }
      if (e instanceof ApiError && e.code === "order_not_payable" && paying) return done(paying);
      setError(e instanceof ApiError && e.code === "out_of_stock" ? "Sorry, something in your cart is no longer in stock in that quantity. Please change your cart." : words(e));
    } finally {
      setBusy(false);
    }
  }

  if (!ready) return error ? <><Title text="Checkout" /><ErrorMessage text={error} /></> : <Loading />;
  const total = paying ? money(paying.total, paying.currency) : cart ? money(cart.subtotal, cart.currency) : "";
  if (!paying && (!cart || cart.items.length === 0))
    return (
      <>
        <Title text="Checkout" />
        <p>
          Your cart is empty. <a href={`${BASE}/`}>Browse the shop</a>
        </p>
      </>
    );
  return (
    <>
      <Title text="Checkout" />
      <form onSubmit={pay} class="checkout">
        {FIELDS.map(([field, label, autocomplete]) =>
          field === "email" && signedIn ? (
            <p key={field}>Signed in as {signedIn.email}</p>
          ) : (
            <div class="field" key={field}>
              <label for={`f-${field}`}>{label}</label>
              <input id={`f-${field}`} name={field} type={field === "email" ? "email" : "text"} autoComplete={autocomplete}
                required value={form[field]} disabled={!!paying}
                onInput={(e) => update(field, (e.target as HTMLInputElement).value)} />
            </div>
          ),
        )}
        <div class="field">
          <label for="f-country">Country</label>
          <select id="f-country" name="country" autoComplete="country" value={form.country} disabled={!!paying}
            onChange={(e) => update("country", (e.target as HTMLSelectElement).value)}>
            {COUNTRIES.map(([code, name]) => (
              <option key={code} value={code}>{name}</option>
            ))}
          </select>
        </div>
        {provider === "stripe" ? (
          <div class="field">
            <span id="card-label" class="label">Card</span>
            <div id="card-element" class="card-element" role="group" aria-labelledby="card-label" ref={cardSlot} />
          </div>
        ) : null}
        <p class="subtotal">
          Total: <strong>{total}</strong>
        </p>
        <ErrorMessage text={error} />
        <button type="submit" disabled={busy}>
          Pay
        </button>
        {busy ? <p role="status">Paying…</p> : null}
      </form>
    </>
  );
}
