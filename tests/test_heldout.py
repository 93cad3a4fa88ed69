"""The held-out sentence sets are disjoint from every mini corpus and from each other."""

from data_prep.heldout import DEV_SIZE, MINI_CORPORA, SETS, TUNE_SIZE
from data_prep.mini import choose_ids


def test_tune_and_dev_sets_are_disjoint_from_the_corpora_and_each_other():
    dev, tune = SETS["dev"](), SETS["tune"]()
    assert (len(dev), len(tune)) == (DEV_SIZE, TUNE_SIZE)
    assert not set(dev) & set(tune)
    for n_train, n_val, n_test in MINI_CORPORA:
        chosen = choose_ids({"train": n_train, "val": n_val, "test": n_test}, seed=0)
        used = {u for ids in chosen.values() for u in ids}
        assert not used & (set(dev) | set(tune))
    assert SETS["tune"]() == tune  # seeded: the same sentences every time
