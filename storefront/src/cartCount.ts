// The number of items in the cart, shown beside the header's "Cart" link once known.
import type { Cart } from "./api";

export function cartChanged(cart: Cart | null): void {
  const count = cart ? cart.items.reduce((sum, line) => sum + line.qty, 0) : 0;
  sessionStorage.setItem("cloudcart.cartCount", String(count));
  window.dispatchEvent(new Event("cloudcart-cart"));
}

export function cartCount(): number {
  return Number(sessionStorage.getItem("cloudcart.cartCount") || 0);
}
