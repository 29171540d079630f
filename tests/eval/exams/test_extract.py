"""Answer-letter extraction on a table of tricky model outputs."""

from __future__ import annotations

import pytest

from medgo.eval.suites.exams_extract import extract_letters

OPTS = {"A": "卵巢", "B": "乳腺", "C": "肝脏", "D": "脾脏", "E": "以上都不对"}
TABLE = [
    ("答案：A、C", "AC"), ("选B", "B"), ("(D)", "D"), ("答案是B和D", "BD"), ("选C。", "C"), ("(E)", "E"),
    ("Ｂ", "B"), ("答案：（Ｄ）", "D"), ("正确答案为：Ｃ．肝脏", "C"), ("A. 卵巢", "A"), ("ACD", "ACD"),
    ("我认为选项B正确", "B"), ("答案：A，B，E", "ABE"), ("A错误，B错误，因此答案为C", "C"), ("答：E", "E"),
    ("B超检查显示异常，答案是D", "D"), ("The answer is B", "B"), ("【C】", "C"), ("C：肝脏", "C"),
    ("以上都不对", "E"),  # the text of option E
    ("根据B超结果无法判断", None), ("DNA检测", None), ("", None), ("不知道", None), ("A型血和B型血都有可能", None),
]


@pytest.mark.parametrize(("text", "want"), TABLE)
def test_extract(text: str, want: str | None) -> None:
    got = extract_letters(text, OPTS)
    assert (None if got is None else "".join(sorted(got))) == want


def test_option_text_needs_options_and_a_letter_set() -> None:
    assert extract_letters("以上都不对", "ABCDE") is None  # no option texts given: nothing to match
    assert extract_letters("答案：E", "ABCD") is None  # E is not an option of a 4-option question
