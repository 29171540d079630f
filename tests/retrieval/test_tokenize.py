from medgo.retrieval import bigram_tokenize, jieba_tokenize


def test_bigram_cuts_cjk_runs_and_keeps_latin_digit_runs_whole():
    assert bigram_tokenize("高血压，吃药") == ["高血", "血压", "吃药"]
    assert bigram_tokenize("HbA1c 7.5% 肝") == ["hba1c", "7.5", "肝"]


def test_normalisation_folds_fullwidth_and_case():
    assert bigram_tokenize("ＣＴ检查") == ["ct", "检查"]
    assert jieba_tokenize("ＣＴ检查") == ["ct", "检查"]


def test_jieba_words():
    assert jieba_tokenize("高血压患者能吃党参吗？") == ["高血压", "患者", "能", "吃", "党参", "吗"]


def test_nothing_to_index_gives_no_tokens():
    for text in ["", "   ", "！？。，、", "\n\t"]:
        assert bigram_tokenize(text) == [] and jieba_tokenize(text) == []
