"""The account's and the key's layers of the effective policy (PRODUCT.md §2, "Layering").

Account privacy defaults and per-key guardrails are stored by the privacy-settings feature;
until an account has set any, its layers constrain nothing and resolution follows the request.
"""

from catalog import resolver


def layers_for_key(key) -> list[tuple[str, resolver.Constraints]]:
    return []
