"""One copywriter round in a fresh process: print {"first": s, "cached": s, "checks": s} as JSON.

`first` is write_brief against the mock chat server in mode good (imports, prompt, request,
validation and rule checks); `cached` the same brief again, answered from the cache; `checks`
the rule checks alone on the six concepts (the language detector already loaded).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from llm_helpers import brand_and_channel, llm_cache, llm_settings, serum_notes  # noqa: E402

from creative.mock.openai import LlmMockOptions, MockLlmServer  # noqa: E402


def main() -> None:
    with MockLlmServer(LlmMockOptions(mode="good")) as server, tempfile.TemporaryDirectory() as tmp:
        settings = llm_settings(Path(tmp), server.base_url)
        brand, channel = brand_and_channel(settings)
        args = dict(brand=brand, channel_name="meta_static", channel=channel, offer="Buy 2 get 1", settings=settings,
                    cache_dir=llm_cache(settings))
        start = time.perf_counter()
        from creative.copy.llm_writer import copy_rules, write_brief

        brief, record = write_brief(serum_notes(), **args)
        first = time.perf_counter() - start
        start = time.perf_counter()
        write_brief(serum_notes(), **args)
        cached = time.perf_counter() - start
        from creative.copy.concept_rules import concept_errors

        rules = copy_rules(serum_notes(), brand=brand, channel_name="meta_static", channel=channel,
                           offer="Buy 2 get 1", avoid=())
        start = time.perf_counter()
        for concept in brief.concepts:
            concept_errors(concept, rules)
        checks = time.perf_counter() - start
    assert record.from_model and not record.fallback, record
    print(json.dumps({"first": first, "cached": cached, "checks": checks, "concepts": len(brief.concepts)}))


if __name__ == "__main__":
    main()
