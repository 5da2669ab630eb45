// One product: image, price, stock state, and "Add to cart" with a quantity.
import { useEffect, useState } from "preact/hooks";
import { api, type Product, words, money, ApiError } from "../api";
import { BASE } from "../router";
import { ErrorMessage, Loading, Title } from "../ui";
import { cartChanged } from "../cartCount";

export function ProductPage({ id }: { id: string }) {
  const [product, setProduct] = useState<Product | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [qty, setQty] = useState("1");
  const [added, setAdded] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let live = true;
    api<Product>("GET", `/products/${encodeURIComponent(id)}`)
      .then((p) => live && setProduct(p))
      .catch((e) => live && setError(e instanceof ApiError && e.status === 404 ? "Sorry, this product is not sold here." : words(e)));
    return () => {
      live = false;
    };
  }, [id]);

  async function add(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setAdded(null);
    try {
      const cart = await api("POST", "/cart", { id, qty: Number(qty) });
      cartChanged(cart);
      setAdded(`Added ${qty} to your cart.`);
    } catch (e) {
      setError(
        e instanceof ApiError && e.code === "out_of_stock"
          ? `Sorry, we do not have ${Number(qty) > 1 ? `${qty} of these` : "this"} in stock.`
          : words(e),
      );
    } finally {
      setBusy(false);
    }
  }

  if (!product) return error ? <><Title text="Product" /><ErrorMessage text={error} /></> : <Loading />;
  const inStock = product.stock > 0;
  return (
    <article class="product">
      <div class="hero">
        {product.image_url ? <img src={product.image_url} alt={product.name} width={640} height={480} fetchpriority="high" /> : null}
      </div>
      <div>
        <Title text={product.name} />
        <p class="price big">{money(product.price, product.currency)}</p>
        <p class={inStock ? "stock" : "stock out"}>{inStock ? (product.stock < 5 ? `Only ${product.stock} left` : "In stock") : "Out of stock"}</p>
        {product.description ? <p>{product.description}</p> : null}
        <p>
          Category: <a href={`${BASE}/category/${encodeURIComponent(product.category)}`}>{product.category}</a>
        </p>
        <form onSubmit={add}>
          <label for="qty">Quantity</label>
          <input id="qty" name="qty" type="number" min={1} max={Math.min(99, Math.max(1, product.stock))} value={qty} disabled={!inStock}
            onInput={(e) => setQty((e.target as HTMLInputElement).value)} required />
          <button type="submit" disabled={!inStock || busy}>
            Add to cart
          </button>
        </form>
        <ErrorMessage text={error} />
        {added ? (
          <p role="status" class="ok">
            {added} <a href={`${BASE}/cart`}>Go to your cart</a>
          </p>
        ) : null}
      </div>
    </article>
  );
}
