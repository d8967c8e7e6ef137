"""Test 1:N matching: threshold, margin, several photos per person, storage."""

import threading

import numpy as np
import pytest

from custom_components.smart_community.vision.gallery import (
    MAX_EMBEDDINGS_PER_PERSON,
    EmbeddingError,
    FaceGallery,
)


def unit(*values: float) -> np.ndarray:
    """Return a 192-d unit vector from its first components."""
    vector = np.zeros(192, dtype=np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


def test_empty_gallery_matches_nobody() -> None:
    """With nobody enrolled there is no distance either."""
    match = FaceGallery().match(unit(1))
    assert match.person_id is None
    assert match.distance is None


def test_nearest_person_within_threshold_and_margin_is_matched() -> None:
    """A face close to one person and far from the next is that person."""
    gallery = FaceGallery(threshold=0.8, margin=0.1)
    gallery.add("alice", unit(1, 0))
    gallery.add("bob", unit(0, 1))
    match = gallery.match(unit(1, 0.2))
    assert match.person_id == "alice"
    assert match.distance == pytest.approx(
        float(np.linalg.norm(unit(1, 0.2) - unit(1))), abs=1e-5
    )
    assert match.runner_up_distance is not None
    assert match.runner_up_distance > match.distance


def test_stranger_beyond_threshold_is_unknown_not_the_nearest() -> None:
    """Nearest is not enough: beyond the threshold a face is unknown."""
    gallery = FaceGallery(threshold=0.5, margin=0.05)
    gallery.add("alice", unit(1, 0, 0))
    gallery.add("bob", unit(0, 1, 0))
    match = gallery.match(unit(0, 0, 1))
    assert match.person_id is None
    assert match.nearest_id in {"alice", "bob"}
    assert match.distance == pytest.approx(np.sqrt(2), abs=1e-5)


def test_a_face_between_two_people_is_unknown() -> None:
    """Within the threshold of two people, the margin refuses to guess."""
    gallery = FaceGallery(threshold=1.0, margin=0.1)
    gallery.add("alice", unit(1, 0))
    gallery.add("bob", unit(0, 1))
    assert gallery.match(unit(1, 1)).person_id is None
    assert gallery.match(unit(1, 0.05)).person_id == "alice"


def test_several_photos_count_by_the_nearest() -> None:
    """A person is as near as their nearest photo; old photos roll off."""
    gallery = FaceGallery(threshold=0.3, margin=0.05)
    gallery.add("alice", unit(1, 0))
    assert gallery.add("alice", unit(0, 0, 1)) == 2
    gallery.add("bob", unit(0, 1))
    assert gallery.match(unit(0, 0.05, 1)).person_id == "alice"
    for index in range(MAX_EMBEDDINGS_PER_PERSON + 3):
        gallery.add("carol", unit(0, 0, 0, 1, index / 100))
    assert gallery.count("carol") == MAX_EMBEDDINGS_PER_PERSON
    assert len(gallery) == 2 + 1 + MAX_EMBEDDINGS_PER_PERSON


def test_replace_remove_and_retain() -> None:
    """Replacing drops old photos; people who left are forgotten."""
    gallery = FaceGallery()
    gallery.add("alice", unit(1))
    gallery.add("alice", unit(0, 1))
    gallery.replace("alice", [unit(0, 0, 1)])
    assert gallery.count("alice") == 1
    gallery.add("bob", unit(1))
    gallery.add("carol", unit(0, 1))
    assert gallery.retain({"alice", "carol"}) == 1
    assert gallery.people == frozenset({"alice", "carol"})
    assert gallery.remove("carol")
    assert not gallery.remove("carol")
    gallery.replace("alice", [])
    assert gallery.people == frozenset()


def test_storage_round_trip() -> None:
    """Embeddings survive a save and load bit for bit."""
    gallery = FaceGallery()
    gallery.add("alice", unit(1, 2, 3))
    gallery.add("alice", unit(3, 2, 1))
    gallery.add("bob", unit(0, 1))
    loaded = FaceGallery.from_storage(gallery.to_storage())
    assert loaded.people == gallery.people
    for person in gallery.people:
        for saved, restored in zip(
            gallery.embeddings_of(person), loaded.embeddings_of(person), strict=True
        ):
            assert np.array_equal(saved, restored)


@pytest.mark.parametrize(
    "bad",
    [np.zeros(192), np.ones(10), np.full(192, np.nan)],
    ids=["zeros", "short", "nan"],
)
def test_bad_embeddings_are_refused(bad: np.ndarray) -> None:
    """Only finite, non-zero vectors of the model's size are enrolled."""
    with pytest.raises(EmbeddingError):
        FaceGallery().add("alice", bad)


def test_unreadable_storage_is_refused() -> None:
    """Corrupt saved data raises a clear error instead of a wrong gallery."""
    with pytest.raises(EmbeddingError):
        FaceGallery.from_storage({"alice": ["not base64!"]})
    with pytest.raises(EmbeddingError):
        FaceGallery.from_storage({"alice": ["AAAA"]})


def test_matching_while_enrolment_changes_the_gallery() -> None:
    """Cameras match in worker threads while enrolment adds and removes people.

    Every match sees one whole index: before the lock, about one match in a
    thousand mixed an old matrix with a newer owner list and raised.
    """
    vectors = np.random.default_rng(3).normal(size=(5000, 192)).astype(np.float32)
    gallery = FaceGallery()
    errors: list[Exception] = []
    stop = threading.Event()

    def match_repeatedly() -> None:
        number = 0
        while not stop.is_set():
            try:
                gallery.match(vectors[number % len(vectors)])
            except Exception as err:  # collected for the assertion
                errors.append(err)
            number += 1

    workers = [threading.Thread(target=match_repeatedly) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        for number, vector in enumerate(vectors):
            gallery.add(f"resident-{number % 500}", vector)
            if number % 3 == 0:
                gallery.remove(f"resident-{number * 7 % 500}")
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    assert errors == []
    assert len(gallery) == sum(gallery.count(person) for person in gallery.people)
