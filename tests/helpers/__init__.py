"""What several test folders share: data generators (waves, generated, bombs), tiny saved models
(clip_models, keypoint_model, graph_models), a private Ray head and a train-stop-resume driver.
Imported as `tests.helpers.<module>`; pytest rewrites their asserts (tests/conftest.py)."""
