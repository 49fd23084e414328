from ingest.seen import SeenKeys


def test_lookup_finds_keys_across_merged_levels():
    seen = SeenKeys()
    for chunk in range(10):
        keys = list(range(chunk * 100, chunk * 100 + 100))
        assert seen.lookup(keys) == [None] * 100
        seen.add(keys, [k * 7 for k in keys], [k + 2 for k in keys])
    assert len(seen) == 1000
    assert seen.lookup([0, 555, 999, 1000, 2**64 - 1]) == [
        (0, 2),
        (555 * 7, 557),
        (999 * 7, 1001),
        None,
        None,
    ]


def test_merged_levels_stay_sorted_and_keep_every_entry():
    import numpy as np

    rng = np.random.default_rng(3)
    seen = SeenKeys()
    added = {}
    for chunk in range(37):
        keys = [
            int(k) for k in rng.integers(0, 2**63, size=int(rng.integers(1, 50)), dtype=np.uint64)
        ]
        keys = [k for k in dict.fromkeys(keys) if k not in added]
        for number, key in enumerate(keys):
            added[key] = (key ^ 5, chunk * 100 + number)
        seen.add(keys, [added[k][0] for k in keys], [added[k][1] for k in keys])
        for level_keys, _, _ in seen._levels:
            assert (level_keys[1:] >= level_keys[:-1]).all()
    assert len(seen) == len(added)
    assert seen.lookup(list(added)) == list(added.values())


def test_levels_stop_merging_at_the_cap_and_look_ups_still_see_every_level(monkeypatch):
    from ingest import seen as module

    monkeypatch.setattr(module, "MAX_MERGED", 256)
    seen = SeenKeys()
    for chunk in range(20):
        keys = list(range(chunk * 100, chunk * 100 + 100))
        seen.add(keys, keys, [k + 1 for k in keys])
    assert max(len(level[0]) for level in seen._levels) <= 256
    assert len(seen._levels) > 3
    assert seen.lookup([0, 1234, 1999, 2000]) == [(0, 1), (1234, 1235), (1999, 2000), None]
