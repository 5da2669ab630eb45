"""Request bodies: validated by an input serializer, which is also the browsable API's form."""


def validated(serializer_class, data) -> dict:
    """The body checked by `serializer_class`; a bad one raises DRF's ValidationError (400 `invalid`)."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class InputForm:
    """A view mixin: the browsable API builds its form from the view's `input_serializer`.

    Our views render plain dicts, never a serializer instance, so the form is always an empty one.
    """

    input_serializer = None

    def get_serializer(self, *args, **kwargs):
        kwargs.pop("instance", None)
        return self.input_serializer(*args, **kwargs)
