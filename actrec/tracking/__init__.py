"""Following people across frames: boxes and keypoints matched to tracks with stable ids."""

from actrec.tracking.tracker import Detection, Tracker, TrackerConfig, box_iou, keypoint_box

__all__ = ["Detection", "Tracker", "TrackerConfig", "box_iou", "keypoint_box"]
