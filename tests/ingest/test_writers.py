from ingest.writers import shaped_batches


def test_shaped_batches_cover_every_row_in_order_with_few_shapes():
    shapes = set()
    for length in range(0, 1200, 7):
        rows = list(range(length))
        parts = list(shaped_batches(rows, 256))
        assert [row for part in parts for row in part] == rows
        shapes.update(len(part) for part in parts)
    assert shapes <= {256, 128, 64, 32, 16, 8, 4, 2, 1}
