"""Test frame agreement and the geometry the models depend on."""

import numpy as np
import numpy.typing as npt
from PIL import Image
import pytest

from custom_components.smart_community.vision import imaging
from custom_components.smart_community.vision.agreement import Agreement
from custom_components.smart_community.vision.imaging import (
    ImageDecodeError,
    as_pillow,
    decode_picture,
    encode_jpeg,
    homography,
    invert_affine,
    model_input,
    rgb_view,
    similarity_transform,
    suppress_overlaps,
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


def test_model_input_maps_points_back_to_the_frame() -> None:
    """A point in the model's square lands where it was in the frame."""
    frame = np.zeros((720, 1280, 3), dtype=np.uint8)
    frame[100:110, 200:210] = 255
    tensor, placement = model_input(
        frame, 640, mean_rgb=(0.0, 0.0, 0.0), std_rgb=(1.0, 1.0, 1.0)
    )
    assert tensor.shape == (1, 640, 640, 3)
    ys, xs = np.nonzero(tensor[0, :, :, 0] > 128)
    centre = placement.to_frame(np.array([[xs.mean(), ys.mean()]]))[0]
    assert centre == pytest.approx([204.5, 104.5], abs=2)


@pytest.mark.parametrize(("height", "width"), [(720, 1280), (1080, 1920)])
def test_large_reductions_average_samples_over_each_box(
    height: int, width: int
) -> None:
    """A 720p or 1080p frame into 192 px: each pixel is its box's 3 x 3 samples.

    A lit square lands where it was, at its brightness. Noise averages out:
    one sample per pixel would keep the noise's spread (74 grey levels), nine
    cut it to a third.
    """
    frame = np.zeros((height, width, 3), dtype=np.uint8)
    frame[300:400, 600:700] = 200
    tensor, placement = model_input(
        frame, 192, mean_rgb=(0.0, 0.0, 0.0), std_rgb=(1.0, 1.0, 1.0)
    )
    ys, xs = np.nonzero(tensor[0, :, :, 1] > 100)
    centre = placement.to_frame(np.array([[xs.mean(), ys.mean()]]))[0]
    assert centre == pytest.approx([649.5, 349.5], abs=width / 192)
    assert tensor[0, round(ys.mean()), round(xs.mean()), 1] == 200
    noise = np.random.default_rng(5).integers(0, 256, (height, width, 3), np.uint8)
    tensor, placement = model_input(
        noise, 192, mean_rgb=(0.0, 0.0, 0.0), std_rgb=(1.0, 1.0, 1.0)
    )
    picture = tensor[0, placement.pad_y : 192 - placement.pad_y]
    assert float(picture.std()) == pytest.approx(74 / 3, rel=0.15)


@pytest.mark.parametrize(
    ("width", "height", "shape"),
    [
        (1920, 1080, (192, 341, 3)),
        (1280, 720, (192, 341, 3)),
        (960, 540, (192, 341, 3)),
    ],
)
def test_an_overview_has_the_asked_short_side(
    width: int, height: int, shape: tuple[int, int, int]
) -> None:
    """Sampled (1080p, 720p) or read whole (960 x 540), a lit square stays put."""
    frame = np.zeros((height, width, 3), dtype=np.uint8)
    frame[height // 4 : height // 2, width // 2 : width * 3 // 4] = 200
    small, scale = imaging.overview(stream_layout(frame), 192)
    assert small.shape == shape
    assert scale == pytest.approx(192 / height)
    ys, xs = np.nonzero(small[:, :, 0] > 100)
    assert xs.mean() / scale == pytest.approx(width * 5 / 8, abs=1 / scale)
    assert ys.mean() / scale == pytest.approx(height * 3 / 8, abs=1 / scale)


def test_model_input_normalises_in_the_model_channel_order() -> None:
    """Pixels become (value - mean) / std, BGR when asked; padding is the fill."""
    frame = np.zeros((360, 640, 3), dtype=np.uint8)
    frame[...] = (200, 100, 50)
    tensor, placement = model_input(
        frame,
        64,
        mean_rgb=(100.0, 50.0, 25.0),
        std_rgb=(2.0, 1.0, 0.5),
        bgr=True,
        fill_rgb=(100, 50, 25),
    )
    assert (placement.pad_x, placement.pad_y) == (0, 14)
    assert tensor[0, 32, 32] == pytest.approx([50.0, 50.0, 50.0])
    # The mean colour pads, and normalises to zero, above and below.
    assert not tensor[0, :14].any()
    assert not tensor[0, 50:].any()


def test_the_same_sum_for_every_channel_is_looked_up_exactly() -> None:
    """BlazeFace's (value - 127.5) / 127.5, by table, is the arithmetic's result."""
    frame = (np.arange(16 * 16 * 3) % 256).astype(np.uint8).reshape(16, 16, 3)
    tensor, _ = model_input(
        frame, 16, mean_rgb=(127.5,) * 3, std_rgb=(127.5,) * 3, bgr=True
    )
    expected = (frame[:, :, ::-1].astype(np.float32) - np.float32(127.5)) * (
        1 / np.float32(127.5)
    )
    assert np.array_equal(tensor[0], expected)


def test_model_input_reuses_one_buffer_per_thread() -> None:
    """A second call of the same size overwrites the first one's padding too."""
    wide = np.full((10, 40, 3), 255, dtype=np.uint8)
    tall = np.full((40, 10, 3), 255, dtype=np.uint8)
    first, _ = model_input(wide, 40, mean_rgb=(0, 0, 0), std_rgb=(1, 1, 1))
    second, placement = model_input(tall, 40, mean_rgb=(0, 0, 0), std_rgb=(1, 1, 1))
    assert first is second
    assert placement.pad_x == 15
    assert not second[0, :, :15].any()
    assert (second[0, :, 15:25] == 255).all()


def test_suppress_overlaps_keeps_the_best_of_each_group() -> None:
    """Overlapping boxes keep their best; other groups and far boxes survive."""
    boxes = np.array(
        [
            [0.0, 0.0, 10.0, 10.0],
            [1.0, 1.0, 11.0, 11.0],
            [50.0, 50.0, 60.0, 60.0],
            [0.5, 0.5, 10.5, 10.5],
        ]
    )
    scores = np.array([0.8, 0.9, 0.5, 0.7])
    assert suppress_overlaps(boxes, scores, 0.5) == [1, 2]
    groups = np.array([0, 0, 0, 1])
    assert suppress_overlaps(boxes, scores, 0.5, groups) == [1, 3, 2]


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


def test_warps_read_the_right_region_of_a_large_frame() -> None:
    """A shifted warp copies that region; half a pixel averages neighbours."""
    frame = (np.arange(200 * 300 * 3) % 251).astype(np.uint8).reshape(200, 300, 3)
    shifted = np.array([[1.0, 0.0, 120.0], [0.0, 1.0, 70.0]])
    assert np.array_equal(warp_affine(frame, shifted, 40, 30), frame[70:100, 120:160])
    ramp = np.repeat(np.arange(0, 200, 10, dtype=np.uint8), 3).reshape(1, 20, 3)
    ramp = np.repeat(ramp, 4, axis=0)
    half = np.array([[1.0, 0.0, 5.5], [0.0, 1.0, 1.0]])
    assert warp_affine(ramp, half, 4, 2)[0, :, 0].tolist() == [55, 65, 75, 85]


def test_warps_refuse_a_view_over_the_horizon() -> None:
    """A homography that sends part of the output behind the camera is refused."""
    folding = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-0.1, 0.0, 1.0]])
    with pytest.raises(ValueError, match="horizon"):
        warp_perspective(np.zeros((20, 30, 3), dtype=np.uint8), folding, 30, 20)


def test_pictures_round_trip_and_garbage_is_refused() -> None:
    """JPEG bytes decode to RGB; other bytes raise a clear error."""
    frame = np.full((16, 16, 3), 200, dtype=np.uint8)
    decoded = decode_picture(encode_jpeg(frame))
    assert decoded.shape == (16, 16, 3)
    assert abs(int(decoded.mean()) - 200) <= 2
    with pytest.raises(ImageDecodeError):
        decode_picture(b"\xff\xd8\xff not really")


def stream_layout(frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Return a frame as the stream reader hands it over: an RGBX buffer's view."""
    height, width = frame.shape[:2]
    rgbx = np.full((height, width, 4), 255, dtype=np.uint8)
    rgbx[:, :, :3] = frame
    rgbx.flags.writeable = False
    return rgb_view(rgbx)


@pytest.mark.parametrize(
    ("height", "width", "size"),
    [
        (720, 1280, 640),
        (720, 1280, 192),
        (1080, 1920, 640),
        (1080, 1920, 192),
        (100, 60, 40),
    ],
)
def test_stream_frames_give_the_same_model_input_as_packed_ones(
    height: int, width: int, size: int
) -> None:
    """Read in place or copied, a frame becomes the same tensor, bit for bit.

    The sizes cover exact reductions (1280 to 640, 1920 to 640), sampled
    ones (1280 and 1920 to 192) and a reduction plus a resize (a tall frame).
    """
    rng = np.random.default_rng(height + size)
    frame = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    view = stream_layout(frame)
    assert as_pillow(view).mode == "RGB"
    assert as_pillow(view).readonly
    settings = {
        "mean_rgb": (123.0, 117.0, 104.0),
        "std_rgb": (58.0, 57.0, 1.0),
        "bgr": True,
        "fill_rgb": (10.0, 20.0, 30.0),
    }
    packed, packed_placement = model_input(frame, size, **settings)
    packed = packed.copy()
    wrapped, wrapped_placement = model_input(view, size, **settings)
    assert wrapped_placement == packed_placement
    assert np.array_equal(wrapped, packed)


def test_exact_reduction_matches_pillows_reducing_resize() -> None:
    """Box-reducing by a whole factor is what Pillow's resize would have given."""
    rng = np.random.default_rng(7)
    frame = rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    expected = np.asarray(
        Image.fromarray(frame).resize(
            (640, 360), Image.Resampling.BILINEAR, reducing_gap=1.0
        )
    )
    tensor, placement = model_input(frame, 640, mean_rgb=(0, 0, 0), std_rgb=(1, 1, 1))
    top = placement.pad_y
    assert np.array_equal(tensor[0, top : top + 360], expected.astype(np.float32))


def test_stream_frames_warp_and_encode_like_packed_ones() -> None:
    """Warps cut the same pixels out of a stream frame; JPEGs hold the same picture."""
    frame = (np.arange(200 * 300 * 3) % 251).astype(np.uint8).reshape(200, 300, 3)
    view = stream_layout(frame)
    shifted = np.array([[0.9, 0.1, 120.5], [-0.1, 0.9, 70.25]])
    warped = warp_affine(view, shifted, 40, 30)
    assert warped.shape == (30, 40, 3)
    assert np.array_equal(warped, warp_affine(frame, shifted, 40, 30))
    assert encode_jpeg(view) == encode_jpeg(frame)


def test_other_views_are_copied_not_misread() -> None:
    """Only the whole RGB view of an RGBX buffer is read in place."""
    rgbx = (np.arange(8 * 10 * 4) % 251).astype(np.uint8).reshape(8, 10, 4)
    others = {
        "last three channels": rgbx[:, :, 1:],
        "a crop": rgb_view(rgbx)[2:6, 3:9],
        "reversed channels": rgb_view(rgbx)[:, :, ::-1],
    }
    for name, view in others.items():
        picture = as_pillow(view)
        assert not picture.readonly, name
        assert np.array_equal(np.asarray(picture), view), name
    with pytest.raises(ValueError, match="H x W x 4"):
        rgb_view(np.zeros((8, 10, 3), dtype=np.uint8))


def test_stream_frames_still_read_in_place_where_pillow_maps_only_rgbx(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without the RGB mapping, the public RGBX one gives the same results."""
    rng = np.random.default_rng(11)
    frame = rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    view = stream_layout(frame)
    monkeypatch.setattr(imaging, "pillow_core", object())
    picture = as_pillow(view)
    assert (picture.mode, picture.readonly) == ("RGBX", 1)
    for size in (640, 192):
        packed, _ = model_input(frame, size, mean_rgb=(1, 2, 3), std_rgb=(4, 5, 6))
        packed = packed.copy()
        wrapped, _ = model_input(view, size, mean_rgb=(1, 2, 3), std_rgb=(4, 5, 6))
        assert np.array_equal(wrapped, packed)
    shifted = np.array([[0.9, 0.1, 120.5], [-0.1, 0.9, 70.25]])
    warped = warp_affine(view, shifted, 40, 30)
    assert warped.shape == (30, 40, 3)
    assert np.array_equal(warped, warp_affine(frame, shifted, 40, 30))
