"""SAHI sliced prediction with satdet's bundled ONNX model, for scripts/bench_vs_sahi.sh.

SAHI has no generic ONNX wrapper for this output layout, so this file gives it one:
a DetectionModel that runs the model with onnxruntime (default session options, like
satdet) and decodes the [1, 4 + C, N] output (cx, cy, w, h, class scores) with the model's
conf threshold and per-class NMS in the slice; SAHI slices (640 px, overlap 0.2, the grid
satdet uses) and merges across slices with its defaults (GREEDYNMM, IOS 0.5).

    python sahi_run.py MODEL SCENE.tif   -> prints "detections N"
"""
import ast
import sys

import os

os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
import cv2  # noqa: E402
import numpy as np
import onnxruntime as ort
from sahi.models.base import DetectionModel
from sahi.predict import get_sliced_prediction
from sahi.prediction import ObjectPrediction


class OnnxDetector(DetectionModel):
    def set_device(self, device=None):
        self.device = "cpu"

    def check_dependencies(self, packages=None):
        pass

    def load_model(self):
        self.session = ort.InferenceSession(self.model_path, providers=["CPUExecutionProvider"])
        meta = self.session.get_modelmeta().custom_metadata_map
        names = ast.literal_eval(meta["names"])
        self.category_mapping = {str(k): v for k, v in names.items()}
        self.iou = float(meta.get("iou", 0.5))
        self.input_name = self.session.get_inputs()[0].name

    def perform_inference(self, image):
        h, w = image.shape[:2]
        side = 640
        x = np.full((1, 3, side, side), 114 / 255, np.float32)
        x[0, :, :h, :w] = image[:side, :side].transpose(2, 0, 1).astype(np.float32) / 255.0
        self._original_predictions = self.session.run(None, {self.input_name: x})[0]

    def _create_object_prediction_list_from_original_predictions(self, shift_amount_list=[[0, 0]], full_shape_list=None):
        out = self._original_predictions[0]  # [4 + C, N]
        scores = out[4:]
        cls = scores.argmax(0)
        conf = scores.max(0)
        keep = conf >= self.confidence_threshold
        cx, cy, bw, bh = out[:4, keep]
        cls, conf = cls[keep], conf[keep]
        boxes = np.stack([cx - bw / 2, cy - bh / 2, bw, bh], 1)
        shift = [int(v) for v in shift_amount_list[0]] if shift_amount_list else [0, 0]
        full = [int(v) for v in full_shape_list[0]] if full_shape_list else None
        preds = []
        if len(conf):
            idx = cv2.dnn.NMSBoxesBatched(boxes.tolist(), conf.tolist(), cls.tolist(), self.confidence_threshold, self.iou)
            for i in np.array(idx).reshape(-1):
                x0, y0, bw_, bh_ = boxes[i]
                bbox = [max(0.0, x0), max(0.0, y0), max(0.0, x0 + bw_), max(0.0, y0 + bh_)]
                if bbox[0] >= bbox[2] or bbox[1] >= bbox[3]:
                    continue
                c = int(cls[i])
                preds.append(ObjectPrediction(bbox=bbox, category_id=c, score=float(conf[i]),
                                              category_name=self.category_mapping[str(c)],
                                              shift_amount=shift, full_shape=full))
        self._object_prediction_list_per_image = [preds]


def main():
    model, scene = sys.argv[1], sys.argv[2]
    sess_meta = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
    conf = float(sess_meta.get("conf", 0.25))
    det = OnnxDetector(model_path=model, confidence_threshold=conf, load_at_init=True)
    image = cv2.imread(scene, cv2.IMREAD_COLOR_RGB if hasattr(cv2, "IMREAD_COLOR_RGB") else cv2.IMREAD_COLOR)
    if image is None:
        sys.exit(f"{scene}: OpenCV could not read it")
    if not hasattr(cv2, "IMREAD_COLOR_RGB"):
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    result = get_sliced_prediction(image, det, slice_height=640, slice_width=640,
                                   overlap_height_ratio=0.2, overlap_width_ratio=0.2,
                                   perform_standard_pred=False, verbose=0)
    print("detections", len(result.object_prediction_list))


if __name__ == "__main__":
    main()
