"""The admin's own pages: order and customer actions (one service call per form submission), the
sales report, and the catalog (products live in DynamoDB, so this is a page, not a ModelAdmin)."""

import uuid

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views import View

from backoffice import services
from backoffice.models import Customer, Order
from backoffice.selectors import sales_report
from cloudcart.money import format_cents, parse_amount


def _key_field():
    return forms.CharField(widget=forms.HiddenInput, max_length=64, min_length=16)


class ActionForm(forms.Form):
    """A confirmation; its key is made when the form is drawn, so each drawing runs once."""

    key = _key_field()


class RefundForm(ActionForm):
    amount = forms.CharField(
        label="Amount", required=False, help_text="Leave empty to refund everything not yet refunded."
    )
    restock = forms.BooleanField(label="Put the items back in stock", required=False)
    reason = forms.CharField(label="Reason", required=False, max_length=200)

    def clean_amount(self) -> int | None:
        value = self.cleaned_data["amount"].strip()
        if not value:
            return None
        try:
            cents = parse_amount(value)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None
        if cents <= 0:
            raise forms.ValidationError("A refund is more than 0.00.")
        return cents


ORDER_ACTIONS = {
    "retry": ("Retry the order", ActionForm),
    "cancel": ("Cancel the order", ActionForm),
    "refund": ("Refund", RefundForm),
    "resend-receipt": ("Send the receipt again", ActionForm),
}


class AdminPage(View):
    """A page inside the admin's frame (its header, breadcrumbs and sign-out)."""

    site = None
    template_name = ""
    title = ""

    def render(self, request, **context):
        return TemplateResponse(
            request, self.template_name, {**self.site.each_context(request), "title": self.title, **context}
        )


def _new_key() -> str:
    return uuid.uuid4().hex


def _report(request, outcome: services.Outcome) -> None:
    if not outcome.ran:
        messages.warning(request, f"Already submitted; not run again. {outcome.message}")
    elif outcome.ok:
        messages.success(request, outcome.message)
    else:
        messages.error(request, outcome.message)


class OrderActionView(AdminPage):
    template_name = "backoffice/order_action.html"

    def _setup(self, order_id: str, action: str):
        if action not in ORDER_ACTIONS:
            raise Http404("No such action.")
        return get_object_or_404(Order, id=order_id), *ORDER_ACTIONS[action]

    def get(self, request, order_id: str, action: str):
        order, title, form_class = self._setup(order_id, action)
        self.title = f"{title}: {order.id[:12]}"
        form = form_class(initial={"key": _new_key()})
        return self.render(request, order=order, action=action, form=form, button=title)

    def post(self, request, order_id: str, action: str):
        order, title, form_class = self._setup(order_id, action)
        form = form_class(request.POST)
        if not form.is_valid():
            self.title = f"{title}: {order.id[:12]}"
            return self.render(request, order=order, action=action, form=form, button=title)
        data, actor = form.cleaned_data, request.user.username
        run = {
            "retry": lambda: services.order_retry_action(order_id=order.id),
            "cancel": lambda: services.order_cancel_action(order_id=order.id),
            "refund": lambda: services.order_refund_action(
                order_id=order.id,
                amount_cents=data.get("amount"),
                restock=bool(data.get("restock")),
                reason=data.get("reason") or None,
                key=data["key"],
                actor=actor,
            ),
            "resend-receipt": lambda: services.order_receipt_resend_action(order_id=order.id),
        }[action]
        outcome = services.action_run(key=data["key"], action=action, order_id=order.id, by=actor, run=run)
        _report(request, outcome)
        return HttpResponseRedirect(reverse("admin:backoffice_order_change", args=[order.id]))


class CustomerSignInView(AdminPage):
    template_name = "backoffice/customer_sign_in.html"

    def get(self, request, customer_id: str, action: str):
        customer = get_object_or_404(Customer, cognito_id=customer_id)
        if action not in ("enable", "disable"):
            raise Http404("No such action.")
        self.title = f"{action.capitalize()} sign-in: {customer}"
        return self.render(
            request, customer=customer, action=action, form=ActionForm(initial={"key": _new_key()})
        )

    def post(self, request, customer_id: str, action: str):
        customer = get_object_or_404(Customer, cognito_id=customer_id)
        if action not in ("enable", "disable"):
            raise Http404("No such action.")
        form = ActionForm(request.POST)
        if form.is_valid():
            outcome = services.action_run(
                key=form.cleaned_data["key"],
                action=f"sign-in-{action}",
                by=request.user.username,
                run=lambda: services.customer_sign_in_action(
                    customer_id=customer_id, enabled=action == "enable"
                ),
            )
            _report(request, outcome)
        return HttpResponseRedirect(reverse("admin:backoffice_customer_change", args=[customer.cognito_id]))


class SalesView(AdminPage):
    template_name = "backoffice/sales.html"
    title = "Sales: the past 30 days"

    def get(self, request):
        report = sales_report(window_days=30)
        peak = max((day["revenue_cents"] for day in report.days), default=0) or 1
        days = [
            {
                **day,
                "revenue": format_cents(day["revenue_cents"]),
                "bar": int(100 * day["revenue_cents"] / peak),
            }
            for day in report.days
        ]
        top = [{**row, "revenue": format_cents(row["revenue_cents"])} for row in report.top_products]
        return self.render(
            request,
            report=report,
            days=days,
            top=top,
            revenue=format_cents(report.revenue_cents),
            average=format_cents(report.average_order_cents),
        )


class ProductForm(forms.Form):
    key = _key_field()
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    price = forms.CharField(label="Price", max_length=20)
    archived = forms.BooleanField(label="Archived (not sold)", required=False)

    def clean_price(self) -> int:
        try:
            return parse_amount(self.cleaned_data["price"])
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None


class StockForm(forms.Form):
    key = _key_field()
    delta = forms.IntegerField(
        label="Add to stock", help_text="Negative to take away; refused below zero.", required=False
    )
    set_to = forms.IntegerField(label="Or set the stock to", min_value=0, required=False)
    # The stock this page showed: a new level applies only while it is still that (no sale lost).
    expected = forms.IntegerField(min_value=0, widget=forms.HiddenInput, required=False)

    def clean(self):
        data = super().clean()
        if (data.get("delta") is None) == (data.get("set_to") is None):
            raise forms.ValidationError("Give either an amount to add or a new stock level.")
        if data.get("set_to") is not None and data.get("expected") is None:
            raise forms.ValidationError("Reload the page: a new level needs the stock it replaces.")
        return data


class CatalogView(AdminPage):
    """Find a product by id and change its price, archived flag (If-Match on its version, as the
    API) or stock (DynamoDB's conditional ADD, as the API), through the catalog services."""

    template_name = "backoffice/catalog.html"
    title = "Catalog"

    def _product(self, product_id: str):
        from catalog.errors import ProductNotFound
        from catalog.selectors import product_get

        try:
            return product_get(product_id=product_id, consistent=True, include_archived=True)
        except ProductNotFound:
            return None

    def get(self, request, product_form=None, stock_form=None):
        product_id = (request.GET.get("q") or request.POST.get("product_id") or "").strip()
        product = self._product(product_id) if product_id else None
        if product is not None:
            product_form = product_form or ProductForm(
                initial={
                    "key": _new_key(),
                    "version": int(product.version),
                    "price": format_cents(int(product.price_cents)),
                    "archived": bool(product.archived),
                }
            )
            stock_form = stock_form or StockForm(initial={"key": _new_key(), "expected": int(product.stock)})
        return self.render(
            request,
            query=product_id,
            product=product,
            price=format_cents(int(product.price_cents)) if product is not None else None,
            product_form=product_form,
            stock_form=stock_form,
        )

    def post(self, request):
        from catalog.services import product_stock_change, product_update

        product_id = request.POST.get("product_id", "").strip()
        product = self._product(product_id)
        if product is None:
            messages.error(request, "No product with this id.")
            return HttpResponseRedirect(reverse("admin:catalog"))
        by = request.user.username
        if request.POST.get("form") == "stock":
            form = StockForm(request.POST)
            if not form.is_valid():
                return self.get(request, stock_form=form)
            data = form.cleaned_data

            def run() -> str:
                changed = product_stock_change(
                    product_id=product_id,
                    delta=data["delta"],
                    set_to=data["set_to"],
                    expected=data["expected"] if data["set_to"] is not None else None,
                )
                return f"Stock of {product_id} is now {int(changed.stock)}."

            outcome = services.action_run(key=data["key"], action="stock", by=by, run=run)
        else:
            form = ProductForm(request.POST)
            if not form.is_valid():
                return self.get(request, product_form=form)
            data = form.cleaned_data
            changes = {}
            if data["price"] != int(product.price_cents):
                changes["price_cents"] = data["price"]
            if data["archived"] != bool(product.archived):
                changes["archived"] = data["archived"]

            def run() -> str:
                if not changes:
                    return "Nothing to change."
                changed = product_update(
                    product_id=product_id, expected_version=data["version"], changes=changes
                )
                return f"{product_id} saved (version {int(changed.version)})."

            outcome = services.action_run(key=data["key"], action="product", by=by, run=run)
        _report(request, outcome)
        return HttpResponseRedirect(reverse("admin:catalog") + f"?q={product_id}")
