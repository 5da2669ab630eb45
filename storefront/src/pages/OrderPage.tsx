// One order: followed until it is final, its status in words.
import { useEffect, useState } from "preact/hooks";
import { api, type Order, words, money } from "../api";
import { BASE } from "../router";
import { ErrorMessage, Loading, Title } from "../ui";

export const STATUS_WORDS: Record<string, string> = {
  AWAITING_PAYMENT: "Awaiting payment",
  PENDING: "Processing",
  CONFIRMED: "Confirmed",
  REJECTED: "Rejected",
  EXPIRED: "Expired",
  CANCELLED: "Cancelled",
  FAILED: "Delayed",
  PARTIALLY_REFUNDED: "Partly refunded",
  REFUNDED: "Refunded",
};
const FINAL = new Set(["CONFIRMED", "REJECTED", "EXPIRED", "CANCELLED", "FAILED", "PARTIALLY_REFUNDED", "REFUNDED"]);

function explanation(order: Order): string {
  switch (order.status) {
    case "AWAITING_PAYMENT":
      return "We are waiting for your payment.";
    case "PENDING":
      return "Your payment is authorised; we are setting your items aside.";
    case "CONFIRMED":
      return order.email ? `Thank you! A receipt is on its way to ${order.email}.` : "Thank you! Your order is on its way.";
    case "REJECTED":
      return order.reason === "payment_failed"
        ? "We could not take the payment, so the order did not go through. You have not been charged."
        : "Sorry, something in your order ran out of stock, so it did not go through. You have not been charged.";
    case "EXPIRED":
      return "The order was not paid in time. You have not been charged.";
    case "CANCELLED":
      return "The order was cancelled. You have not been charged.";
    case "FAILED":
      return "Your order is taking longer than usual. We are on it and will email you.";
    default:
      return "";
  }
}

export function OrderPage({ id }: { id: string }) {
  const [order, setOrder] = useState<Order | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    let timer: number | undefined;
    let delay = 500;
    const poll = async () => {
      try {
        const found = await api<Order>("GET", `/orders/${encodeURIComponent(id)}`);
        if (!live) return;
        setOrder(found);
        setError(null);
        if (FINAL.has(found.status)) return;
      } catch (e) {
        if (!live) return;
        setError(words(e));
      }
      delay = Math.min(delay * 1.5, 5000);
      timer = window.setTimeout(poll, delay);
    };
    poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [id]);

  if (!order) return error ? <><Title text="Your order" /><ErrorMessage text={error} /></> : <Loading />;
  return (
    <>
      <Title text="Your order" />
      <p role="status" class={`status ${order.status.toLowerCase()}`}>
        Status: <strong>{STATUS_WORDS[order.status] ?? "Processing"}</strong>
      </p>
      <p>{explanation(order)}</p>
      {order.status === "AWAITING_PAYMENT" ? (
        <p>
          <a href={`${BASE}/checkout?order=${encodeURIComponent(order.id)}`}>Pay for this order</a>
        </p>
      ) : null}
      <ErrorMessage text={error} />
      <ul class="lines" aria-label="Order lines">
        {order.items.map((line) => (
          <li key={line.product_id ?? line.id} class="line">
            <span>{line.name}</span>
            <span>× {line.qty}</span>
          </li>
        ))}
      </ul>
      <p class="subtotal">
        Total: <strong>{money(order.total, order.currency)}</strong>
      </p>
      <p class="muted">Order number {order.id}</p>
    </>
  );
}
