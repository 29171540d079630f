"""Which tagger readings may be names, without a trained tagger (deid_tagger.plausible)."""

from medgo.data.deid_tagger import plausible


def test_a_side_and_a_body_part_is_no_name() -> None:
    t = "头颅五官无畸形，左眉弓裂伤已愈合。"
    assert not plausible(t, 8, 11, 0.95)  # 左眉弓


def test_a_person_surnamed_zuo_is_a_name() -> None:
    t = "护士左丽华执行"
    assert plausible(t, 2, 5, 0.95)
