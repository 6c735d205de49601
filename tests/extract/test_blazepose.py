"""BlazePose's detector and landmark model through LiteRT: anchors that fit the model, crops that
map back to the frame, and people found where background subtraction cannot find them (someone
standing still from the first frame, a panning camera), on frames generated from a still of
OpenCV's vtest.avi."""

import numpy as np
import pytest

from actrec.extract.blazepose import Region, _to_frame, ssd_anchors, tile_grid
from tests.helpers.people_video import VTEST, needs_models, needs_video


def test_a_region_crop_maps_back_to_the_frame_and_an_upright_body_is_not_rotated() -> None:
    upright = Region.from_alignment(np.array([100.0, 200.0]), np.array([100.0, 160.0]))
    assert upright.rotation == pytest.approx(0.0) and upright.side == pytest.approx(2 * 40 * 1.25)
    leaning = Region.from_alignment(np.array([100.0, 200.0]), np.array([130.0, 170.0]))
    assert leaning.rotation == pytest.approx(np.pi / 4)
    warp = leaning.warp(256)
    points = np.array([[100.0, 200.0], [130.0, 170.0], [90.0, 250.0]])
    in_crop = points @ warp[:, :2].T + warp[:, 2]
    assert in_crop[0] == pytest.approx([128, 128], abs=1e-3)  # the hips are the crop's centre
    assert in_crop[1, 0] == pytest.approx(128, abs=1e-3) and in_crop[1, 1] < 128  # the radius point straight above them
    assert _to_frame(in_crop, warp) == pytest.approx(points, abs=1e-3)


def test_tiles_cover_the_whole_frame() -> None:
    tiles = tile_grid(768, 576, 224)
    covered = np.zeros((576, 768), bool)
    for x0, y0, side in tiles[1:]:
        covered[int(y0) : int(y0 + side), int(x0) : int(x0 + side)] = True
    assert covered.all() and tiles[0] == (0.0, -96.0, 768.0)  # the whole frame first, as one square
    assert tile_grid(200, 150, 224) == [(0.0, -25.0, 200.0)]


@needs_models
def test_the_anchors_are_as_many_as_the_detector_returns() -> None:
    import cv2

    from actrec.extract.blazepose import PersonDetector

    detector = PersonDetector(cv2)
    assert len(detector.anchors) == len(ssd_anchors()) == detector.interpreter.get_output_details()[0]["shape"][1]
    # nobody in a flat grey image
    assert detector.detect(np.full((300, 400, 3), 128, np.uint8), tile_grid(400, 300, 224)) == []


def still_frame(index: int = 90) -> np.ndarray:
    import cv2

    capture = cv2.VideoCapture(str(VTEST))
    for _ in range(index + 1):
        ok, frame = capture.read()
    capture.release()
    assert ok
    return frame


def people_over(frames, **options):
    from actrec.extract.people import PeopleConfig, PeoplePoser

    poser = PeoplePoser(PeopleConfig(**options))
    return [poser(frame) for frame in frames]


@needs_video
def test_people_standing_still_from_the_first_frame_are_found_by_the_detector_not_by_motion() -> None:
    frames = [still_frame()] * 24  # six people, nobody moves
    found = people_over(frames)
    assert min(len(people) for people in found[-6:]) >= 3
    assert len({track for people in found for track in people}) <= 8  # followed, not found afresh each frame
    # background subtraction sees motion only in the first frame (everything is new): one blob at most
    moving = people_over(frames[:12], finder="motion")
    assert max(len(people) for people in moving[-6:]) < min(len(people) for people in found[-6:])


@needs_video
def test_people_are_followed_while_the_camera_pans() -> None:
    import cv2

    wide = cv2.resize(still_frame(), None, fx=1.25, fy=1.25)
    step = 6  # the camera pans right: everything moves left 6 px a frame
    frames = [np.ascontiguousarray(wide[60:540, 200 + step * t : 200 + step * t + 640]) for t in range(30)]
    found = people_over(frames)
    assert np.mean([len(people) >= 2 for people in found[10:]]) >= 0.9
    # a person followed over the last frames moves with the pan
    last = found[-1]
    steady = [track for track in last if all(track in people for people in found[-7:])]
    assert steady
    for track in steady:
        shift = np.nanmedian(last[track][:, 0]) - np.nanmedian(found[-7][track][:, 0])
        assert -6 * step - 12 <= shift <= -6 * step + 12
