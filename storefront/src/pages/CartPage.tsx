// The cart: change a line's quantity, remove it, see the subtotal, go to checkout.
import { useEffect, useState } from "preact/hooks";
import { api, type Cart, words, money, ApiError } from "../api";
import { BASE, navigate } from "../router";
import { ErrorMessage, Loading, Title } from "../ui";
import { cartChanged } from "../cartCount";

export function CartPage() {
  const [cart, setCart] = useState<Cart | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api<Cart>("GET", "/cart")
      .then((c) => {
        setCart(c);
        cartChanged(c);
      })
      .catch((e) => setError(words(e)));
  }, []);

  async function change(method: "PATCH" | "DELETE", body: object) {
    setBusy(true);
    setError(null);
    try {
      const updated = await api<Cart>(method, "/cart", body);
      setCart(updated);
      cartChanged(updated);
    } catch (e) {
      setError(e instanceof ApiError && e.code === "out_of_stock" ? "Sorry, we do not have that many in stock." : words(e));
    } finally {
      setBusy(false);
    }
  }

  if (!cart) return error ? <><Title text="Your cart" /><ErrorMessage text={error} /></> : <Loading />;
  return (
    <>
      <Title text="Your cart" />
      <ErrorMessage text={error} />
      {cart.items.length === 0 ? (
        <p>
          Your cart is empty. <a href={`${BASE}/`}>Browse the shop</a>
        </p>
      ) : (
        <>
          <ul class="lines" aria-label="Cart lines">
            {cart.items.map((line) => (
              <li key={line.id} class="line">
                <a href={`${BASE}/products/${encodeURIComponent(line.id)}`}>{line.name}</a>
                <span>{money(line.unit_price, cart.currency)} each</span>
                <label>
                  Quantity
                  <input type="number" min={1} max={99} value={line.qty} disabled={busy}
                    onChange={(e) => {
                      const qty = Number((e.target as HTMLInputElement).value);
                      if (qty >= 1 && qty !== line.qty) change("PATCH", { id: line.id, qty });
                    }} />
                </label>
                <span class="total">{money(line.line_total, cart.currency)}</span>
                <button type="button" class="secondary" disabled={busy} onClick={() => change("DELETE", { id: line.id })}>
                  Remove
                </button>
              </li>
            ))}
          </ul>
          <p class="subtotal">
            Subtotal: <strong>{money(cart.subtotal, cart.currency)}</strong>
          </p>
          <button type="button" disabled={busy} onClick={() => navigate(`${BASE}/checkout`)}>
            Checkout
          </button>
        </>
      )}
    </>
  );
}
