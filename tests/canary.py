"""Everything the product stores or caches, as text, so canary tests can prove a string
(a prompt, a secret) is nowhere in it."""

from django.core.cache import cache
from django.db import connection


def everything_stored() -> str:
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from introspection
            chunks.extend(str(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def everything_cached() -> str:
    backend = getattr(cache, "_cache", None)
    if isinstance(backend, dict):  # local memory
        return "\n".join(f"{key}={value!r}" for key, value in backend.items())
    client = cache._cache.get_client()
    return "\n".join(f"{key}={client.get(key)!r}" for key in client.scan_iter("*"))
