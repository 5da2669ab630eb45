// My orders: the signed-in customer's orders, newest first, with "Load more".
import { useEffect, useState } from "preact/hooks";
import { api, type Order, type Page, words, money, session, ApiError } from "../api";
import { BASE } from "../router";
import { ErrorMessage, Loading, Title } from "../ui";
import { STATUS_WORDS } from "./OrderPage";

export function OrdersPage() {
  const [orders, setOrders] = useState<Order[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const signedIn = session() !== null;

  async function load(url: string) {
    try {
      const page = await api<Page<Order>>("GET", url);
      setOrders((before) => [...(before ?? []), ...page.results]);
      setNext(page.next);
    } catch (e) {
      setError(e instanceof ApiError && e.status === 401 ? "Please sign in to see your orders." : words(e));
    }
  }
  useEffect(() => {
    if (signedIn) load("/orders");
  }, [signedIn]);

  if (!signedIn || (error && !orders))
    return (
      <>
        <Title text="My orders" />
        <ErrorMessage text={error} />
        <p>
          <a href={`${BASE}/sign-in?next=${encodeURIComponent(`${BASE}/orders`)}`}>Sign in</a> to see your orders.
        </p>
      </>
    );
  if (!orders) return <Loading />;
  return (
    <>
      <Title text="My orders" />
      {orders.length === 0 ? <p>No orders yet.</p> : null}
      <ul class="lines" aria-label="Orders">
        {orders.map((order) => (
          <li key={order.id} class="line">
            <a href={`${BASE}/orders/${encodeURIComponent(order.id)}`}>
              Order of {order.created_at ? new Date(order.created_at).toLocaleString("en-US", { dateStyle: "medium", timeStyle: "short" }) : order.id}
            </a>
            <span>{order.items.map((line) => line.name).join(", ")}</span>
            <span>{money(order.total, order.currency)}</span>
            <span>{STATUS_WORDS[order.status] ?? "Processing"}</span>
          </li>
        ))}
      </ul>
      <ErrorMessage text={error} />
      {next ? (
        <button type="button" class="secondary" onClick={() => load(next)}>
          Load more
        </button>
      ) : null}
    </>
  );
}
