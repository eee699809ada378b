"""SMALL_CATALOG: three providers that differ on every policy field, for focused tests.
Every known value is quoted from a page on its provider's own domain, as the loader requires.
The `small_catalog` fixture that loads it lives in tests/conftest.py."""

MONTH_PAGE = "https://month-ai.example/api-data"
SMALL_CATALOG = {
    "providers": [
        {
            "slug": "safe-ai",
            "name": "Safe AI",
            "headquarters": "DE",
            "domains": ["safe.example"],
            "policy": {
                "training": "no",
                "retention": "zero",
                "safety_retention": "none",
                "publishes_prompts": "no",
                "certifications": ["soc2", "iso27001"],
                "regions": ["eu"],
                "source_url": "https://safe.example/policy",
                "verified_at": "2026-10-01",
                "review_due": "2099-01-01",
                "evidence": {
                    "training": "We never train on API data.",
                    "retention": "We keep nothing.",
                    "safety_retention": "Nothing is kept, not even for abuse review.",
                    "publishes_prompts": "We never publish prompts.",
                    "certifications": "Safe AI holds SOC 2 and ISO 27001 certificates.",
                    "regions": "All inference and storage happen in the EU.",
                    "headquarters": "Safe AI GmbH, Berlin, Germany.",
                },
            },
        },
        {
            "slug": "month-ai",
            "name": "Month AI",
            "headquarters": "US",
            "domains": ["month-ai.example"],
            "policy": {
                "training": "no",
                "retention": "days",
                "retention_days": 30,
                "safety_retention": "flagged_only",
                "publishes_prompts": "no",
                "regions": ["us"],
                "verified_at": "2026-10-01",
                "review_due": "2099-01-01",
                "evidence": {
                    "training": {"quote": "We do not train on API data.", "source_url": MONTH_PAGE},
                    "retention": {
                        "quote": "API inputs are deleted after 30 days.",
                        "source_url": MONTH_PAGE,
                    },
                    "safety_retention": {
                        "quote": "Flagged content may be kept for review.",
                        "source_url": MONTH_PAGE,
                    },
                    "publishes_prompts": {
                        "quote": "Prompts are never published.",
                        "source_url": MONTH_PAGE,
                    },
                    "regions": {
                        "quote": "We serve from the United States only.",
                        "source_url": MONTH_PAGE,
                    },
                    "headquarters": {
                        "quote": "Month AI, Inc., Delaware.",
                        "source_url": MONTH_PAGE,
                    },
                },
            },
        },
        {
            "slug": "free-ai",
            "name": "Free AI",
            "headquarters": "US",
            "domains": ["free.example"],
            "policy": {
                "training": "yes",
                "retention": "indefinite",
                "publishes_prompts": "yes",
                "source_url": "https://free.example/terms",
                "evidence": {
                    "training": "We may use your prompts to improve our models.",
                    "retention": "We keep your prompts indefinitely.",
                    "publishes_prompts": "We may publish prompts.",
                    "headquarters": "Free AI, Inc., California.",
                },
            },
        },
    ],
    "models": [{"slug": "acme/chat", "name": "Acme Chat"}, {"slug": "acme/tiny", "name": "Tiny"}],
    "endpoints": [
        {"model": "acme/chat", "provider": "safe-ai"},
        {"model": "acme/chat", "provider": "month-ai"},
        {"model": "acme/chat", "provider": "free-ai"},
        {"model": "acme/tiny", "provider": "free-ai"},
        {
            "model": "acme/tiny",
            "provider": "month-ai",
            "policy": {
                "retention": "days",
                "retention_days": 90,
                "evidence": {
                    "retention": {
                        "quote": "Tiny's inputs are kept for 90 days.",
                        "source_url": "https://month-ai.example/tiny",
                    }
                },
            },
        },
    ],
}

# A provider the catalog gains: accounts whose settings it satisfies hear of it.
NEW_PROVIDER = {
    "providers": [
        {
            "slug": "new-ai",
            "name": "New AI",
            "headquarters": "FR",
            "domains": ["new.example"],
            "policy": {
                "training": "no",
                "retention": "zero",
                "regions": ["eu"],
                "source_url": "https://new.example/privacy",
                "evidence": {
                    "training": "We do not train on API data.",
                    "retention": "We keep nothing.",
                    "regions": "Everything stays in the EU.",
                    "headquarters": "New AI SAS, Paris.",
                },
            },
        }
    ],
    "models": [{"slug": "acme/chat", "name": "Acme Chat"}],
    "endpoints": [{"model": "acme/chat", "provider": "new-ai"}],
}
