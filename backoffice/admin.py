"""The back office at /admin/: staff (Cognito `staff` group) see the ledger's orders and customers.

Everything shown is read-only ledger data; every change is an action that calls the owning app's
service (backoffice/services.py, backoffice/views.py). Lists are O(page) at 100,000 orders:
index-backed filters and search, newest first, and no COUNT(*) (estimated counts).
"""

import csv
from datetime import timedelta

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import StreamingHttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from backoffice.models import Customer, Order, OrderLine, Refund, StatusChange
from backoffice.selectors import EstimatedCountPaginator, orders_search
from cloudcart.money import format_cents

STATUSES = (
    "AWAITING_PAYMENT",
    "PENDING",
    "CONFIRMED",
    "REJECTED",
    "FAILED",
    "EXPIRED",
    "CANCELLED",
    "PARTIALLY_REFUNDED",
    "REFUNDED",
)
PAYMENT_STATUSES = ("requires_payment_method", "requires_action", "requires_capture", "succeeded", "canceled")


class StaffLoginForm(AdminAuthenticationForm):
    """The admin's sign-in form: the Cognito account's e-mail and password."""

    username = forms.EmailField(label="E-mail", widget=forms.EmailInput(attrs={"autofocus": True}))
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": "Wrong e-mail or password, or not a staff account.",
    }


class BackOfficeSite(admin.AdminSite):
    site_header = "CloudCart back office"
    site_title = "CloudCart back office"
    index_title = "Orders, customers, sales and catalog"
    login_form = StaffLoginForm
    index_template = "backoffice/index.html"

    def has_permission(self, request) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff)

    def get_urls(self):
        from backoffice import views

        return [
            path("sales/", self.admin_view(views.SalesView.as_view(site=self)), name="sales"),
            path("catalog/", self.admin_view(views.CatalogView.as_view(site=self)), name="catalog"),
            *super().get_urls(),
        ]


site = BackOfficeSite(name="admin")


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class LineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["product_id", "name", "qty", "unit_price", "line_total"]
    readonly_fields = fields

    @admin.display(description="unit price")
    def unit_price(self, line) -> str:
        return format_cents(line.unit_price_cents)

    @admin.display(description="line total")
    def line_total(self, line) -> str:
        return format_cents(line.line_total_cents)


class TimelineInline(ReadOnlyInline):
    model = StatusChange
    verbose_name = "status change"
    verbose_name_plural = "status timeline"
    fields = ["at", "status", "reason"]
    readonly_fields = fields


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ["created_at", "refund_id", "amount", "restock", "reason", "by"]
    readonly_fields = fields

    @admin.display(description="amount")
    def amount(self, refund) -> str:
        return format_cents(refund.amount_cents)


class StatusFilter(admin.SimpleListFilter):
    """The statuses as a fixed list: no DISTINCT over the orders table to draw the filter."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [(s, s.replace("_", " ").capitalize()) for s in STATUSES]

    def queryset(self, request, queryset):
        return queryset.filter(status=self.value()) if self.value() else queryset


class PaymentStatusFilter(StatusFilter):
    title = "payment status"
    parameter_name = "payment_status"

    def lookups(self, request, model_admin):
        return [("none", "No payment"), *((s, s.replace("_", " ")) for s in PAYMENT_STATUSES)]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        return queryset.filter(payment_status="" if self.value() == "none" else self.value())


class PlacedFilter(admin.SimpleListFilter):
    title = "placed"
    parameter_name = "placed"
    RANGES = {"today": 0, "7d": 6, "30d": 29, "365d": 364}

    def lookups(self, request, model_admin):
        return [("today", "Today"), ("7d", "Past 7 days"), ("30d", "Past 30 days"), ("365d", "Past year")]

    def queryset(self, request, queryset):
        days = self.RANGES.get(self.value() or "")
        if days is None:
            return queryset
        start = timezone.localdate() - timedelta(days=days)
        return queryset.filter(
            created_at__gte=timezone.make_aware(
                timezone.datetime.combine(start, timezone.datetime.min.time())
            )
        )


class BuyerFilter(admin.SimpleListFilter):
    title = "buyer"
    parameter_name = "buyer"

    def lookups(self, request, model_admin):
        return [("guest", "Guest"), ("customer", "Signed-in customer")]

    def queryset(self, request, queryset):
        if self.value() == "guest":
            return queryset.filter(customer_id__isnull=True)
        if self.value() == "customer":
            return queryset.filter(customer_id__isnull=False)
        return queryset


class ReadOnlyAdmin(admin.ModelAdmin):
    """Ledger data: viewed, never edited here (it is a projection of DynamoDB)."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        return {}


CSV_COLUMNS = [
    ("order_id", "id"),
    ("created_at", "created_at"),
    ("status", "status"),
    ("payment_status", "payment_status"),
    ("total", "total_cents"),
    ("refunded", "amount_refunded_cents"),
    ("currency", "currency"),
    ("email", "email"),
    ("customer_id", "customer_id"),
]
MONEY_COLUMNS = {"total_cents", "amount_refunded_cents"}


class _Echo:
    """csv.writer's file: hands each row back instead of storing it."""

    def write(self, value: str) -> str:
        return value


@admin.register(Order, site=site)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["order", "created_at", "status", "payment_status", "total", "email", "buyer"]
    list_filter = [StatusFilter, PaymentStatusFilter, PlacedFilter, BuyerFilter]
    search_fields = ["id"]  # shows the search box; the search itself is orders_search
    search_help_text = "An e-mail address, an order id, a product id or part of a product's name."
    ordering = ["-created_at", "-id"]
    list_per_page = 50
    inlines = [LineInline, TimelineInline, RefundInline]
    change_list_template = "backoffice/order_change_list.html"
    change_form_template = "backoffice/order_change_form.html"
    fieldsets = [
        (None, {"fields": ["id", "status", "reason", "created_at", "updated_at", "version"]}),
        ("Buyer", {"fields": ["email", "customer_link", "shipping_address", "phone"]}),
        (
            "Payment",
            {
                "fields": [
                    "total",
                    "payment_provider",
                    "payment_status",
                    "payment_intent_id",
                    "payment_amounts",
                ]
            },
        ),
        ("Ledger", {"fields": ["request_id", "projected_at"]}),
    ]
    readonly_fields = [
        "id",
        "status",
        "reason",
        "created_at",
        "updated_at",
        "version",
        "email",
        "customer_link",
        "shipping_address",
        "phone",
        "total",
        "payment_provider",
        "payment_status",
        "payment_intent_id",
        "payment_amounts",
        "request_id",
        "projected_at",
    ]

    def get_search_results(self, request, queryset, search_term):
        return orders_search(queryset, term=search_term), False

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        # The customer page links to "all orders of this customer".
        return lookup == "customer_id" or super().lookup_allowed(lookup, value, request)

    @admin.display(description="order", ordering="id")
    def order(self, order) -> str:
        return order.id[:12]

    @admin.display(description="total")
    def total(self, order) -> str:
        return f"{format_cents(order.total_cents)} {order.currency}"

    @admin.display(description="buyer")
    def buyer(self, order) -> str:
        return "guest" if order.is_guest else "customer"

    @admin.display(description="customer")
    def customer_link(self, order):
        if order.is_guest:
            return "guest"
        url = reverse("admin:backoffice_customer_change", args=[order.customer_id])
        return format_html('<a href="{}">{}</a>', url, order.customer_id)

    @admin.display(description="authorised / captured / refunded")
    def payment_amounts(self, order) -> str:
        return " / ".join(
            format_cents(cents)
            for cents in (
                order.amount_authorized_cents,
                order.amount_captured_cents,
                order.amount_refunded_cents,
            )
        )

    def get_urls(self):
        from backoffice import views

        return [
            path("export.csv", self.admin_site.admin_view(self.export_csv), name="backoffice_order_export"),
            path(
                "<str:order_id>/action/<str:action>/",
                self.admin_site.admin_view(views.OrderActionView.as_view(site=self.admin_site)),
                name="backoffice_order_action",
            ),
            *super().get_urls(),
        ]

    def export_csv(self, request):
        """The filtered, searched list as CSV, streamed: rows leave as the database cursor yields
        them (in chunks), so 100,000 orders never sit in memory."""
        changelist = self.get_changelist_instance(request)
        queryset = changelist.get_queryset(request)
        fields = [field for _, field in CSV_COLUMNS]
        writer = csv.writer(_Echo())

        def rows():
            yield writer.writerow([name for name, _ in CSV_COLUMNS])
            for values in queryset.values_list(*fields).iterator(chunk_size=2000):
                yield writer.writerow(
                    [
                        format_cents(value) if field in MONEY_COLUMNS else ("" if value is None else value)
                        for field, value in zip(fields, values, strict=True)
                    ]
                )

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="orders.csv"'
        response["Cache-Control"] = "private, no-store"
        return response


@admin.register(Customer, site=site)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ["email", "cognito_id", "order_count", "spent", "first_order_at", "last_order_at"]
    search_fields = ["email"]
    search_help_text = "An e-mail address or a customer's Cognito id."
    ordering = ["-last_order_at", "cognito_id"]
    list_per_page = 50
    change_form_template = "backoffice/customer_change_form.html"
    fields = ["cognito_id", "email", "order_count", "spent", "first_order_at", "last_order_at", "orders"]
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        if "@" in term:
            return queryset.filter(email__iexact=term), False
        return queryset.filter(cognito_id=term), False

    @admin.display(description="spent")
    def spent(self, customer) -> str:
        return format_cents(customer.total_spent_cents)

    @admin.display(description="latest orders")
    def orders(self, customer):
        latest = Order.objects.filter(customer_id=customer.cognito_id).order_by("-created_at", "-id")[:20]
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:backoffice_order_change", args=[o.id]),
                    o.id[:12],
                    o.created_at.strftime("%Y-%m-%d %H:%M"),
                    o.status,
                    format_cents(o.total_cents),
                )
                for o in latest
            ),
        )
        all_url = reverse("admin:backoffice_order_changelist") + f"?customer_id={customer.cognito_id}"
        return format_html(
            "<table><tr><th>order</th><th>placed</th><th>status</th><th>total</th></tr>{}</table>"
            '<p><a href="{}">All orders of this customer</a></p>',
            rows,
            all_url,
        )

    def get_urls(self):
        from backoffice import views

        return [
            path(
                "<str:customer_id>/sign-in/<str:action>/",
                self.admin_site.admin_view(views.CustomerSignInView.as_view(site=self.admin_site)),
                name="backoffice_customer_sign_in",
            ),
            *super().get_urls(),
        ]
