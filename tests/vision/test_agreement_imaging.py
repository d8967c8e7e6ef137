"""Test frame agreement and the geometry the models depend on."""

import numpy as np
import pytest

from custom_components.smart_community.vision.agreement import Agreement
from custom_components.smart_community.vision.imaging import (
    ImageDecodeError,
    decode_picture,
    encode_jpeg,
    homography,
    invert_affine,
    letterbox,
    similarity_transform,
    warp_affine,
    warp_perspective,
)


def test_agreement_needs_votes_within_the_window() -> None:
    """One frame is not enough; two within the window are; old ones expire."""
    agreement = Agreement(votes=2, window_seconds=3, quiet_seconds=10)
    assert agreement.add("粤B12345", 0.9, at=0.0) is None
    assert agreement.add("粤B12345", 0.7, at=5.0) is None  # the first vote expired
    agreed = agreement.add("粤B12345", 0.8, at=6.0)
    assert agreed is not None
    assert agreed.votes == 2
    assert agreed.confidence == pytest.approx(0.75)


def test_agreement_stays_quiet_while_the_answer_stays() -> None:
    """A car waiting at the barrier is one event; after it leaves, again."""
    agreement = Agreement(votes=1, window_seconds=3, quiet_seconds=10)
    assert agreement.add("A", 1.0, at=0.0) is not None
    assert agreement.add("A", 1.0, at=8.0) is None
    assert agreement.add("A", 1.0, at=16.0) is None  # still there: quiet extended
    assert agreement.add("B", 1.0, at=17.0) is not None
    assert agreement.add("A", 1.0, at=30.0) is not None  # gone for more than 10 s
    agreement.forget("A")
    assert agreement.add("A", 1.0, at=31.0) is not None


def test_agreement_refuses_zero_votes() -> None:
    """At least one frame must say something."""
    with pytest.raises(ValueError, match="vote"):
        Agreement(votes=0)


def test_letterbox_maps_points_back_to_the_frame() -> None:
    """A point in the model's square lands where it was in the frame."""
    frame = np.zeros((720, 1280, 3), dtype=np.uint8)
    frame[100:110, 200:210] = 255
    square, placement = letterbox(frame, 640)
    assert square.shape == (640, 640, 3)
    ys, xs = np.nonzero(square[:, :, 0] > 128)
    centre = placement.to_frame(np.array([[xs.mean(), ys.mean()]]))[0]
    assert centre == pytest.approx([204.5, 104.5], abs=2)


def test_similarity_transform_recovers_rotation_scale_and_shift() -> None:
    """Points moved by a known similarity give that similarity back."""
    angle, scale, shift = 0.3, 1.7, np.array([12.0, -5.0])
    rotation = scale * np.array(
        [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    )
    source = np.array([[0.0, 0.0], [10.0, 0.0], [3.0, 7.0], [5.0, 12.0]])
    target = source @ rotation.T + shift
    matrix = similarity_transform(source, target)
    assert matrix[:, :2] == pytest.approx(rotation)
    assert matrix[:, 2] == pytest.approx(shift)
    back = invert_affine(matrix)
    assert back[:, :2] @ target[0] + back[:, 2] == pytest.approx(source[0])
    with pytest.raises(ValueError, match="coincide"):
        similarity_transform(np.zeros((4, 2)), target)


def test_warps_sample_the_right_pixels() -> None:
    """An identity warp copies; a homography of a square maps its corners."""
    frame = (np.arange(20 * 30 * 3) % 251).astype(np.uint8).reshape(20, 30, 3)
    identity = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert np.array_equal(warp_affine(frame, identity, 30, 20), frame)
    corners = np.array([[0.0, 0.0], [29.0, 0.0], [29.0, 19.0], [0.0, 19.0]])
    h = homography(corners, corners)
    assert np.array_equal(warp_perspective(frame, h, 30, 20), frame)
    # Outside the frame reads as black.
    shifted = np.array([[1.0, 0.0, 100.0], [0.0, 1.0, 0.0]])
    assert not warp_affine(frame, shifted, 30, 20).any()


def test_pictures_round_trip_and_garbage_is_refused() -> None:
    """JPEG bytes decode to RGB; other bytes raise a clear error."""
    frame = np.full((16, 16, 3), 200, dtype=np.uint8)
    decoded = decode_picture(encode_jpeg(frame))
    assert decoded.shape == (16, 16, 3)
    assert abs(int(decoded.mean()) - 200) <= 2
    with pytest.raises(ImageDecodeError):
        decode_picture(b"\xff\xd8\xff not really")
