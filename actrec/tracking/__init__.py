"""Following people across frames: boxes and keypoints matched to tracks with stable ids."""

from actrec.tracking.tracker import Detection, Tracker, TrackerConfig, appearance_distance, box_iou, keypoint_box

__all__ = ["Detection", "Tracker", "TrackerConfig", "appearance_distance", "box_iou", "keypoint_box"]
