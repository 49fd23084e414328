import gc
import threading

import pytest

from ingest import pipeline
from runs.execution import collector
from runs.execution.collector import fewer_collections
from tests.importing import import_bytes


def test_the_young_generation_is_collected_less_often_and_restored_after():
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold() == (collector.YOUNG_THRESHOLD, *before[1:])
    assert gc.get_threshold() == before


def test_overlapping_imports_restore_the_thresholds_when_the_last_one_ends():
    before = gc.get_threshold()
    first_in, second_done = threading.Event(), threading.Event()

    def first():
        with fewer_collections():
            first_in.set()
            second_done.wait(5)
            assert gc.get_threshold()[0] == collector.YOUNG_THRESHOLD

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(5)
    with fewer_collections():
        pass
    second_done.set()
    thread.join(5)
    assert gc.get_threshold() == before


def test_an_error_inside_restores_the_thresholds():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError
    assert gc.get_threshold() == before


@pytest.mark.django_db
def test_a_partition_imports_its_chunks_with_fewer_collections(monkeypatch):
    seen = []
    process = pipeline.ChunkProcessor.process

    def spy(self, rows, **options):
        seen.append(gc.get_threshold()[0])
        return process(self, rows, **options)

    monkeypatch.setattr(pipeline.ChunkProcessor, "process", spy)
    import_bytes()
    assert seen == [collector.YOUNG_THRESHOLD]
    assert gc.get_threshold()[0] != collector.YOUNG_THRESHOLD
