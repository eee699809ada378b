"""What real clients send, resolved on the shipped catalog: bodies built by the OpenAI Python SDK
itself, OpenRouter's documented provider-routing examples, and the seed page's own examples.

Each table row is (name, body, expected status, expected eligible endpoint ids in routing order,
or a predicate over the shipped catalog file for `anyapi/auto`). Seeding the shipped catalog takes
seconds, so each table is one test that seeds once and reports every row that went wrong.
"""

import json
import logging
import re
from pathlib import Path

import httpx2
import openai
import pytest
from django.core.management import call_command

from dashboard.models import ApiKey, PrivacyDefaults
from tests.canary import everything_cached, everything_stored

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
CANARY = "CANARY-7d41-client-bodies"
IMAGE = "data:image/png;base64," + "iVBORw0KGgo" * 20_000  # ~220 KB of image data


# --- The shipped catalog as a file, for the anyapi/auto rows' expectations ----------------------


def shipped_endpoints() -> list[dict]:
    """Every endpoint of catalog.json with its provider default merged under its override."""
    data = json.loads((ROOT / "catalog/data/catalog.json").read_text())
    defaults = {p["slug"]: p["policy"] for p in data["providers"]}
    retired = {m["slug"] for m in data["models"] if m.get("retired")}
    return [
        {
            "id": f"{e['model']}@{e['provider']}",
            **defaults[e["provider"]],
            **(e.get("policy") or {}),
            "enabled": e.get("enabled", True) and e["model"] not in retired,
        }
        for e in data["endpoints"]
    ]


def auto_where(**fields) -> list[str]:
    return sorted(
        e["id"]
        for e in shipped_endpoints()
        if e["enabled"] and all(e.get(name, "unknown") == value for name, value in fields.items())
    )


# --- Bodies built by the OpenAI SDK -------------------------------------------------------------

COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 0,
    "model": "m",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
    ],
}


def sdk_body(**create) -> bytes:
    """The exact bytes `openai` sends for `chat.completions.create(**create)`."""
    sent = []

    def gateway(request: httpx2.Request) -> httpx2.Response:
        sent.append(request.content)
        if create.get("stream"):
            return httpx2.Response(
                200, content=b"data: [DONE]\n\n", headers={"content-type": "text/event-stream"}
            )
        return httpx2.Response(200, json=COMPLETION)

    client = openai.OpenAI(
        api_key="sk-test",
        base_url="http://gateway.invalid/v1",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(gateway)),
    )
    answer = client.chat.completions.create(**create)
    if create.get("stream"):
        list(answer)
    return sent[0]


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup_invoice",
            "description": f"Find an invoice {CANARY}",
            "parameters": {
                "type": "object",
                "properties": {"number": {"type": "string", "description": CANARY}},
                "required": ["number"],
            },
        },
    }
]
MESSAGES = [
    {"role": "system", "content": f"You are an auditor. {CANARY}"},
    {"role": "user", "content": f"Analyze this confidential financial report: {CANARY}"},
]
MULTIMODAL = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": f"What does this chart show? {CANARY}"},
            {"type": "image_url", "image_url": {"url": IMAGE, "detail": "high"}},
        ],
    }
]
SONNET = "anthropic/claude-3.5-sonnet"
# Anthropic retired 3.5 Sonnet on its own API: that endpoint is disabled, the clouds still serve it.
SONNET_ALL = [f"{SONNET}@amazon-bedrock", f"{SONNET}@google-vertex"]
MIXTRAL = "mistralai/mixtral-8x7b-instruct"
LLAMA = "meta-llama/llama-3.3-70b-instruct"
# The providers whose own model lists show Llama 3.3 70B (Cerebras deprecated it: disabled).
LLAMA_PROVIDERS = [
    "amazon-bedrock",
    "cloudflare",
    "deepinfra",
    "meta",
    "sambanova",
    "together",
    "venice",
    "wandb",
]
LLAMA_ALL = [f"{LLAMA}@{p}" for p in LLAMA_PROVIDERS]


def sdk_rows():
    return [
        (
            "tools, tool_choice, user and metadata",
            sdk_body(
                model=SONNET,
                messages=MESSAGES,
                tools=TOOLS,
                tool_choice="auto",
                temperature=0.2,
                user=CANARY,
                metadata={"ticket": CANARY},
                store=False,
            ),
            200,
            SONNET_ALL,
        ),
        (
            "response_format, stream_options and extra_body.provider with hard order",
            sdk_body(
                model="openai/gpt-4o",
                messages=MESSAGES,
                stream=True,
                stream_options={"include_usage": True},
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": "report", "schema": {"type": "object"}},
                },
                extra_body={
                    "provider": {
                        "data_collection": "deny",
                        "order": ["Azure"],
                        "allow_fallbacks": False,
                    }
                },
            ),
            200,
            ["openai/gpt-4o@azure"],
        ),
        (
            "multimodal content with zero data retention",
            sdk_body(
                model=LLAMA,
                messages=MULTIMODAL,
                max_tokens=300,
                extra_body={"provider": {"zdr": True, "data_collection": "deny"}},
            ),
            200,
            [f"{LLAMA}@deepinfra"],  # Venice keeps nothing too, but says nothing on training
        ),
        (
            "a :nitro variant with an endpoint tag, nulls and an empty only list",
            sdk_body(
                model=f"{LLAMA}:nitro",
                messages=MESSAGES,
                extra_body={
                    "provider": {
                        "order": ["deepinfra/turbo"],
                        "only": [],
                        "ignore": None,
                        "max_price": {"prompt": 1, "completion": 2},
                    }
                },
            ),
            200,
            [f"{LLAMA}@deepinfra", *(e for e in LLAMA_ALL if not e.endswith("@deepinfra"))],
        ),
        (
            "openrouter/auto with a models fallback list and route",
            sdk_body(
                model="openrouter/auto",
                messages=MESSAGES,
                extra_body={"models": [SONNET], "route": "fallback", "provider": {"zdr": True}},
            ),
            200,
            auto_where(retention="zero"),
        ),
        (
            "zero retention where the model has none",
            sdk_body(
                model="openai/gpt-4o-mini",
                messages=MESSAGES,
                extra_body={"provider": {"zdr": True}},
            ),
            422,
            [],
        ),
        (
            "the :online variant",
            sdk_body(model=f"{SONNET}:online", messages=MESSAGES),
            400,
            [],
        ),
    ]


# --- OpenRouter's documented examples -----------------------------------------------------------
# From https://openrouter.ai/docs/features/provider-routing (section named in each row) unless the
# row says otherwise. Where the docs' model is not in the shipped catalog, the row uses the
# nearest one it has (llama-3.3-70b for llama-3.1-70b) and says so.

PROVIDER_ROUTING = [
    (
        "Ordering Specific Providers (llama-3.3-70b for mixtral: only Mistral serves Mixtral)",
        {"model": LLAMA, "provider": {"order": ["openai", "together"]}},
        200,
        [f"{LLAMA}@together", *(e for e in LLAMA_ALL if not e.endswith("@together"))],
    ),
    (
        "Example: Specifying providers with fallbacks disabled (llama-3.3-70b for mixtral)",
        {"model": LLAMA, "provider": {"order": ["openai", "together"], "allow_fallbacks": False}},
        200,
        [f"{LLAMA}@together"],
    ),
    (
        "Targeting Specific Provider Endpoints (llama-3.3-70b for llama-3.1-70b)",
        {"model": LLAMA, "provider": {"order": ["deepinfra/turbo"], "allow_fallbacks": False}},
        200,
        [f"{LLAMA}@deepinfra"],
    ),
    (
        "Requiring Providers to Support All Parameters (llama-3.3-70b for mixtral)",
        {"model": LLAMA, "provider": {"require_parameters": True}},
        200,
        LLAMA_ALL,
    ),
    (
        "Requiring Providers to Comply with Data Policies",
        {"model": LLAMA, "provider": {"data_collection": "deny"}},
        200,
        [f"{LLAMA}@{p}" for p in ("cloudflare", "deepinfra", "meta", "wandb")],
    ),
    (
        "Zero Data Retention Enforcement",
        {"model": LLAMA, "provider": {"zdr": True}},
        200,
        [f"{LLAMA}@{p}" for p in ("deepinfra", "venice")],
    ),
    (
        "Disabling Fallbacks (llama-3.3-70b for mixtral)",
        {"model": LLAMA, "provider": {"allow_fallbacks": False}},
        200,
        LLAMA_ALL,
    ),
    (
        "Allowing Only Specific Providers",
        {"model": "openai/gpt-4o", "provider": {"only": ["azure"]}},
        200,
        ["openai/gpt-4o@azure"],
    ),
    (
        "Ignoring Providers",
        {"model": LLAMA, "provider": {"ignore": ["deepinfra"]}},
        200,
        [e for e in LLAMA_ALL if not e.endswith("@deepinfra")],
    ),
    (
        "Quantization (llama-3.1-8b)",
        {"model": "meta-llama/llama-3.1-8b-instruct", "provider": {"quantizations": ["fp8"]}},
        200,
        [
            f"meta-llama/llama-3.1-8b-instruct@{p}"
            for p in ("amazon-bedrock", "cloudflare", "wandb")
        ],
    ),
    (
        "Provider Sorting",
        {"model": LLAMA, "provider": {"sort": "throughput"}},
        200,
        LLAMA_ALL,
    ),
    ("Nitro Shortcut", {"model": f"{LLAMA}:nitro"}, 200, LLAMA_ALL),
    ("Floor Price Shortcut", {"model": f"{LLAMA}:floor"}, 200, LLAMA_ALL),
    (
        "Maximum Price",
        {
            "model": LLAMA,
            "provider": {"sort": "throughput", "max_price": {"prompt": 1, "completion": 2}},
        },
        200,
        LLAMA_ALL,
    ),
    (
        "Performance thresholds (preferred_min_throughput, preferred_max_latency)",
        {
            "model": LLAMA,
            "provider": {"preferred_min_throughput": {"p90": 50}, "preferred_max_latency": 3},
        },
        200,
        LLAMA_ALL,
    ),
    (
        "Provider names as clients write them: display names and a regional endpoint tag",
        {"model": SONNET, "provider": {"only": ["Amazon Bedrock", "google-vertex/us-east5"]}},
        200,
        [f"{SONNET}@amazon-bedrock", f"{SONNET}@google-vertex"],
    ),
    (
        "Model Fallbacks, https://openrouter.ai/docs/features/model-routing",
        {"models": [SONNET, "gryphe/mythomax-l2-13b"]},
        200,
        SONNET_ALL,
    ),
    (
        "Auto Router, https://openrouter.ai/docs/features/model-routing",
        {"model": "openrouter/auto", "provider": {"data_collection": "deny", "zdr": True}},
        200,
        auto_where(training="no", retention="zero"),
    ),
    (
        ":online, https://openrouter.ai/docs/features/web-search",
        {"model": f"{SONNET}:online"},
        400,
        [],
    ),
    (
        "The web plugin, https://openrouter.ai/docs/features/web-search",
        {"model": SONNET, "plugins": [{"id": "web", "max_results": 3}]},
        400,
        [],
    ),
]


# --- The seed page's examples -------------------------------------------------------------------


def shared_dir() -> Path:
    """`shared/` beside the checkout (PRODUCT.md and the seed live there, outside the repo)."""
    for parent in ROOT.parents:
        if (parent / "shared" / "seed").is_dir():
            return parent / "shared"
    pytest.fail("no shared/seed beside the checkout: the seed's examples are read from there")


def seed_examples() -> list[dict]:
    """Each JSON example of the seed page, with its `//` comments stripped; the page writes its
    messages as `[...]`, which becomes one user message carrying the canary."""
    text = next((shared_dir() / "seed").glob("*.txt")).read_text()
    examples = []
    for block in re.findall(r"^\{\n.*?^\}$", text, flags=re.MULTILINE | re.DOTALL):
        block = re.sub(r"\s*//[^\n]*", "", block)
        block = block.replace("[...]", json.dumps([{"role": "user", "content": CANARY}]))
        examples.append(json.loads(block))
    return examples


def test_the_seed_page_has_the_examples_this_table_resolves():
    assert [sorted(example) for example in seed_examples()] == [
        ["data_policy", "messages", "model"],
        ["messages", "model", "providers"],
    ]


def seed_rows():
    training_and_retention, request_level = seed_examples()
    return [
        (
            # No training and at most 30 days for 3.5 Sonnet: Anthropic retired it on its API,
            # and neither Bedrock (training unknown) nor Vertex (retention unknown) proves both.
            "Training Data Policies",
            training_and_retention,
            422,
            [],
        ),
        (
            "Request-Level Protection",
            request_level,
            200,
            auto_where(training="no", retention="zero"),
        ),
    ]


# --- The tables, over HTTP ----------------------------------------------------------------------


@pytest.fixture
def post(client, personas):
    call_command("seed_catalog", verbosity=0)
    # No account defaults: the rows test what the request alone does.
    PrivacyDefaults.objects.create(account=personas.account, classification=None)
    secret = ApiKey.issue(name="gateway", account=personas.account)[1]

    def send(body):
        return client.post(
            "/api/v1/policy/resolve",
            data=body if isinstance(body, bytes) else json.dumps(body),
            content_type="application/json",
            headers={"Authorization": f"Bearer {secret}"},
        )

    return send


def mismatches(post, rows) -> list[str]:
    wrong = []
    for name, body, status, eligible in rows:
        response = post(body)
        answer = response.json()
        got = [e["endpoint"] for e in answer.get("eligible", [])]
        if response.status_code != status or (status == 200 and got != eligible):
            wrong.append(f"{name}: {response.status_code} {got or answer.get('error')}")
    return wrong


def test_bodies_built_by_the_openai_sdk_resolve_and_leave_no_trace(post, caplog):
    caplog.set_level(logging.DEBUG)
    assert mismatches(post, sdk_rows()) == []
    assert CANARY not in everything_stored()
    assert CANARY not in everything_cached()
    assert CANARY not in caplog.text


def test_openrouters_documented_provider_routing_examples_resolve(post):
    assert mismatches(post, PROVIDER_ROUTING) == []


def test_the_seed_pages_examples_resolve(post, caplog):
    caplog.set_level(logging.DEBUG)
    assert mismatches(post, seed_rows()) == []
    assert CANARY not in everything_stored() and CANARY not in caplog.text


def test_a_sdk_body_says_what_it_ignored_and_warned_about(post):
    body = sdk_body(
        model=f"{MIXTRAL}:floor",
        messages=MESSAGES,
        extra_body={
            "models": ["gryphe/mythomax-l2-13b"],
            "provider": {
                "sort": "price",
                "quantizations": ["fp8"],
                "order": ["Togther"],
                "experimental": {"force_chat_completions": True},
            },
        },
    )
    answer = post(body).json()
    assert answer["model"] == MIXTRAL
    assert answer["ignored"] == ["provider.quantizations", "provider.sort", "provider.experimental"]
    assert [(w["code"], w["field"]) for w in answer["warnings"]] == [
        ("unknown_model", "models.0"),
        ("unknown_provider", "provider.order.0"),
    ]


def test_request_constraints_say_they_came_from_the_request(post):
    body = {
        "model": "openai/gpt-oss-120b",
        "provider": {"zdr": True, "ignore": ["Groq"], "only": ["groq", "fireworks", "cerebras"]},
    }
    answer = post(body).json()
    assert answer["effective_policy"]["sources"] == {
        "require:zero-retention": "request",
        "exclude:groq": "request",
        "only": "request",
    }
    reasons = {x["provider"]: x["reasons"] for x in answer["excluded"]}
    assert {r["source"] for rs in reasons.values() for r in rs} == {"request"}
    assert {r["code"] for r in reasons["groq"]} == {"not_zero_retention", "provider_excluded"}
