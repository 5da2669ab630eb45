// The shop's shell: header (shop, cart, account), the page for the URL, and the footer.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "./styles.css";
import { api, session, sessionSave } from "./api";
import { BASE, interceptLinks, match, navigate, useLocation } from "./router";
import { cartChanged, cartCount } from "./cartCount";
import { Catalog } from "./pages/Catalog";
import { ProductPage } from "./pages/ProductPage";
import { CartPage } from "./pages/CartPage";
import { CheckoutPage } from "./pages/CheckoutPage";
import { OrderPage } from "./pages/OrderPage";
import { OrdersPage } from "./pages/OrdersPage";
import { RegisterPage, SignInPage } from "./pages/Account";
import { Title } from "./ui";

function useEvent<T>(name: string, read: () => T): T {
  const [value, setValue] = useState(read);
  useEffect(() => {
    const update = () => setValue(read());
    window.addEventListener(name, update);
    return () => window.removeEventListener(name, update);
  }, []);
  return value;
}

function Header() {
  const who = useEvent("cloudcart-session", session);
  const count = useEvent("cloudcart-cart", cartCount);
  async function signOut() {
    try {
      await api("POST", "/auth/logout", {});
    } finally {
      sessionSave(null);
      cartChanged(null);
      navigate(`${BASE}/`);
    }
  }
  return (
    <header>
      <nav aria-label="Shop">
        <a href={`${BASE}/`} class="brand">
          CloudCart
        </a>
        <span class="spacer" />
        {who ? <a href={`${BASE}/orders`}>My orders</a> : null}
        {who ? (
          <button type="button" class="link" onClick={signOut}>
            Sign out
          </button>
        ) : (
          <a href={`${BASE}/sign-in`}>Sign in</a>
        )}
        <a href={`${BASE}/cart`}>Cart</a>
        {count > 0 ? (
          <span class="count" aria-live="polite">
            {count} {count === 1 ? "item" : "items"}
          </span>
        ) : null}
      </nav>
    </header>
  );
}

function Page({ url }: { url: URL }) {
  const path = url.pathname.replace(/\/+$/, "") || BASE;
  const next = url.searchParams.get("next");
  let found: string[] | null;
  if (path === BASE) return <Catalog key="all" />;
  if ((found = match(path, /^\/shop\/category\/([^/]+)$/))) return <Catalog key={found[0]} category={found[0]} />;
  if ((found = match(path, /^\/shop\/products\/([^/]+)$/))) return <ProductPage key={found[0]} id={found[0]} />;
  if (path === `${BASE}/cart`) return <CartPage />;
  if (path === `${BASE}/checkout`) return <CheckoutPage orderParam={url.searchParams.get("order")} />;
  if ((found = match(path, /^\/shop\/orders\/([^/]+)$/))) return <OrderPage key={found[0]} id={found[0]} />;
  if (path === `${BASE}/orders`) return <OrdersPage />;
  if (path === `${BASE}/sign-in`) return <SignInPage next={next} />;
  if (path === `${BASE}/register`) return <RegisterPage next={next} />;
  return (
    <>
      <Title text="Page not found" />
      <p>
        There is no such page. <a href={`${BASE}/`}>Browse the shop</a>
      </p>
    </>
  );
}

function App() {
  const url = useLocation();
  return (
    <>
      <a href="#main" class="skip">
        Skip to content
      </a>
      <Header />
      <main id="main">
        <Page url={url} />
      </main>
      <footer>
        <p>CloudCart · prices include taxes where they apply</p>
      </footer>
    </>
  );
}

interceptLinks();
render(<App />, document.getElementById("app")!);
