"""Document quality filters. Each returns a reject reason ("name: detail") or None, so the manifest can
count refusals per filter."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from medgo.config.data_prep import FilterConfig

Filter = Callable[[str], str | None]

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_BOILER = re.compile(
    r"版权所有|All rights reserved|未经授权|禁止转载|转载请注明|点击(?:这里|查看|下载|进入)|扫码|扫一扫|"
    r"关注(?:我们|公众号|微信)|免责声明|cookie|登录|注册|上一篇|下一篇|返回(?:首页|顶部)|广告|客服热线|ICP备",
    re.I,
)


def length_filter(cfg: FilterConfig) -> Filter:
    def f(text: str) -> str | None:
        n = len(text)
        if n < cfg.min_chars:
            return f"too short: {n} < min_chars={cfg.min_chars}"
        if n > cfg.max_chars:
            return f"too long: {n} > max_chars={cfg.max_chars}"
        return None

    return f


def cjk_ratio(text: str) -> float:
    body = "".join(text.split())
    return len(_CJK.findall(body)) / len(body) if body else 0.0


def cjk_filter(cfg: FilterConfig) -> Filter:
    def f(text: str) -> str | None:
        r = cjk_ratio(text)
        return f"low cjk ratio: {r:.2f} < {cfg.min_cjk_ratio}" if r < cfg.min_cjk_ratio else None

    return f


def dup_line_ratio(text: str) -> float:
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if len(lines) < 3:
        return 0.0
    counts = Counter(lines)
    dup_chars = sum(len(ln) * (c - 1) for ln, c in counts.items() if c > 1)
    return dup_chars / max(1, sum(len(ln) for ln in lines))


def dup_line_filter(cfg: FilterConfig) -> Filter:
    def f(text: str) -> str | None:
        r = dup_line_ratio(text)
        return f"repeated lines: {r:.2f} > {cfg.max_dup_line_ratio}" if r > cfg.max_dup_line_ratio else None

    return f


def top_ngram_ratio(text: str, n: int) -> float:
    """Share of characters covered by the most frequent character n-gram (Gopher-style, chars not words,
    since Chinese has no spaces)."""
    body = "".join(text.split())
    if len(body) < 200:
        return 0.0  # too short to judge: a title repeated in a short question is normal
    grams = Counter(body[i : i + n] for i in range(len(body) - n + 1))
    gram, count = grams.most_common(1)[0]
    return min(1.0, count * n / len(body))


def ngram_filter(cfg: FilterConfig) -> Filter:
    def f(text: str) -> str | None:
        r = top_ngram_ratio(text, cfg.ngram)
        return f"repeated ngrams: {r:.2f} > {cfg.max_top_ngram_ratio}" if r > cfg.max_top_ngram_ratio else None

    return f


def boilerplate_filter(cfg: FilterConfig) -> Filter:
    def f(text: str) -> str | None:
        lines = [ln for ln in text.split("\n") if ln.strip()]
        if not lines:
            return None
        bad = sum(1 for ln in lines if len(ln) < 80 and _BOILER.search(ln))
        r = bad / len(lines)
        return f"boilerplate: {r:.2f} of lines > {cfg.max_boilerplate_line_ratio}" if r > cfg.max_boilerplate_line_ratio else None

    return f


def build_filters(cfg: FilterConfig) -> list[Filter]:
    """Cheap filters first so expensive ones see fewer documents."""
    fs = [length_filter(cfg)]
    if cfg.min_cjk_ratio > 0:
        fs.append(cjk_filter(cfg))
    if cfg.max_boilerplate_line_ratio > 0:
        fs.append(boilerplate_filter(cfg))
    if cfg.max_dup_line_ratio > 0:
        fs.append(dup_line_filter(cfg))
    if cfg.max_top_ngram_ratio > 0:
        fs.append(ngram_filter(cfg))
    return fs


def apply_filters(text: str, filters: list[Filter]) -> str | None:
    for f in filters:
        reason = f(text)
        if reason:
            return reason
    return None
