"""Voice hints from the page's own copy: sentence length, how it addresses the reader, words it repeats.

Hints, not a verdict: brand.yaml keeps the site's lines beside them so a marketer can rewrite the voice.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

_SENTENCE = re.compile(r"[^.!?。！？]+[.!?。！？]*")
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", re.U)
_YOU = re.compile(r"\b(you|your|yours|you're|bạn|vous|votre|du|dein|sie|ihr|tu|usted)\b", re.I)
_WE = re.compile(r"\b(we|our|us|we're|chúng tôi|nous|wir|unser|nosotros)\b", re.I)
# words too common to say anything about a brand (English; other languages keep all words of 4+ letters)
_STOP = set("""about after again also been before being best between both but came come could does each even every
from have here into just like made make many more most much must only other over same should since some such
than that their them then there these they this those through under until very want well were what when where
which while will with without would your yours shop home menu cart search account sign login free shipping""".split())


@dataclass(frozen=True)
class Voice:
    summary: str  # one line for brand.yaml `voice`
    words: list[str]  # words the site repeats
    samples: list[str]  # the lines it was read from


def voice_hints(description: str | None, headlines: list[str]) -> Voice | None:
    """Describe the tone of the description and headlines; None when the page has no copy."""
    lines = [h for h in headlines[:8] if h] + ([description] if description else [])
    text = " ".join(lines)
    # a headline is a sentence of its own even without a full stop
    sentences = [s.strip() for line in lines for s in _SENTENCE.findall(line) if _WORD.search(s)]
    if not sentences:
        return None
    words = _WORD.findall(text)
    avg = len(words) / len(sentences)
    traits = ["short sentences" if avg <= 12 else "longer, descriptive sentences"]
    if _YOU.search(text):
        traits.append("speaks to the reader as 'you'")
    if _WE.search(text):
        traits.append("speaks as 'we'")
    traits.append("uses exclamation marks" if "!" in text else "no exclamation marks")
    counts = Counter(w.lower() for w in words if len(w) >= 4 and w.lower() not in _STOP)
    repeated = [w for w, _ in counts.most_common(6)]
    summary = "Like the site: " + ", ".join(traits) + "."
    if repeated:
        summary += " Its words: " + ", ".join(repeated) + "."
    return Voice(summary=summary, words=repeated, samples=lines[:4])
