"""Answer letters from free model text: '答案：A、C', '选B', '(D)', full-width 'Ｂ', chain-of-thought ending in
'因此答案为C', bare 'ACD'; letters inside terms such as 'B超', 'DNA', 'A型血' are not answers."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

SEP = r"[\s、,，和与及/&]*"
TERM_AFTER = "超型族类级区组期度"  # 'B超', 'A型', 'B族', 'Ⅱ级' …: a letter glued to these is a term
_MARKER = r"(?:正确)?(?:答案|选项|答)\s*(?:应该?|应当)?\s*(?:是|为|选)?\s*[:：]?\s*"


def _letters_re(letters: str) -> str:
    return f"[{letters}]"


def extract_letters(text: str, options: Mapping[str, str] | str = "ABCDE") -> frozenset[str] | None:
    """The set of answer letters, or None when the text names none. `options` (letter -> option text) also lets
    an answer given as the option's text ('以上都不对') count when exactly one option's text appears."""
    letters = "".join(options) if not isinstance(options, str) else options
    s = unicodedata.normalize("NFKC", text or "").strip()  # full-width Ａ（）：→ A():
    if not s:
        return None
    L = _letters_re(letters)
    group = rf"({L}(?:{SEP}{L})*)(?![A-Za-z{TERM_AFTER}])"
    # 1. explicit markers; the last one wins (reasoning first, conclusion last)
    hits = list(re.finditer(rf"(?:{_MARKER}|选择?\s*|选项\s*){group}", s))
    if hits:
        return frozenset(re.findall(L, hits[-1].group(1)))
    # 2. the whole reply, or its start, is the letters ('ACD', 'B.', 'C：xxx', '(D)')
    m = re.match(rf"^[(\[【]?{group}[)\]】]?(?:$|[\s.。．:：、,，)])", s)
    if m:
        return frozenset(re.findall(L, m.group(1)))
    # 3. a parenthesised letter anywhere: '(E)'
    paren = set(re.findall(rf"[(\[【]({L})[)\]】]", s))
    if len(paren) == 1:
        return frozenset(paren)
    # 4. exactly one standalone letter in the text
    alone = set(re.findall(rf"(?<![A-Za-z0-9])({L})(?![A-Za-z0-9{TERM_AFTER}])", s))
    if len(alone) == 1:
        return frozenset(alone)
    # 5. the text of exactly one option
    if not isinstance(options, str):
        named = {k for k, v in options.items() if v and len(v) >= 2 and v in s}
        if len(named) == 1:
            return frozenset(named)
    return None
