"""Keypoints from video: MediaPipe detectors run frame by frame into `Recording` files."""
