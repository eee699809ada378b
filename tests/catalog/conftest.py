"""SMALL_CATALOG: three providers that differ on every policy field, for focused tests.
The `small_catalog` fixture that loads it lives in tests/conftest.py."""

SMALL_CATALOG = {
    "providers": [
        {
            "slug": "safe-ai",
            "name": "Safe AI",
            "headquarters": "DE",
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
                "evidence": {"retention": "We keep nothing."},
            },
        },
        {
            "slug": "month-ai",
            "name": "Month AI",
            "headquarters": "US",
            "policy": {
                "training": "no",
                "retention": "days",
                "retention_days": 30,
                "safety_retention": "flagged_only",
                "publishes_prompts": "no",
                "regions": ["us"],
                "verified_at": "2026-10-01",
                "review_due": "2099-01-01",
            },
        },
        {
            "slug": "free-ai",
            "name": "Free AI",
            "headquarters": "US",
            "policy": {"training": "yes", "retention": "indefinite", "publishes_prompts": "yes"},
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
            "policy": {"retention": "days", "retention_days": 90},
        },
    ],
}
