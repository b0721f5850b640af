"""The mock chat server speaks the OpenAI wire format: the real `openai` client reads its answers and errors."""

from __future__ import annotations

import json

import openai
import pytest

from creative.mock.openai import LlmMockOptions, MockLlmServer, read_request

SYSTEM = ("Write 2 ad concepts, one for each of these angles, in this order:\n  1. benefit: b\n  2. product: p\n"
          "- Headline at most 24 characters, subhead at most 60, CTA at most 16.\n"
          "- Never use these words: gentle, cheap.")
FACTS = {"facts": [{"fact": "product_name", "value": "Oat Milk Soap"},
                   {"fact": "features", "value": ["Gentle on dry hands", "Rich lather that rinses clean away"]}]}
MESSAGES = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": json.dumps(FACTS)}]


def test_good_answer_follows_the_prompt_it_reads():
    asked = read_request(MESSAGES)
    assert asked.angles == ["benefit", "product"] and asked.limits["headline"] == 24
    assert asked.banned == ["gentle", "cheap"]
    with MockLlmServer(LlmMockOptions(mode="good", api_key="k-123456")) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="k-123456", max_retries=0)
        response = client.chat.completions.create(model="mock-writer", messages=MESSAGES)
    concepts = json.loads(response.choices[0].message.content)["concepts"]
    assert [c["angle"] for c in concepts] == ["benefit", "product"]
    assert concepts[0]["headline"] == "Rich lather that rinses"  # the banned word's feature skipped, cut to 24
    assert response.usage.prompt_tokens == sum(len(m["content"]) for m in MESSAGES) // 4


def test_wrong_key_and_faults_are_openai_errors():
    with MockLlmServer(LlmMockOptions(api_key="right-key-123")) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="wrong-key-456", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            client.chat.completions.create(model="m", messages=MESSAGES)
    with MockLlmServer(LlmMockOptions(mode="429")) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=2)
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="m", messages=MESSAGES)
        assert len(server.state.requests) == 3  # the client backed off and retried twice


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown mock mode 'sleepy'"):
        MockLlmServer(LlmMockOptions(mode="sleepy"))
