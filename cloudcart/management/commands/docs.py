"""`manage.py docs [--write]`: regenerate the generated parts of docs/ (or list what is stale)."""

from django.core.management.base import BaseCommand, CommandError

from cloudcart.configuration_docs import CONFIGURATION_DOC, configuration_markdown
from cloudcart.error_codes import API_DOC, doc_with_table

ARCHITECTURE_DOC = API_DOC.parent / "architecture.md"


def generated_docs() -> dict:
    """{path: the text it should have}: the settings reference, the error-code table and the
    order life cycle's diagram."""
    from orders.lifecycle import doc_with_diagram

    return {
        CONFIGURATION_DOC: configuration_markdown(),
        API_DOC: doc_with_table(API_DOC.read_text()),
        ARCHITECTURE_DOC: doc_with_diagram(ARCHITECTURE_DOC.read_text()),
    }


class Command(BaseCommand):
    help = "Regenerate docs/configuration.md, the error-code table in docs/api.md and the life cycle diagram."

    def add_arguments(self, parser):
        parser.add_argument("--write", action="store_true", help="write the files (else: check them)")

    def handle(self, *args, write: bool = False, **options):
        stale = []
        for path, text in generated_docs().items():
            if path.exists() and path.read_text() == text:
                continue
            if write:
                path.write_text(text)
                self.stdout.write(f"wrote {path}")
            else:
                stale.append(str(path))
        if stale:
            raise CommandError(f"stale: {', '.join(stale)}; run `python manage.py docs --write`")
