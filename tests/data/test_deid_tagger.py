"""The learned name detector: corpus reading, name planting, training, and its use beside the rules."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from medgo.config.data_prep import DeidConfig
from medgo.data.deid import deidentify, find_phi
from medgo.data.deid_tagger_train import NameSampler, iter_texts, plant_names, segments
from medgo_testkit import DEID_NAMES_HELD_OUT as NAMES_HELD_OUT
from medgo_testkit import DEID_SENTENCES as SENTENCES


def test_iter_texts_reads_txt_json_jsonl_and_folders(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("患者诉头痛两天，无呕吐。\nok\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(json.dumps({"id": 1, "text": "患儿发热一天，体温最高39度。"}) + "\n", encoding="utf-8")
    (tmp_path / "c.json").write_text(json.dumps([{"dialogue": [{"speaker": "医生", "sentence": "您好，哪里不舒服呢？"}]}]),
                                     encoding="utf-8")
    (tmp_path / "d.txt").write_bytes("患者咳嗽咳痰一周余。".encode("gb18030"))
    got = sorted(iter_texts(tmp_path))
    assert got == sorted(["患者诉头痛两天，无呕吐。", "患儿发热一天，体温最高39度。", "您好，哪里不舒服呢？", "患者咳嗽咳痰一周余。"])


def test_segments_are_sentence_aligned_and_bounded() -> None:
    text = "患者诉头痛。" * 50 + "长" * 300
    parts = list(segments(text, 40))
    assert "".join(parts) == text
    assert max(len(p) for p in parts) <= 40
    assert parts[0].endswith("。")


def test_planted_names_are_labelled_where_they_stand() -> None:
    r = random.Random(0)
    sample = NameSampler(r, [])
    planted_any = False
    for s in SENTENCES:
        out, spans = plant_names(s, sample, r)
        for a, b in spans:
            planted_any = True
            name = out[a:b]
            assert 2 <= len(name) <= 4 and name not in s
        # outside the names (and brackets put round a kin word) the sentence is the original, at most missing
        # the role words a name replaced
        # (and the separator put between two names planted side by side)
        pairs = {b for (_, b), (a2, _) in zip(spans, spans[1:], strict=False) if a2 == b + 1}
        rest = "".join(c for k, c in enumerate(out) if not any(a <= k < b for a, b in spans) and k not in pairs)
        rest = rest.replace("（", "").replace("）", "").replace("(", "").replace(")", "")
        it = iter(s)
        assert all(c in it for c in rest), (s, out)
    assert planted_any


def test_pronouns_become_names_but_not_inside_words() -> None:
    r = random.Random(3)
    sample = NameSampler(r, [])
    text = "他说昨晚头痛，给她开了阿托伐他汀和他克莫司，其他无特殊，她们都同意，吉他不弹了。"
    replaced = 0
    for _ in range(40):
        out, spans = plant_names(text, sample, r)
        for w in ("阿托伐他汀", "他克莫司", "其他", "她们", "吉他"):
            assert w in out, out
        replaced += out.count("他") + out.count("她") < text.count("他") + text.count("她")
        assert all(out[a] != "他" and out[a] != "她" for a, _ in spans)
    assert replaced >= 30  # he / she become a name in most documents


def test_given_name_pool_reaches_beyond_the_common_characters() -> None:
    from medgo.data.deid_lexicon import COMMON_GIVEN

    r = random.Random(5)
    sample = NameSampler(r, [])
    given = "".join(n[1:] for n in (sample() for _ in range(2000)))
    assert sum(c not in COMMON_GIVEN for c in given) > 0.15 * len(given)


def test_left_boundary_reads_the_word_before() -> None:
    from medgo.data.deid_tagger import plausible

    assert plausible("早上周美华说想喝粥", 2, 5)  # 早上 + 周美华, not 上周
    assert not plausible("如何才能好转", 1, 4)  # 如何 + 才能: no name 何才能
    assert not plausible("项目：石杉碱甲改善认知", 3, 6) and not plausible("项目：石杉碱甲改善认知", 3, 5)  # a chemical


def test_unsure_readings_of_one_string_add_up(tiny_deid_tagger: Path) -> None:
    from medgo.data.deid_tagger import load_tagger

    t = load_tagger(tiny_deid_tagger)
    text = "黄卫红说头痛。黄卫红问能否出院。黄卫红签字。王大夫查房。"
    several = [(0, 3, 0.3), (7, 10, 0.35), (16, 19, 0.3), (23, 25, 0.4)]
    assert t._document_evidence(text, several) == several[:3]  # 1 - 0.7 * 0.65 * 0.7 = 0.68; 王大 alone: no
    assert t._document_evidence(text, [(0, 3, 0.3)]) == []
    assert t._document_evidence(text, [(0, 3, 0.8)]) == [(0, 3, 0.8)]


def test_tagger_finds_names_with_no_cue_that_the_rules_miss(tiny_deid_tagger: Path) -> None:
    cfg = DeidConfig(tagger=str(tiny_deid_tagger))
    found_rules = found_tagger = 0
    for name in NAMES_HELD_OUT:
        for s in ("凌晨3点患者突然坐起喊叫，予以安抚。", "患者自觉乏力3天，无发热。", "今晨患者拒绝进食，已告知医生。"):
            text = s.replace("患者", name, 1)
            found_rules += name not in deidentify(text)
            found_tagger += name not in deidentify(text, cfg)
    assert found_tagger >= 10, found_tagger  # of 15; the rules alone find none of them
    assert found_rules == 0


def test_tagger_names_are_replaced_at_every_occurrence(tiny_deid_tagger: Path) -> None:
    cfg = DeidConfig(tagger=str(tiny_deid_tagger))
    text = "凌晨2点李杭生诉胸闷，心电监护示窦性心动过速。李杭生既往体健。"
    out = deidentify(text, cfg)
    assert "李杭生" not in out and out.count("[姓名]") == 2, out


def test_tagger_keeps_clinical_words(tiny_deid_tagger: Path) -> None:
    cfg = DeidConfig(tagger=str(tiny_deid_tagger))
    text = "患者口服王不留行、白芍，血压平稳，既往高血压病史5年。"
    assert deidentify(text, cfg) == text


def test_a_missing_tagger_names_the_folder_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="medgo data deid-train"):
        find_phi("患者诉头痛。", DeidConfig(tagger=str(tmp_path / "nope")))


def test_cli_deid_with_tagger_and_deid_train_errors(tmp_path: Path, tiny_deid_tagger: Path) -> None:
    from typer.testing import CliRunner

    from medgo.cli.main import app

    src = tmp_path / "notes.jsonl"
    src.write_text(json.dumps({"text": "今晨王永福拒绝进食，已告知医生。王永福情绪低落。"}, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    out = tmp_path / "out.jsonl"
    r = CliRunner().invoke(app, ["data", "deid", "--in", str(src), "--out", str(out), "--tagger", str(tiny_deid_tagger)])
    assert r.exit_code == 0, r.output
    row = json.loads(out.read_text("utf-8").splitlines()[0])
    assert "王永福" not in row["text"] and "拒绝进食" in row["text"]
    r = CliRunner().invoke(app, ["data", "deid-train", "--corpus", str(tmp_path / "missing"), "--out", str(tmp_path / "t")])
    assert r.exit_code == 2 and "no such file or folder" in r.output
    r = CliRunner().invoke(app, ["data", "deid-train", "--corpus", str(src), "--labelled", str(tmp_path / "gold.jsonl"),
                                 "--out", str(tmp_path / "t")])
    assert r.exit_code == 2 and "--labelled" in r.output and "no such file" in r.output
    r = CliRunner().invoke(app, ["data", "deid-train", "--corpus", str(src), "--negatives", str(tmp_path / "f.txt"),
                                 "--out", str(tmp_path / "t")])
    assert r.exit_code == 2 and "--negatives" in r.output and "f.txt: no such file" in r.output


def test_decoding_goes_on_past_a_lone_confident_start() -> None:
    # a confident start with no confident continuation takes the rules' reading of the name's end; the decoder
    # once reused the text's length variable for it and stopped there, losing every name after it
    from medgo.data.deid_tagger import NameTagger

    t = object.__new__(NameTagger)
    t.threshold = 0.5
    text = "今晨王建国诉头痛，予对症处理，夜间安静入睡。禁食禁饮的要求交由蒋春晖宣教。"
    p = [(0.0, 0.0)] * len(text)
    a, b = text.index("王"), text.index("蒋")
    p[a] = (0.9, 0.0)  # 王 sure, 建国 unsure
    p[b], p[b + 1], p[b + 2] = (0.8, 0.0), (0.0, 0.9), (0.0, 0.9)
    found = [text[x:y] for x, y, _ in t._decode(text, p)]
    assert found == ["王建国", "蒋春晖"], found


def test_members_are_averaged(tiny_deid_tagger: Path, tmp_path: Path) -> None:
    import shutil

    import torch

    from medgo.data.deid_tagger import NameTagger

    ens = tmp_path / "ens"
    shutil.copytree(tiny_deid_tagger, ens)
    shutil.copytree(tiny_deid_tagger, ens / "member1")
    state = torch.load(ens / "member1" / "tagger.pt", weights_only=True)
    state = {k: torch.zeros_like(v) if k.startswith("out.") else v for k, v in state.items()}
    torch.save(state, ens / "member1" / "tagger.pt")  # this member says 1/3 for every tag everywhere
    text = "凌晨3点李杭生突然坐起喊叫。"
    one = NameTagger(tiny_deid_tagger).probs([text])[0]
    both = NameTagger(ens).probs([text])[0]
    assert len(NameTagger(ens).members) == 2
    for (b1, i1), (b2, i2) in zip(one, both, strict=True):
        assert abs(b2 - (b1 + 1 / 3) / 2) < 1e-5 and abs(i2 - (i1 + 1 / 3) / 2) < 1e-5


def test_training_members_writes_each_and_drops_stale_ones(tmp_path: Path) -> None:
    from medgo.data.deid_tagger import NameTagger
    from medgo.data.deid_tagger_train import TaggerTrainConfig, train_tagger

    corpus = tmp_path / "records.txt"
    corpus.write_text("\n".join(SENTENCES * 5), encoding="utf-8")
    out = tmp_path / "tagger"
    (out / "member5").mkdir(parents=True)
    (out / "member5" / "tagger.pt").write_bytes(b"stale")
    cfg = TaggerTrainConfig(corpus=[str(corpus)], out=str(out), segments=100, synth_notes=20, steps=5, batch=8,
                            dim=16, blocks=(1,), seed=4, threads=1, members=2)
    meta = train_tagger(cfg)
    assert meta["members"] == 2 and (out / "member1" / "tagger.pt").is_file() and not (out / "member5").exists()
    assert json.loads((out / "member1" / "tagger.json").read_text("utf-8"))["recipe"]["seed"] == 5
    assert len(NameTagger(out).members) == 2


def test_odd_surnames_come_from_the_corpus_and_are_no_clinical_characters_or_particles() -> None:
    from medgo.data.deid_lexicon import SURNAMES_1, SURNAMES_RARE

    corpus_chars = list("那冬可痛炎的了是王李患者说")
    sample = NameSampler(random.Random(7), corpus_chars, odd=1.0)
    assert set(sample.odd_pool) == set("那冬可")  # not 痛炎 (clinical), 的了是说 (particles), 王李 (listed)
    firsts = {sample()[0] for _ in range(200)}
    assert firsts <= set("那冬可") and not firsts & (SURNAMES_1 | SURNAMES_RARE)
    assert {NameSampler(random.Random(7), corpus_chars)()[0] for _ in range(200)}.isdisjoint("那冬可")


def test_plausible_takes_an_odd_surname_only_when_sure_and_never_a_drug_named_after_a_person() -> None:
    from medgo.data.deid_tagger import ODD_SURNAME_SCORE, plausible

    text = "门学文诉头痛，口服季德胜蛇药片。"
    assert plausible(text, 0, 3, ODD_SURNAME_SCORE) and not plausible(text, 0, 3, ODD_SURNAME_SCORE - 0.1)
    k = text.index("季德胜")
    assert not plausible(text, k, k + 3, 0.99) and not plausible(text, k, k + 2, 0.99)  # 蛇药片 follows: a drug
    assert not plausible("患者平卧硬板床。", 2, 4, 0.99)  # an odd first character and no name (平卧)


@pytest.mark.parametrize(("text", "word", "name"), [
    ("患者曾间断服用", "曾间断", False), ("进食半流质尚顺畅", "尚顺畅", False), ("余症状同前", "余症状", False),
    ("患者左髋部疼痛", "左髋部", False), ("医师曾建国查房", "曾建国", True), ("护士方文静", "方文静", True),
    ("签到：向前、单秀英", "向前", True),  # a function surname before a word-like given name is still a name
])
def test_plausible_reads_an_adverb_before_a_word_as_no_surname(text: str, word: str, name: bool) -> None:
    from medgo.data.deid_tagger import plausible

    a = text.index(word)
    assert plausible(text, a, a + len(word), 0.99) is name


def _names(text: str, y: list[int]) -> list[str]:
    out, i = [], 0
    while i < len(y):
        if y[i] == 1:
            j = i + 1
            while j < len(y) and y[j] == 2:
                j += 1
            out.append(text[i:j])
            i = j
        else:
            i += 1
    return out


def test_annotated_notes_are_read_with_bad_rows_named_and_counted(tmp_path: Path) -> None:
    from medgo.data.deid_tagger_train import read_labelled

    text = "患者：夏天　性别：女\n夏天的丈夫白桦陪同，护士周全宣教。"
    spans = [{"start": m, "end": m + 2, "type": t} for m, t in ((3, "PATIENT"), (11, "PATIENT"), (16, "RELATIVE"),
                                                                 (23, "CLINICIAN"))]
    rows = [json.dumps({"text": text, "phi": spans + [{"start": 0, "end": 2, "type": "HOSPITAL"}]}, ensure_ascii=False),
            "not json", json.dumps({"phi": []}), json.dumps({"text": "短", "spans": [{"start": 0, "end": 9, "type": "NAME"}]}),
            "", json.dumps({"text": text, "spans": [{"start": 3, "end": 5, "type": "NAME"}]}, ensure_ascii=False)]
    f = tmp_path / "gold.jsonl"
    f.write_text("\n".join(rows) + "\n", encoding="utf-8")
    notes, skipped = read_labelled(f)
    assert [[t[a:b] for a, b in sp] for t, sp in notes] == [["夏天", "夏天", "白桦", "周全"], ["夏天"]]
    assert [s.split(": ")[0] for s in skipped] == [f"{f}:2", f"{f}:3", f"{f}:4"]  # 4 in = 2 kept + 3 - the blank line
    assert "outside the text" in skipped[2]


def test_renamed_notes_keep_their_contexts_and_shared_surnames() -> None:
    from medgo.data.deid_tagger_train import rename, windows_of

    text = "患者张建国入院，其子张磊陪护，李敏医生查房。张建国诉头痛，张磊签字。"
    old = ["张建国", "张磊", "李敏", "张建国", "张磊"]
    spans, pos = [], 0
    for n in old:
        a = text.index(n, pos)
        spans.append((a, a + len(n)))
        pos = a + len(n)
    sample = NameSampler(random.Random(5), [])
    new, sp = rename(text, spans, sample)
    names = [new[a:b] for a, b in sp]
    assert names[0] == names[3] and names[1] == names[4] and len(set(names)) == 3
    assert names[0][0] == names[1][0] != names[2][0] and not set(names) & set(old)
    rest = new
    for n in sorted(set(names), key=len, reverse=True):
        rest = rest.replace(n, "#")
    assert rest == "患者#入院，其子#陪护，#医生查房。#诉头痛，#签字。"
    # windows cut at sentence ends carry the names inside them, and no half name at a cut
    ws = list(windows_of(new, sp, 14))
    assert "".join(w for w, _ in ws) == new and all(len(w) <= 14 for w, _ in ws)
    assert [n for w, y in ws for n in _names(w, y)] == names
    cut = list(windows_of("甲乙丙丁戊己庚辛壬癸张建国诉头痛", [(10, 13)], 12))
    assert [_names(w, y) for w, y in cut] == [[], []] and all(set(y) <= {0} for _, y in cut)


def test_training_reads_annotated_notes_and_names_a_bad_file(tmp_path: Path) -> None:
    from medgo.data.deid_tagger_train import TaggerTrainConfig, build_examples, train_tagger
    from medgo.errors import ConfigError

    corpus = tmp_path / "records.txt"
    corpus.write_text("\n".join(SENTENCES * 2), encoding="utf-8")
    gold = tmp_path / "gold.jsonl"
    note = {"text": "交班：夏天今晨诉胸闷，周全已通知家属白桦。", "phi": [
        {"start": 3, "end": 5, "type": "PATIENT"}, {"start": 11, "end": 13, "type": "CLINICIAN"},
        {"start": 18, "end": 20, "type": "RELATIVE"}]}
    gold.write_text(json.dumps(note, ensure_ascii=False) + "\n", encoding="utf-8")
    cfg = TaggerTrainConfig(corpus=[str(corpus)], out=str(tmp_path / "t"), segments=20, synth_notes=0, steps=2, batch=4,
                            dim=16, blocks=(1,), seed=4, threads=1, labelled=[str(gold)], labelled_copies=3)
    ex = build_examples(cfg)
    from_gold = [(t, y) for t, y in ex if t.startswith("交班：") and "今晨诉胸闷，" in t]
    assert len(from_gold) == 3 and any(_names(t, y) == ["夏天", "周全", "白桦"] for t, y in from_gold)
    assert all(len(_names(t, y)) == 3 for t, y in from_gold)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("not json\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="empty.jsonl: no usable note"):
        train_tagger(TaggerTrainConfig(corpus=[str(corpus)], out=str(tmp_path / "t2"), labelled=[str(empty)], steps=1))
    with pytest.raises(ConfigError, match="--labelled .*missing.jsonl: no such file"):
        train_tagger(TaggerTrainConfig(corpus=[str(corpus)], out=str(tmp_path / "t3"), labelled=[str(tmp_path / "missing.jsonl")]))


def test_an_attention_tagger_trains_loads_and_ignores_the_padding_of_a_batch(tmp_path: Path) -> None:
    from medgo.data.deid_tagger import NameTagger
    from medgo.data.deid_tagger_train import TaggerTrainConfig, train_tagger

    corpus = tmp_path / "records.txt"
    corpus.write_text("\n".join(SENTENCES * 3), encoding="utf-8")
    out = tmp_path / "tagger"
    train_tagger(TaggerTrainConfig(corpus=[str(corpus)], out=str(out), segments=60, synth_notes=10, steps=3, batch=8,
                                   dim=16, blocks=(1,), attention=1, seed=2, threads=1))
    assert json.loads((out / "tagger.json").read_text("utf-8"))["attention"] == 1
    t = NameTagger(out)
    assert len(t.members[0].model.attn) == 1
    short, long = "今晨王永福拒绝进食。", "患者诉头痛两天，无呕吐，夜间睡眠可。" * 4
    alone = t.probs([short])[0]
    batched = t.probs([long, short])[1]  # the short text is padded to the long one's width in this batch
    assert all(abs(a - b) < 1e-5 for x, y in zip(alone, batched, strict=True) for a, b in zip(x, y, strict=True))


def test_a_text_reads_the_same_alone_and_beside_a_longer_one(tiny_deid_tagger: Path) -> None:
    # GroupNorm over the padded width once let a batch's padding shift a text's probabilities by 0.02
    from medgo.data.deid_tagger import NameTagger

    t = NameTagger(tiny_deid_tagger)
    short, long = "今晨王永福拒绝进食。", "患者诉头痛两天，无呕吐，夜间睡眠可。" * 4
    alone, batched = t.probs([short])[0], t.probs([long, short])[1]
    assert max(abs(a - b) for x, y in zip(alone, batched, strict=True) for a, b in zip(x, y, strict=True)) < 1e-5


def test_planted_terms_are_not_names_and_the_names_shift_with_them(tmp_path: Path) -> None:
    from medgo.data.deid_tagger_train import TaggerTrainConfig, build_examples, plant_terms, read_negatives
    from medgo.errors import ConfigError

    text = "患者王芳因头痛就诊，予布洛芬口服。其母李秀英陪同。"
    spans = [(2, 4), (19, 22)]
    r = random.Random(3)
    for _ in range(30):
        t, sp, pieces = plant_terms(text, spans, ["罗通定", "杜冷丁"], r)
        assert [t[a:b] for a, b in sp] == ["王芳", "李秀英"]
        assert pieces and all("罗通定" in t[a:b] or "杜冷丁" in t[a:b] for a, b in pieces)
    terms = tmp_path / "formulary.txt"
    terms.write_text("罗通定\n杜冷丁\t镇痛\n# comment\n布洛芬\n", encoding="utf-8")
    # only surname-opening terms: 布洛芬 cannot be read as a name
    assert read_negatives([str(terms)]) == ["杜冷丁", "罗通定"]
    corpus = tmp_path / "records.txt"
    corpus.write_text("\n".join(SENTENCES * 2), encoding="utf-8")
    cfg = TaggerTrainConfig(corpus=[str(corpus)], out=str(tmp_path / "t"), segments=40, synth_notes=0, seed=4,
                            negatives=[str(terms)], term_share=1.0)
    ex = build_examples(cfg)
    with_terms = [(t, y) for t, y in ex if "罗通定" in t or "杜冷丁" in t]
    assert len(with_terms) >= 30
    for t, y in with_terms:
        for w in ("罗通定", "杜冷丁"):
            i = t.find(w)
            if i >= 0:
                assert y[i : i + 3] == [0, 0, 0], (t, w)
    plain = build_examples(TaggerTrainConfig(corpus=[str(corpus)], out=str(tmp_path / "t"), segments=40,
                                             synth_notes=0, seed=4))
    assert not any("罗通定" in t for t, _ in plain)
    with pytest.raises(ConfigError, match="--negatives .*missing.txt: no such file"):
        read_negatives([str(tmp_path / "missing.txt")])


def test_plausible_reads_no_name_inside_a_word_the_note_doses() -> None:
    from medgo.data.deid_tagger import plausible

    text = "入院前一晚吞服家中舒乐安定约20片及曲唑酮若干"
    a = text.index("舒乐")
    assert not plausible(text, a, a + 2, 0.9)  # 舒乐|安定约20片: the dose follows the longer word
    text = "舒乐陪同入院，安定约20片"
    assert plausible(text, 0, 2, 0.9)  # the dosed word is another one
    text = "鉴别苏木杰现象与黎明现象"
    assert not plausible(text, 2, 5, 0.9) and not plausible(text, 2, 4, 0.9)  # named after a person: a phenomenon
    text = "潘氏试验弱阳性"
    assert not plausible(text, 0, 3, 0.9)  # 氏 opens no given name


def test_plausible_reads_no_name_in_a_sign_a_microbe_or_the_end_of_a_drug() -> None:
    from medgo.data.deid_tagger import plausible

    text = "手足抽搐，陶瑟征阳性"
    assert not plausible(text, 5, 8, 0.9)  # 陶瑟征|阳性: a sign named after a person
    text = "血培养报鲍曼不动杆菌"
    assert not plausible(text, 4, 6, 0.9)  # a microbe
    text = "咨询左乙拉西坦（开浦兰）是否纳入"
    a = text.index("浦兰")
    assert not plausible(text, a, a + 2, 0.9)  # 开|浦兰: the reading ends a drug's other name in brackets
    text = "王芳（主治医师）、浦兰陪同"
    assert plausible(text, text.index("浦兰"), text.index("浦兰") + 2, 0.9)
