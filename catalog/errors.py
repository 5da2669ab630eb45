"""The catalog's domain errors: unknown products, staff writes (versions, stock, ids) and image uploads."""

from rest_framework import status

from cloudcart.errors import ApplicationError


class ProductNotFound(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "product_not_found"
    default_detail = "No product with this id."


class PreconditionFailed(ApplicationError):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "precondition_failed"
    default_detail = "The product changed since you read it; re-read it and apply your change again."


class PreconditionRequired(ApplicationError):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_code = "precondition_required"
    default_detail = "Send the version you read as `If-Match` (or `version` in a form)."


class StockBelowZero(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "stock_below_zero"
    default_detail = "The change would take the stock below zero."


class StockChanged(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "stock_changed"
    default_detail = "The stock moved since it was counted (`expected`): count again against `stock`."


class ProductExists(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "product_exists"
    default_detail = "A product with this id already exists."


class UploadKeyInvalid(ApplicationError):
    default_code = "upload_key_invalid"
    default_detail = "The key is not one of this product's uploads (products/{id}/...)."


class UploadNotFound(ApplicationError):
    default_code = "upload_not_found"
    default_detail = "No uploaded object with this key."


class UploadTypeNotAllowed(ApplicationError):
    default_code = "upload_type_not_allowed"
    default_detail = "The uploaded object is not an image/jpeg, image/png or image/webp."


class UploadTooLarge(ApplicationError):
    default_code = "upload_too_large"
    default_detail = "The uploaded object is larger than the image size limit."


class UploadContentMismatch(ApplicationError):
    default_code = "upload_content_mismatch"
    default_detail = "The uploaded object's bytes are not the image type it claims to be."
