"""Catalogs the browser tests load for the live server."""

from catalog.catalog_file import parse_catalog
from catalog.loader import Loader
from catalog.policy import snapshot


def committed_catalog(catalog: dict):
    """Loads the catalog (committed: the live server sees it) around fresh snapshots."""
    # The live server runs in a thread of this process and shares its snapshot; after the
    # flush between tests, a snapshot of another catalog may carry the same version number.
    snapshot.forget()
    Loader().load(parse_catalog(catalog))
    snapshot.forget()
    yield catalog
    snapshot.forget()
