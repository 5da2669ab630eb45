// The catalog: all products or one category, 20 at a time with "Load more" (the API's cursors).
import { useEffect, useState } from "preact/hooks";
import { api, type Page, type Product, words, money } from "../api";
import { BASE, pageState, pageStateSave } from "../router";
import { ErrorMessage, Loading, Title } from "../ui";

export function ProductCard({ product, eager }: { product: Product; eager: boolean }) {
  return (
    <li class="card">
      <div class="thumb">
        {product.image_url ? (
          <img src={product.image_url} alt="" width={320} height={240} loading={eager ? "eager" : "lazy"} />
        ) : null}
      </div>
      <a class="name" href={`${BASE}/products/${encodeURIComponent(product.id)}`}>
        {product.name}
      </a>
      <span class="price">{money(product.price, product.currency)}</span>
      {product.stock > 0 ? null : <span class="stock out">Out of stock</span>}
    </li>
  );
}

export function Catalog({ category }: { category?: string }) {
  const listing = category ? `/categories/${encodeURIComponent(category)}` : "/products";
  // Cursors of the pages loaded after the first, kept in this history entry for back and reload.
  const [products, setProducts] = useState<Product[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let live = true;
    setProducts(null);
    setError(null);
    (async () => {
      const cursors = pageState<string[]>("cursors") ?? [];
      let page = await api<Page<Product>>("GET", listing);
      let all = page.results;
      for (const cursor of cursors) {
        if (!page.next) break;
        try {
          page = await api<Page<Product>>("GET", cursor);
        } catch {
          break; // an expired cursor: show what loaded
        }
        all = all.concat(page.results);
      }
      if (!live) return;
      setProducts(all);
      setNext(page.next);
    })().catch((e) => live && setError(words(e)));
    return () => {
      live = false;
    };
  }, [listing]);

  async function loadMore() {
    if (!next) return;
    setBusy(true);
    try {
      const page = await api<Page<Product>>("GET", next);
      pageStateSave({ cursors: [...(pageState<string[]>("cursors") ?? []), next] });
      setProducts((before) => [...(before ?? []), ...page.results]);
      setNext(page.next);
    } catch (e) {
      setError(words(e));
    } finally {
      setBusy(false);
    }
  }

  const title = category ? category : "All products";
  return (
    <>
      <Title text={title} />
      {category ? (
        <p>
          <a href={`${BASE}/`}>All products</a>
        </p>
      ) : null}
      <ErrorMessage text={error} />
      {products === null ? (
        error ? null : <Loading />
      ) : products.length === 0 ? (
        <p>No products here yet.</p>
      ) : (
        <ul class="grid" aria-label="Products">
          {products.map((product, i) => (
            <ProductCard key={product.id} product={product} eager={i < 4} />
          ))}
        </ul>
      )}
      {next ? (
        <button type="button" class="secondary" onClick={loadMore} disabled={busy}>
          {busy ? "Loading…" : "Load more"}
        </button>
      ) : null}
    </>
  );
}
