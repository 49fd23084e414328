from ingest.seen import SeenKeys


def test_lookup_finds_keys_across_merged_levels():
    seen = SeenKeys()
    for chunk in range(10):
        keys = list(range(chunk * 100, chunk * 100 + 100))
        assert seen.lookup(keys) == [None] * 100
        seen.add(keys, [k * 7 for k in keys], [k + 2 for k in keys])
    assert len(seen) == 1000
    assert seen.lookup([0, 555, 999, 1000, 2**64 - 1]) == [(0, 2), (555 * 7, 557), (999 * 7, 1001), None, None]
