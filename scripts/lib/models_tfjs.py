"""Convert a TensorFlow.js graph model to .tflite with TensorFlow and check the result.

Runs inside the throwaway TensorFlow venv that ``scripts/models --write`` builds
(TensorFlow has no wheel for Python 3.14), never in the project's .venv. Writes
one JSON object to --report: the converter settings, the reference and the largest
absolute difference between TensorFlow and LiteRT on real photos.

A graph model is a GraphDef in JSON whose Const nodes carry only dtype and shape;
the values sit in the .bin files in manifest order. TensorFlow.js stores int64 as
int32 and may store float32 as float16 ("quantization"), so each value is read
in its stored dtype and cast to the dtype its node declares.
"""

import argparse
import json
from pathlib import Path
from typing import Any

from ai_edge_litert.interpreter import Interpreter
from google.protobuf import json_format
import numpy as np
from numpy.typing import NDArray
from PIL import Image
import tensorflow as tf

# NanoDet's training normalisation (BGR): (pixel - mean) / std.
NANODET_BGR_MEAN = np.array([103.53, 116.28, 123.675], dtype=np.float32)
NANODET_BGR_STD = np.array([57.375, 57.12, 58.395], dtype=np.float32)


def read_weights(model_json: dict[str, Any], folder: Path) -> dict[str, NDArray[Any]]:
    """Read every weight of the manifest, dequantised to its original dtype."""
    weights: dict[str, NDArray[Any]] = {}
    for group in model_json["weightsManifest"]:
        blob = b"".join((folder / path).read_bytes() for path in group["paths"])
        offset = 0
        for entry in group["weights"]:
            quantization = entry.get("quantization")
            if quantization and "scale" in quantization:
                raise SystemExit(
                    f"{entry['name']}: affine quantisation is not supported"
                )
            stored = np.dtype(quantization["dtype"] if quantization else entry["dtype"])
            count = int(np.prod(entry["shape"], dtype=np.int64))
            values = np.frombuffer(blob, stored, count, offset).reshape(entry["shape"])
            weights[entry["name"]] = values.astype(entry["dtype"])
            offset += count * stored.itemsize
        if offset != len(blob):
            raise SystemExit(
                f"{group['paths']}: {len(blob) - offset} bytes left unread"
            )
    return weights


def graph_def(model_json: dict[str, Any], folder: Path) -> tf.compat.v1.GraphDef:
    """Build the GraphDef with the weights put back into its Const nodes."""
    weights = read_weights(model_json, folder)
    graph = json_format.ParseDict(model_json["modelTopology"], tf.compat.v1.GraphDef())
    for node in graph.node:
        if node.op != "Const":
            continue
        declared = tf.dtypes.as_dtype(node.attr["dtype"].type).as_numpy_dtype
        value = weights.pop(node.name).astype(declared)
        node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value))
    if weights:
        raise SystemExit(f"weights without a Const node: {sorted(weights)[:5]}")
    return graph


def nanodet_input(photo: Path, height: int, width: int) -> NDArray[np.float32]:
    """Stretch a photo to the input size, NCHW BGR, normalised as NanoDet was trained."""
    rgb = (
        Image.open(photo)
        .convert("RGB")
        .resize((width, height), Image.Resampling.BILINEAR)
    )
    bgr = np.asarray(rgb, dtype=np.float32)[:, :, ::-1]
    normalised = (bgr - NANODET_BGR_MEAN) / NANODET_BGR_STD
    return np.ascontiguousarray(normalised.transpose(2, 0, 1)[None])


def main() -> None:
    """Convert, verify and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-json", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument(
        "--report", type=Path, required=True, help="where the JSON goes"
    )
    parser.add_argument("--float16-weights", action="store_true")
    parser.add_argument("--photo", type=Path, action="append", default=[])
    arguments = parser.parse_args()

    model_json = json.loads(arguments.model_json.read_text(encoding="utf-8"))
    graph = graph_def(model_json, arguments.model_json.parent)
    signature = model_json["signature"]
    (input_name,) = signature["inputs"]
    # Sorted, so the converted model lists its outputs in a stable order.
    output_names = sorted(signature["outputs"])

    def import_graph() -> None:
        tf.compat.v1.import_graph_def(graph, name="")

    wrapped = tf.compat.v1.wrap_function(import_graph, [])
    function = wrapped.prune(
        wrapped.graph.get_tensor_by_name(input_name),
        [wrapped.graph.get_tensor_by_name(name) for name in output_names],
    )
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function], wrapped)
    settings: dict[str, Any] = {"tensorflow": tf.__version__}
    if arguments.float16_weights:
        # TensorFlow.js stored these weights as float16 already: keeping them so
        # halves the file and loses nothing; LiteRT computes in float32.
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
        settings["optimizations"] = ["DEFAULT"]
        settings["supported_types"] = ["float16"]
    flatbuffer = converter.convert()
    arguments.output.write_bytes(flatbuffer)

    interpreter = Interpreter(model_content=flatbuffer)
    interpreter.allocate_tensors()
    (input_detail,) = interpreter.get_input_details()
    _, _, height, width = (int(size) for size in input_detail["shape"])
    worst = 0.0
    for photo in arguments.photo:
        batch = nanodet_input(photo, height, width)
        references = [tensor.numpy() for tensor in function(tf.constant(batch))]
        interpreter.set_tensor(input_detail["index"], batch)
        interpreter.invoke()
        by_name = {d["name"]: d for d in interpreter.get_output_details()}
        for name, reference in zip(output_names, references, strict=True):
            converted = interpreter.get_tensor(
                by_name[name.removesuffix(":0")]["index"]
            )
            worst = max(worst, float(np.abs(converted - reference).max()))
    report = {
        "conversion": {"converter_settings": settings},
        "verification": {
            "reference": f"tensorflow {tf.__version__} running the imported graph",
            "checked_on": [photo.name for photo in arguments.photo],
            "max_abs_error": worst,
        },
    }
    arguments.report.write_text(json.dumps(report), encoding="utf-8")


if __name__ == "__main__":
    main()
